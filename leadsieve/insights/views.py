"""``/insights/``: the index of reports, each report's page (htmx filters swap its body) and
the CSV export of any of its tables. Every figure comes from ``registry.REPORTS``' builders
with the signed-in user's scope; the views only parse, call and render.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.text import slugify
from django.views.decorators.http import require_GET

from leadsieve.accounts.views import signed_in_user
from leadsieve.insights.registry import REPORTS, get_report_spec
from leadsieve.insights.tables import ReportQueryError

NAV = "insights"


@login_required
@require_GET
def index(request: HttpRequest) -> HttpResponse:
    return render(request, "insights/index.html", {"nav": NAV, "reports": REPORTS.values()})


def _params(request: HttpRequest) -> dict[str, str]:
    return {key: value for key, value in request.GET.items() if key != "table"}


@login_required
@require_GET
def report_page(request: HttpRequest, name: str) -> HttpResponse:
    """The report's page; an htmx request (the filters form) gets only its body."""
    try:
        spec = get_report_spec(name)
    except ReportQueryError as exc:
        return render(request, "404.html", {"message": exc.message}, status=404)
    user = signed_in_user(request)
    context = {"nav": NAV, "spec": spec, "params": _params(request), "report": None, "error": None}
    status = 200
    try:
        report = spec.build(_params(request), user)
        context.update(report=report, csv_query=urlencode(report.query.to_params()))
    except ReportQueryError as exc:
        context["error"] = exc
        # htmx swaps only 2xx answers: the fragment says what is wrong with a 200.
        status = 200 if getattr(request, "htmx", False) else 400
    template = spec.template if getattr(request, "htmx", False) else "insights/report_page.html"
    return render(request, template, context, status=status)


@login_required
@require_GET
def report_csv(request: HttpRequest, name: str) -> HttpResponse:
    """One table of the report as CSV (``?table=KEY``; default the first)."""
    try:
        spec = get_report_spec(name)
        report = spec.build(_params(request), signed_in_user(request))
        table = report.table(request.GET.get("table"))
    except ReportQueryError as exc:
        return HttpResponse(
            f"{exc.field}: {exc.message}\n", status=400, content_type="text/plain; charset=utf-8"
        )
    response = HttpResponse(table.to_csv(), content_type="text/csv; charset=utf-8")
    query = report.query
    filename = slugify(f"{name}-{table.key}-{query.date_from}-{query.date_to}")
    response["Content-Disposition"] = f'attachment; filename="{filename}.csv"'
    return response
