"""``/insights/``: the index of reports, each report's page (htmx filters swap its body) and
the CSV export of any of its tables. Every figure comes from ``registry.REPORTS``' builders
with the signed-in user's scope; the views only parse, call and render.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.text import slugify
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from leadsieve.accounts.models import is_manager_or_admin
from leadsieve.accounts.views import signed_in_user
from leadsieve.insights.forms import RetrainingScheduleForm, SpendForm, SpendImportForm
from leadsieve.insights.model_health import list_model_versions, live_figures
from leadsieve.insights.registry import REPORTS, get_report_spec
from leadsieve.insights.spend import (
    SpendImportRefused,
    enter_spend,
    import_spend_csv,
    list_spend_for_user,
    remove_spend,
)
from leadsieve.insights.tables import ReportQueryError
from leadsieve.scoring.retraining import (
    get_retraining_schedule,
    next_retraining_at,
    set_retraining_schedule,
)

NAV = "insights"
SPEND_ROWS_SHOWN = 200


@login_required
@require_GET
def index(request: HttpRequest) -> HttpResponse:
    return render(request, "insights/index.html", {"nav": NAV, "reports": REPORTS.values()})


def _params(request: HttpRequest) -> dict[str, str]:
    return {key: str(value) for key, value in request.GET.items() if key != "table"}


def _form_values(params: dict[str, str], report: Any) -> dict[str, Any]:
    """What the filters form shows: the query answered, else what was asked."""
    if report is not None:
        query = report.query
        return {
            "from": query.date_from.isoformat(),
            "to": query.date_to.isoformat(),
            "by": query.by,
            "cohort": query.cohort,
            "filters": list(query.filters),
        }
    return {
        "from": params.get("from", ""),
        "to": params.get("to", ""),
        "by": params.get("by", ""),
        "cohort": params.get("cohort", ""),
        "filters": [],
    }


@login_required
@require_GET
def report_page(request: HttpRequest, name: str) -> HttpResponse:
    """The report's page; an htmx request (the filters form) gets only its body."""
    try:
        spec = get_report_spec(name)
    except ReportQueryError as exc:
        return render(request, "404.html", {"message": exc.message}, status=404)
    user = signed_in_user(request)
    params = _params(request)
    context: dict[str, Any] = {"nav": NAV, "spec": spec, "params": params, "report": None}
    context["error"] = None
    status = 200
    try:
        report = spec.build(params, user)
        context.update(report=report, csv_query=urlencode(report.query.to_params()))
    except ReportQueryError as exc:
        context["error"] = exc
        # htmx swaps only 2xx answers: the fragment says what is wrong with a 200.
        status = 200 if getattr(request, "htmx", False) else 400
    context["form_values"] = _form_values(params, context["report"])
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


# --- Spend -------------------------------------------------------------------------------------


def _spend_page(
    request: HttpRequest, form: SpendForm, upload: SpendImportForm, status: int = 200, **extra: Any
) -> HttpResponse:
    user = signed_in_user(request)
    context = {
        "nav": NAV,
        "form": form,
        "upload": upload,
        "spend": list_spend_for_user(user)[:SPEND_ROWS_SHOWN],
        **extra,
    }
    return render(request, "insights/spend.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def spend_page(request: HttpRequest) -> HttpResponse:
    """``/insights/cost/spend/``: the spend entered, a line to add (POST), a file to import."""
    user = signed_in_user(request)
    if not is_manager_or_admin(user):
        raise PermissionDenied("Spend is entered by managers and admins.")
    if request.method == "POST":
        form = SpendForm(request.POST, user=user)
        if form.is_valid() and form.entry is not None:
            (saved,) = enter_spend([form.entry], user=user)
            messages.success(request, f"Spend of {saved.month:%Y-%m} for {saved.source} saved.")
            return HttpResponseRedirect(reverse("insights:spend"))
        return _spend_page(request, form, SpendImportForm(), status=400)
    return _spend_page(request, SpendForm(user=user), SpendImportForm())


@login_required
@require_POST
def spend_import(request: HttpRequest) -> HttpResponse:
    user = signed_in_user(request)
    if not is_manager_or_admin(user):
        raise PermissionDenied("Spend is entered by managers and admins.")
    upload = SpendImportForm(request.POST, request.FILES)
    if not upload.is_valid():
        return _spend_page(request, SpendForm(user=user), upload, status=400)
    try:
        saved = import_spend_csv(upload.cleaned_data["file"], user=user)
    except SpendImportRefused as exc:
        return _spend_page(
            request, SpendForm(user=user), upload, status=400, import_errors=exc.errors
        )
    messages.success(request, f"{len(saved)} spend lines imported.")
    return HttpResponseRedirect(reverse("insights:spend"))


@login_required
@require_POST
def spend_remove(request: HttpRequest, spend_id: int) -> HttpResponse:
    spend = get_object_or_404(list_spend_for_user(signed_in_user(request)), pk=spend_id)
    remove_spend(spend)
    messages.success(request, f"Spend of {spend.month:%Y-%m} for {spend.source} removed.")
    return HttpResponseRedirect(reverse("insights:spend"))


# --- The conversion model ----------------------------------------------------------------------


def _model_page(
    request: HttpRequest, form: RetrainingScheduleForm, status: int = 200
) -> HttpResponse:
    versions = list_model_versions()
    champion = next((v for v in versions if v.is_active), None)
    schedule = get_retraining_schedule()
    context = {
        "nav": NAV,
        "versions": versions,
        "champion": champion,
        "live": None if champion is None else live_figures(champion),
        "schedule": schedule,
        "next_retraining_at": next_retraining_at(schedule),
        "form": form,
        "can_edit": is_manager_or_admin(request.user),
    }
    return render(request, "insights/model.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def model_page(request: HttpRequest) -> HttpResponse:
    """``/insights/model/``: every model version with its figures, the champion's leakage
    verdicts and drift alarm; managers set the retraining schedule (POST)."""
    if request.method == "POST":
        user = signed_in_user(request)
        if not is_manager_or_admin(user):
            raise PermissionDenied("Managers and admins set the retraining schedule.")
        form = RetrainingScheduleForm(request.POST)
        if not form.is_valid():
            return _model_page(request, form, status=400)
        schedule = set_retraining_schedule(every_days=form.cleaned_data["every_days"], user=user)
        messages.success(request, f"Saved: {schedule}.")
        return HttpResponseRedirect(reverse("insights:model"))
    form = RetrainingScheduleForm(initial={"every_days": get_retraining_schedule().every_days})
    return _model_page(request, form)
