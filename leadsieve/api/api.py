"""The JSON API, ``/api/v1/``: leads in and out for other systems, authenticated by token.

Endpoints stay thin: load through a scoped query, validate with a schema, call one service,
return a schema. Every error is ``{"errors": [{"field": ..., "message": ...}]}``.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.db import OperationalError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from ninja import Header, NinjaAPI, Query, Schema
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.responses import Status
from ninja.security import HttpBearer

from leadsieve.accounts.models import User
from leadsieve.api import queries, services
from leadsieve.api.insights import router as insights_router
from leadsieve.api.models import ApiToken
from leadsieve.api.parser import MalformedJson, StrictJsonParser, ValueRefused
from leadsieve.api.schemas import (
    ActivityIn,
    ActivityOut,
    BulkIn,
    BulkOut,
    CaptureOut,
    CloseIn,
    ErrorsOut,
    LeadIn,
    LeadListFilters,
    LeadListOut,
    LeadOut,
    LeadPatch,
)
from leadsieve.leads.capture import BatchOutcome, CaptureOutcome, CaptureRejected
from leadsieve.leads.date_windows import DateOutOfWindow
from leadsieve.leads.models import Lead
from leadsieve.leads.queries import InvalidCursor, get_lead_for_user
from leadsieve.stages.outcomes import OutcomeError, close_lead

IDEMPOTENCY_KEY_MAX = 200
LOCATION_PREFIXES = frozenset({"body", "query", "path", "header", "form", "cookie"})
# Seconds a client waits before retrying when the database is busy.
RETRY_AFTER_S = 5

logger = logging.getLogger(__name__)


class BearerToken(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> Any:
        api_token = queries.get_active_token(token.strip())
        if api_token is None:
            return None
        services.touch_api_token(api_token)
        request.api_token = api_token  # type: ignore[attr-defined]
        return api_token.user


def _may_read_docs(request: HttpRequest) -> bool:
    if settings.LEADSIEVE_API_DOCS_PUBLIC or request.user.is_authenticated:
        return True
    scheme, _, raw = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and queries.get_active_token(raw.strip()) is not None


def require_docs_access(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """The docs page and the schema, for a signed-in user or a valid token (or anyone, with
    ``LEADSIEVE_API_DOCS_PUBLIC``). A browser is sent to sign in; a script gets a JSON 401.
    """

    @functools.wraps(view)
    def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if _may_read_docs(request):
            return view(request, *args, **kwargs)
        if "text/html" in request.headers.get("Accept", ""):
            return redirect_to_login(request.get_full_path())
        message = "Sign in, or send Authorization: Bearer <token>, to read the API schema."
        response = JsonResponse(_errors({"field": "Authorization", "message": message}), status=401)
        response["WWW-Authenticate"] = "Bearer"
        return response

    return guarded


api = NinjaAPI(
    title="LeadSieve API",
    version="1",
    description="Capture, read and update leads. Authenticate with `Authorization: Bearer <token>`"
    " (create one with `leadsieve create-api-token --user NAME`).",
    urls_namespace="api-v1",
    auth=BearerToken(),
    parser=StrictJsonParser(),
    docs_decorator=require_docs_access,
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
    cause = exc.__cause__
    if isinstance(cause, ValueRefused):
        return api.create_response(
            request, _errors({"field": cause.field, "message": cause.message}), status=422
        )
    if isinstance(cause, MalformedJson):
        message = str(cause)
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


@api.exception_handler(OutcomeError)
def on_outcome_refused(request: HttpRequest, exc: OutcomeError) -> HttpResponse:
    field, _, message = str(exc).partition(": ")
    return api.create_response(request, _errors({"field": field, "message": message}), status=422)


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


@api.exception_handler(DateOutOfWindow)
def on_date_out_of_window(request: HttpRequest, exc: DateOutOfWindow) -> HttpResponse:
    message = exc.message[:1].upper() + exc.message[1:] + "."
    return api.create_response(
        request, _errors({"field": exc.field, "message": message}), status=422
    )


@api.exception_handler(OperationalError)
def on_database_unavailable(request: HttpRequest, exc: OperationalError) -> HttpResponse:
    """SQLite's lock wait ran out, or the database is unreachable: nothing was stored, and
    the same request later will do; a client's retry loop reads ``Retry-After``.
    """
    logger.warning("API %s %s: database unavailable: %s", request.method, request.path, exc)
    message = "The database is busy; nothing was stored. Retry in a few seconds."
    response = api.create_response(
        request, _errors({"field": "request", "message": message}), status=503
    )
    response["Retry-After"] = str(RETRY_AFTER_S)
    return response


@api.exception_handler(Exception)
def on_unexpected_error(request: HttpRequest, exc: Exception) -> HttpResponse:
    """The last resort: a bug still answers JSON (logged with its traceback), never Django's
    HTML 500 page. Each known cause of a 500 is refused earlier with a 4xx naming its field.
    """
    logger.exception("API error on %s %s", request.method, request.path)
    message = "Something went wrong on our side; it was logged. Retry later."
    return api.create_response(
        request, _errors({"field": "request", "message": message}), status=500
    )


# --- What each operation may answer (the schema lists every status) ---------------------------

ERROR_ANSWERS = {
    400: "Malformed JSON (`body`, with line and column), a body nested too deep, a number of "
    "thousands of digits, or a damaged cursor (`cursor`).",
    401: "No, unknown or revoked token (`Authorization`); header `WWW-Authenticate: Bearer`.",
    404: "No such lead, or not one the token's user may see (`id`).",
    413: "Body over `LEADSIEVE_API_MAX_BODY_BYTES`, refused before it is read (`body`).",
    422: "A refused value, naming its field (and `row` in bulk): wrong type, unknown field, "
    "too long, out of its range or date window, invalid email or phone, a reused "
    "`Idempotency-Key` with another body.",
    500: "A bug on our side: logged, answered as JSON.",
    503: "The database is busy or unreachable: retry after `Retry-After` seconds.",
}
COMMON_ERRORS = (401, 422, 500, 503)
LIST_ERRORS = (400, *COMMON_ERRORS)
READ_ERRORS = (404, *COMMON_ERRORS)
BODY_ERRORS = (400, 413, *COMMON_ERRORS)
LEAD_BODY_ERRORS = (404, *BODY_ERRORS)
# ninja's Header() is both a marker and a generic alias; mypy only knows the latter.
IDEMPOTENCY_HEADER = Header(  # type: ignore[type-arg]
    None,
    alias="Idempotency-Key",
    description=f"1 to {IDEMPOTENCY_KEY_MAX} printable ASCII characters, unique per request.",
    min_length=1,
    max_length=IDEMPOTENCY_KEY_MAX,
    pattern=r"^[ -~]+$",
)
REPLAYED_HEADER = {
    "Idempotent-Replayed": {
        "description": "`true` when this answer is the stored one for a reused key.",
        "schema": {"type": "string", "enum": ["true"]},
    }
}


def _documented(
    success: dict[int, Any], errors: tuple[int, ...], *, replayable: bool = False
) -> dict[str, Any]:
    """``response`` and ``openapi_extra`` for an operation: its success shapes, and every
    error status it may answer with the shared ``ErrorsOut`` shape and what it means.
    """
    described: dict[int, Any] = {code: {"description": ERROR_ANSWERS[code]} for code in errors}
    if replayable:
        described.update({code: {"headers": REPLAYED_HEADER} for code in success})
    return {
        "response": {**success, **dict.fromkeys(errors, ErrorsOut)},
        "openapi_extra": {"responses": described},
    }


def _user(request: HttpRequest) -> User:
    """The token's user, set by ``BearerToken`` on every authenticated operation."""
    user: User = request.auth  # type: ignore[attr-defined]
    return user


