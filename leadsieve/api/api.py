"""The JSON API, ``/api/v1/``: leads in and out for other systems, authenticated by token.

Endpoints stay thin: load through a scoped query, validate with a schema, call one service,
return a schema. Every error is ``{"errors": [{"field": ..., "message": ...}]}``.
"""

from __future__ import annotations

import json
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from ninja import Header, NinjaAPI, Query
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.parser import Parser
from ninja.responses import Status
from ninja.security import HttpBearer

from leadsieve.accounts.models import User
from leadsieve.api import queries, services
from leadsieve.api.models import ApiToken
from leadsieve.api.schemas import (
    ActivityIn,
    ActivityOut,
    BulkIn,
    BulkOut,
    CaptureOut,
    LeadIn,
    LeadListFilters,
    LeadListOut,
    LeadOut,
    LeadPatch,
)
from leadsieve.leads.capture import CaptureOutcome, CaptureRejected
from leadsieve.leads.models import Lead
from leadsieve.leads.queries import InvalidCursor, get_lead_for_user

IDEMPOTENCY_KEY_MAX = 200
LOCATION_PREFIXES = frozenset({"body", "query", "path", "header", "form", "cookie"})


class MalformedJson(ValueError):
    pass


class StrictJsonParser(Parser):
    """JSON only; the error says where it broke. NaN and Infinity are not JSON."""

    def parse_body(self, request: HttpRequest) -> Any:
        def refuse_constant(name: str) -> Any:
            raise MalformedJson(f"{name} is not valid JSON")

        try:
            return json.loads(request.body, parse_constant=refuse_constant)
        except json.JSONDecodeError as error:
            raise MalformedJson(
                f"Malformed JSON at line {error.lineno} column {error.colno}: {error.msg}."
            ) from None
        except UnicodeDecodeError:
            raise MalformedJson("The body is not UTF-8.") from None


