"""``/api/v1/insights/``: every report of ``registry.REPORTS`` as JSON, in the token user's
scope. ``GET /api/v1/insights/{name}?from=&to=&by=&cohort=&<dimension>=`` answers
``Report.to_dict()``: the same tables the page and the CSV show.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, JsonResponse
from ninja import Router

from leadsieve.insights.registry import REPORTS, get_report_spec
from leadsieve.insights.tables import ReportQueryError

router = Router(tags=["insights"])


def _refused(exc: ReportQueryError) -> dict[str, Any]:
    return {"errors": [{"field": exc.field, "message": exc.message}]}


@router.get(
    "/{name}",
    summary="A report's tables (funnel, cost, ...), in the token user's scope",
    description="Reports: " + ", ".join(REPORTS) + ". Parameters: from, to (YYYY-MM-DD), by, "
    "cohort (week|month), strict, and one filter per grouping name (e.g. source=3).",
)
def read_report(request: HttpRequest, name: str) -> JsonResponse:
    user = request.auth  # type: ignore[attr-defined]
    try:
        report = get_report_spec(name).build(dict(request.GET.items()), user)
    except ReportQueryError as exc:
        status = 404 if exc.field == "report" else 422
        return JsonResponse(_refused(exc), status=status)
    return JsonResponse(report.to_dict())