def _refuse_unknown_parameters(request: HttpRequest, schema: type[Schema]) -> None:
    """A misspelt filter (``?stauts=new``) is a 422, not silently a wider list."""
    unknown = sorted(set(request.GET) - set(schema.model_fields))
    if unknown:
        message = f"Unknown parameter; use one of: {', '.join(schema.model_fields)}."
        raise ValidationError(
            [{"loc": ("query", name or "query"), "msg": message} for name in unknown]
        )


def _token(request: HttpRequest) -> ApiToken | None:
    return getattr(request, "api_token", None)


def _capture_body(outcome: CaptureOutcome) -> dict[str, Any]:
    lead = LeadOut.from_orm(outcome.lead)
    return CaptureOut(created=outcome.created, lead=lead).model_dump(mode="json")


def _bulk_body(outcome: BatchOutcome) -> dict[str, Any]:
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
    return body


def _answer(request: HttpRequest, stored: services.StoredResponse) -> HttpResponse:
    response = api.create_response(request, stored.body, status=stored.status_code)
    if stored.replayed:
        response["Idempotent-Replayed"] = "true"
    return response


@api.post(
    "/leads",
    **_documented({200: CaptureOut, 201: CaptureOut}, BODY_ERRORS, replayable=True),
    summary="Capture a lead (merged into an existing one with the same email or phone)",
    description="Send `Idempotency-Key` so a retry after a lost answer never captures twice.",
)
def create_lead(
    request: HttpRequest,
    payload: LeadIn,
    idempotency_key: str | None = IDEMPOTENCY_HEADER,
) -> HttpResponse:
    stored = services.create_lead_via_api(
        payload.model_dump(exclude_unset=True, mode="json"),
        user=_user(request),
        via=services.via_for(_token(request)),
        render=_capture_body,
        idempotency_key=idempotency_key,
    )
    return _answer(request, stored)