class BearerToken(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> Any:
        api_token = queries.get_active_token(token.strip())
        if api_token is None:
            return None
        services.touch_api_token(api_token)
        request.api_token = api_token  # type: ignore[attr-defined]
        return api_token.user


api = NinjaAPI(
    title="LeadSieve API",
    version="1",
    description="Capture, read and update leads. Authenticate with `Authorization: Bearer <token>`"
    " (create one with `leadsieve create-api-token --user NAME`).",
    urls_namespace="api-v1",
    auth=BearerToken(),
    parser=StrictJsonParser(),
)


def _errors(*errors: dict[str, Any]) -> dict[str, Any]:
    return {"errors": list(errors)}


def _field_of(location: Any) -> str:
    parts = [str(part) for part in location]
    if parts and parts[0] in LOCATION_PREFIXES:
        parts = parts[1:]
        # ninja nests a body schema under the parameter's name (payload, filters).
        if parts and parts[0] in {"payload", "filters"}:
            parts = parts[1:]
    return ".".join(parts) or "body"


@api.exception_handler(ValidationError)
def on_validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    errors = [
        {"field": _field_of(error.get("loc", ())), "message": str(error.get("msg", "Invalid."))}
        for error in exc.errors
    ]
    return api.create_response(request, {"errors": errors}, status=422)


@api.exception_handler(HttpError)
def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    message = str(exc)
    if isinstance(exc.__cause__, MalformedJson):
        message = str(exc.__cause__)
    return api.create_response(
        request, _errors({"field": "body", "message": message}), status=exc.status_code
    )


@api.exception_handler(AuthenticationError)
def on_auth_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    message = "Missing, unknown or revoked token; send Authorization: Bearer <token>."
    response = api.create_response(
        request, _errors({"field": "Authorization", "message": message}), status=401
    )
    response["WWW-Authenticate"] = "Bearer"
    return response


@api.exception_handler(Http404)
def on_not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return api.create_response(
        request, _errors({"field": "id", "message": "No such lead."}), status=404
    )


@api.exception_handler(CaptureRejected)
def on_capture_rejected(request: HttpRequest, exc: CaptureRejected) -> HttpResponse:
    errors = [
        {"field": e.field, "message": e.message, **({"row": e.row} if e.row is not None else {})}
        for e in exc.errors
    ]
    return api.create_response(request, {"errors": errors}, status=422)


@api.exception_handler(services.IdempotencyConflict)
def on_idempotency_conflict(
    request: HttpRequest, exc: services.IdempotencyConflict
) -> HttpResponse:
    message = "This key was already used with a different body; use a new key."
    return api.create_response(
        request, _errors({"field": "Idempotency-Key", "message": message}), status=422
    )


@api.exception_handler(InvalidCursor)
def on_invalid_cursor(request: HttpRequest, exc: InvalidCursor) -> HttpResponse:
    return api.create_response(
        request, _errors({"field": "cursor", "message": f"Invalid: {exc}."}), status=400
    )


def _user(request: HttpRequest) -> User:
    """The token's user, set by ``BearerToken`` on every authenticated operation."""
    user: User = request.auth  # type: ignore[attr-defined]
    return user


def _token(request: HttpRequest) -> ApiToken | None:
    return getattr(request, "api_token", None)


def _capture_body(outcome: CaptureOutcome) -> dict[str, Any]:
    lead = LeadOut.from_orm(outcome.lead)
    return CaptureOut(created=outcome.created, lead=lead).model_dump(mode="json")


def _check_idempotency_key(key: str | None) -> str | None:
    if key is None:
        return None
    if not key or len(key) > IDEMPOTENCY_KEY_MAX or not key.isprintable() or not key.isascii():
        raise ValidationError(
            [
                {
                    "loc": ("header", "Idempotency-Key"),
                    "msg": f"Use 1 to {IDEMPOTENCY_KEY_MAX} printable ASCII characters.",
                }
            ]
        )
    return key


@api.post(
    "/leads",
    response={200: CaptureOut, 201: CaptureOut},
    summary="Capture a lead (merged into an existing one with the same email or phone)",
)
def create_lead(
    request: HttpRequest,
    payload: LeadIn,
    # ninja's Header() is both a marker and a generic alias; mypy only knows the latter.
    idempotency_key: str | None = Header(None, alias="Idempotency-Key"),  # type: ignore[type-arg]
) -> HttpResponse:
    key = _check_idempotency_key(idempotency_key)
    stored = services.create_lead_via_api(
        payload.model_dump(exclude_unset=True, mode="json"),
        user=_user(request),
        via=services.via_for(_token(request)),
        render=_capture_body,
        idempotency_key=key,
    )
    response = api.create_response(request, stored.body, status=stored.status_code)
    if stored.replayed:
        response["Idempotent-Replayed"] = "true"
    return response


@api.post("/leads/bulk", response=BulkOut, summary="Capture up to 1,000 leads; per-row results")
def create_leads(request: HttpRequest, payload: BulkIn) -> HttpResponse:
    outcome = services.create_leads_via_api(
        [row.model_dump(exclude_unset=True, mode="json") for row in payload.leads],
        user=_user(request),
        via=services.via_for(_token(request)),
        on_invalid=payload.on_invalid,
    )
    results = [
        {
            "row": result.row,
            "status": "rejected" if result.errors else "created" if result.created else "merged",
            "lead_id": result.lead_id,
            "errors": [
                {"field": e.field, "message": e.message, "row": e.row} for e in result.errors
            ],
        }
        for result in outcome.results
    ]
    # Built in BulkOut's shape and order; not re-validated (1,000 rows: a fifth of the call).
    body = {
        "n_created": outcome.n_created,
        "n_merged": outcome.n_merged,
        "n_rejected": outcome.n_rejected,
        "results": results,
    }
    return api.create_response(request, body, status=200)


# The two reads answer their rows as they are (``LEAD_OUT_FIELDS``, the schema's own fields
# in its order, rendered by the same JSON encoder): validating 50 rows against ``LeadOut``
# took most of a list request's time and could only restate what the database returned.
# tests/api/test_read_speed.py checks the answers equal the validated ones.


@api.get("/leads", response=LeadListOut, summary="List leads, oldest first, cursor-paginated")
def list_leads(request: HttpRequest, filters: Query[LeadListFilters]) -> HttpResponse:
    page = queries.list_leads_for_api(_user(request), filters)
    return api.create_response(
        request, {"results": page.leads, "next_cursor": page.next_cursor}, status=200
    )


@api.get("/leads/{lead_id}", response=LeadOut, summary="Read a lead")
def read_lead(request: HttpRequest, lead_id: int) -> HttpResponse:
    row = queries.get_lead_row_for_api(_user(request), lead_id)
    return api.create_response(request, row, status=200)


@api.patch("/leads/{lead_id}", response=LeadOut, summary="Change some fields of a lead")
def update_lead(request: HttpRequest, lead_id: int, payload: LeadPatch) -> Lead:
    lead = get_lead_for_user(_user(request), lead_id)
    return services.update_lead_via_api(
        lead,
        payload.model_dump(exclude_unset=True, mode="json"),
        user=_user(request),
        via=services.via_for(_token(request)),
    )


@api.post(
    "/leads/{lead_id}/activities",
    response={201: ActivityOut},
    summary="Record a touch (visit, email, call, ...) on a lead",
)
def add_activity(request: HttpRequest, lead_id: int, payload: ActivityIn) -> Status[Any]:
    lead = get_lead_for_user(_user(request), lead_id)
    activity = services.add_lead_activity(
        lead,
        kind=payload.kind,
        user=_user(request),
        occurred_at=payload.occurred_at,
        subject=payload.subject,
        url=payload.url,
        payload=payload.payload,
    )
    return Status(201, activity)
