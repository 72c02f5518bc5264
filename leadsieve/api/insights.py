"""``/api/v1/insights/``: every report of ``registry.REPORTS`` as JSON, in the token user's
scope. ``GET /api/v1/insights/{name}?from=&to=&by=&cohort=&groups=&<dimension>=`` answers
``Report.to_dict()``: the same tables the page and the CSV show.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, JsonResponse
from ninja import Field, Router, Schema

from leadsieve.accounts.models import Team, is_manager_or_admin
from leadsieve.api.schemas import ErrorsOut
from leadsieve.insights.models import Spend
from leadsieve.insights.registry import REPORTS, get_report_spec
from leadsieve.insights.spend import (
    SpendEntry,
    SpendError,
    SpendImportRefused,
    check_entry,
    enter_spend,
    import_spend_csv,
    list_spend_for_user,
    parse_month,
)
from leadsieve.insights.tables import ReportQueryError
from leadsieve.leads.models import Campaign, Source

router = Router(tags=["insights"])

ERRORS = {
    400: "Malformed JSON (`body`).",
    401: "No, unknown or revoked token (`Authorization`).",
    403: "The token's user may not read this (reps: cost and spend) (`user`).",
    404: "No such report (`report`).",
    413: "Body over `LEADSIEVE_API_MAX_BODY_BYTES` (`body`).",
    422: "A refused parameter or value, naming it (and `row` for spend lines and files).",
    500: "A bug on our side: logged, answered as JSON.",
    503: "The database is busy or unreachable: retry after `Retry-After` seconds.",
}


class ColumnOut(Schema):
    key: str
    label: str
    kind: str


class TableOut(Schema):
    key: str
    title: str
    columns: list[ColumnOut]
    rows: list[dict[str, Any]]
    totals: dict[str, Any] | None
    notes: list[str]
    warnings: list[str]


class ReportOut(Schema):
    report: str
    title: str
    query: dict[str, Any]
    notes: list[str]
    tables: list[TableOut]


class SpendOut(Schema):
    id: int
    month: str
    source_id: int
    campaign_id: int | None
    team_id: int | None
    amount: str
    note: str


class SpendListOut(Schema):
    results: list[SpendOut]


def _answers(success: dict[int, Any], errors: tuple[int, ...]) -> dict[str, Any]:
    return {
        "response": {**success, **dict.fromkeys(errors, ErrorsOut)},
        "openapi_extra": {"responses": {code: {"description": ERRORS[code]} for code in errors}},
    }


class SpendIn(Schema):
    month: str = Field(description="YYYY-MM")
    source_id: int
    campaign_id: int | None = None
    team_id: int | None = Field(None, description="Admins only; none = the whole company.")
    amount: Decimal = Field(ge=0, max_digits=14, decimal_places=2)
    note: str = Field("", max_length=200)


class SpendBatchIn(Schema):
    entries: list[SpendIn] = Field(min_length=1, max_length=1000)


class SpendCsvIn(Schema):
    csv: str = Field(description="The file's text: month, source, campaign, amount, team, note.")


def _spend_out(spend: Spend) -> dict[str, Any]:
    return {
        "id": spend.pk,
        "month": f"{spend.month:%Y-%m}",
        "source_id": spend.source_id,
        "campaign_id": spend.campaign_id,
        "team_id": spend.team_id,
        "amount": str(spend.amount),
        "note": spend.note,
    }


def _spend_refused(errors: list[SpendError]) -> JsonResponse:
    body = [
        {"field": e.field, "message": e.message, **({"row": e.row} if e.row else {})}
        for e in errors
    ]
    return JsonResponse({"errors": body}, status=422)


def _may_enter_spend(user: Any) -> JsonResponse | None:
    if is_manager_or_admin(user):
        return None
    message = "Spend is read and entered by managers and admins."
    return JsonResponse({"errors": [{"field": "user", "message": message}]}, status=403)


@router.get(
    "/spend",
    **_answers({200: SpendListOut}, (401, 403, 500, 503)),
    summary="The spend lines in the token user's scope (managers: their team)",
)
def list_spend(request: HttpRequest) -> JsonResponse:
    user = request.auth  # type: ignore[attr-defined]
    refused = _may_enter_spend(user)
    if refused is not None:
        return refused
    return JsonResponse({"results": [_spend_out(s) for s in list_spend_for_user(user)]})


def _entry(user: Any, item: SpendIn, row: int) -> SpendEntry:
    source = Source.objects.filter(pk=item.source_id).first()
    if source is None:
        raise SpendError("source_id", f"no source {item.source_id}", row)
    campaign = None
    if item.campaign_id is not None:
        campaign = Campaign.objects.filter(pk=item.campaign_id).first()
        if campaign is None:
            raise SpendError("campaign_id", f"no campaign {item.campaign_id}", row)
    team = None
    if item.team_id is not None:
        team = Team.objects.filter(pk=item.team_id).first()
        if team is None:
            raise SpendError("team_id", f"no team {item.team_id}", row)
    return check_entry(
        user,
        month=parse_month(item.month, row=row),
        source=source,
        campaign=campaign,
        team=team,
        amount=item.amount,
        note=item.note,
        row=row,
    )


@router.post(
    "/spend",
    **_answers({201: SpendListOut}, (400, 401, 403, 413, 422, 500, 503)),
    summary="Enter spend lines (all or none; the same key replaces)",
)
def create_spend(request: HttpRequest, payload: SpendBatchIn) -> JsonResponse:
    user = request.auth  # type: ignore[attr-defined]
    refused = _may_enter_spend(user)
    if refused is not None:
        return refused
    entries, errors = [], []
    for row, item in enumerate(payload.entries, start=1):
        try:
            entries.append(_entry(user, item, row))
        except SpendError as exc:
            errors.append(exc)
    if errors:
        return _spend_refused(errors)
    saved = enter_spend(entries, user=user)
    return JsonResponse({"results": [_spend_out(s) for s in saved]}, status=201)


@router.post(
    "/spend/import",
    **_answers({201: SpendListOut}, (400, 401, 403, 413, 422, 500, 503)),
    summary="Import a spend CSV (all rows or none; row-numbered errors)",
)
def import_spend(request: HttpRequest, payload: SpendCsvIn) -> JsonResponse:
    user = request.auth  # type: ignore[attr-defined]
    refused = _may_enter_spend(user)
    if refused is not None:
        return refused
    try:
        saved = import_spend_csv(payload.csv, user=user)
    except SpendImportRefused as exc:
        return _spend_refused(exc.errors)
    return JsonResponse({"results": [_spend_out(s) for s in saved]}, status=201)


def _refused(exc: ReportQueryError) -> dict[str, Any]:
    return {"errors": [{"field": exc.field, "message": exc.message}]}


@router.get(
    "/{name}",
    **_answers({200: ReportOut}, (401, 403, 404, 422, 500, 503)),
    summary="A report's tables (funnel, cost, ...), in the token user's scope",
    description="Reports: " + ", ".join(REPORTS) + ". Parameters: from, to (YYYY-MM-DD), by, "
    "cohort (week|month), strict, and one filter per grouping name (e.g. source=3).",
)
def read_report(request: HttpRequest, name: str) -> JsonResponse:
    user = request.auth  # type: ignore[attr-defined]
    try:
        params = {key: str(value) for key, value in request.GET.items()}
        report = get_report_spec(name).build(params, user)
    except PermissionDenied as exc:
        return JsonResponse({"errors": [{"field": "user", "message": str(exc)}]}, status=403)
    except ReportQueryError as exc:
        status = 404 if exc.field == "report" else 422
        return JsonResponse(_refused(exc), status=status)
    return JsonResponse(report.to_dict())