@api.post(
    "/leads/bulk",
    **_documented({200: BulkOut}, BODY_ERRORS, replayable=True),
    summary="Capture up to 1,000 leads; per-row results",
    description="Always send `Idempotency-Key` (a new key per batch, the same key on every "
    "retry of that batch): a batch whose answer was lost (a timeout, a dropped connection, "
    "a restart) may have been stored, and a retry with the same key answers what was stored "
    "instead of capturing the batch twice.",
)
def create_leads(
    request: HttpRequest,
    payload: BulkIn,
    idempotency_key: str | None = IDEMPOTENCY_HEADER,
) -> HttpResponse:
    stored = services.create_leads_via_api_once(
        [row.model_dump(exclude_unset=True, mode="json") for row in payload.leads],
        user=_user(request),
        via=services.via_for(_token(request)),
        on_invalid=payload.on_invalid,
        render=_bulk_body,
        idempotency_key=idempotency_key,
    )
    return _answer(request, stored)


# The two reads answer their rows as they are (``LEAD_OUT_FIELDS``, the schema's own fields
# in its order, rendered by the same JSON encoder): validating 50 rows against ``LeadOut``
# took most of a list request's time and could only restate what the database returned.
# tests/api/test_lead_reads.py checks the answers equal the validated ones.


@api.get(
    "/leads",
    **_documented({200: LeadListOut}, LIST_ERRORS),
    summary="List leads, oldest first, cursor-paginated",
)
def list_leads(request: HttpRequest, filters: Query[LeadListFilters]) -> HttpResponse:
    _refuse_unknown_parameters(request, LeadListFilters)
    page = queries.list_leads_for_api(_user(request), filters)
    return api.create_response(
        request, {"results": page.leads, "next_cursor": page.next_cursor}, status=200
    )


@api.get("/leads/{lead_id}", **_documented({200: LeadOut}, READ_ERRORS), summary="Read a lead")
def read_lead(request: HttpRequest, lead_id: int) -> HttpResponse:
    row = queries.get_lead_row_for_api(_user(request), lead_id)
    return api.create_response(request, row, status=200)


@api.patch(
    "/leads/{lead_id}",
    **_documented({200: LeadOut}, LEAD_BODY_ERRORS),
    summary="Change some fields of a lead",
)
def update_lead(request: HttpRequest, lead_id: int, payload: LeadPatch) -> Lead:
    lead = get_lead_for_user(_user(request), lead_id)
    return services.update_lead_via_api(
        lead,
        payload.model_dump(exclude_unset=True, mode="json"),
        user=_user(request),
        via=services.via_for(_token(request)),
    )


@api.post(
    "/leads/{lead_id}/close",
    **_documented({200: LeadOut}, LEAD_BODY_ERRORS),
    summary="Close a lead as won or lost, with the reason",
    description="The rule of the board and the lead page: the lead moves to the pipeline's "
    "won (or lost) stage, keeps the reason, leaves its cadence, and its stage history records "
    "who closed it. A lead already closed so, or a blank reason, is a 422.",
)
def close(request: HttpRequest, lead_id: int, payload: CloseIn) -> Lead:
    lead = get_lead_for_user(_user(request), lead_id)
    close_lead(
        lead,
        payload.outcome,
        user=_user(request),
        reason=payload.reason,
        via=services.via_for(_token(request)),
    )
    lead.refresh_from_db()
    return lead


@api.post(
    "/leads/{lead_id}/activities",
    **_documented({201: ActivityOut}, LEAD_BODY_ERRORS),
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


api.add_router("/insights", insights_router)
