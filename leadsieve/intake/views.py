"""The forms and import pages (admins, and managers for their team; reps get 403).

Thin views: load through ``queries`` (scoped; 404 outside the scope), validate with a form,
call one service, render or redirect.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    HttpResponseRedirect,
    StreamingHttpResponse,
)
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from leadsieve.accounts.views import signed_in_user, workspace_login_required
from leadsieve.intake import queries
from leadsieve.intake.forms import MappingForm, UploadForm, WebFormForm
from leadsieve.intake.models import ImportJob, ImportStatus
from leadsieve.intake.runs import notice_stopped_worker
from leadsieve.intake.services import (
    UploadRefused,
    save_web_form,
    start_import,
    store_import_upload,
)
from leadsieve.leads.importing import MappingError
from leadsieve.leads.queries import neutralise_cell
from leadsieve.webforms.embed import snippet_for
from leadsieve.webforms.models import WebForm

ViewFunc = Callable[..., HttpResponseBase]
POLL_SECONDS = 1


def intake_required(view: ViewFunc) -> ViewFunc:
    """Signed in (else the sign-in page) and an admin or a manager (else 403)."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not queries.is_intake_user(request.user):
            raise PermissionDenied("Forms and imports are for admins and managers.")
        return view(request, *args, **kwargs)

    return workspace_login_required(wrapper)


# --- Web forms -------------------------------------------------------------------------------


@intake_required
@require_GET
def form_list(request: HttpRequest) -> HttpResponse:
    web_forms = queries.list_web_forms_for_user(request.user)
    return render(request, "intake/form_list.html", {"web_forms": web_forms, "nav": "intake"})


@intake_required
@require_http_methods(["GET", "POST"])
def form_create(request: HttpRequest) -> HttpResponseBase:
    user = signed_in_user(request)
    if not user.is_admin_role() and user.team_id is None:
        raise PermissionDenied("A manager needs a team to own a form.")
    return _edit_form(request, WebForm(team=None if user.is_admin_role() else user.team))


@intake_required
@require_http_methods(["GET", "POST"])
def form_edit(request: HttpRequest, form_id: int) -> HttpResponseBase:
    return _edit_form(request, queries.get_web_form_for_user(request.user, form_id))


def _edit_form(request: HttpRequest, web_form: WebForm) -> HttpResponseBase:
    may_choose_team = signed_in_user(request).is_admin_role()
    is_new = web_form.pk is None
    if request.method == "POST":
        form = WebFormForm(
            request.POST, request.FILES, instance=web_form, may_choose_team=may_choose_team
        )
        if form.is_valid():
            saved = save_web_form(form.apply_logo(form.save(commit=False)))
            messages.success(request, f"Form “{saved.name}” saved. Copy its snippet below.")
            return HttpResponseRedirect(reverse("intake:form_edit", args=[saved.pk]))
    else:
        form = WebFormForm(instance=web_form, may_choose_team=may_choose_team)
    snippet = "" if is_new else snippet_for(web_form, request.build_absolute_uri("/"))
    context = {
        "form": form,
        "web_form": web_form,
        "is_new": is_new,
        "snippet": snippet,
        "nav": "intake",
    }
    status = 422 if request.method == "POST" else 200
    return render(request, "intake/form_edit.html", context, status=status)


# --- Imports ---------------------------------------------------------------------------------


@intake_required
@require_http_methods(["GET", "POST"])
def import_list(request: HttpRequest) -> HttpResponseBase:
    user = signed_in_user(request)
    status = 200
    if request.method == "POST":
        form = UploadForm(request.POST, request.FILES, may_choose_team=user.is_admin_role())
        if form.is_valid():
            team = form.cleaned_data.get("team") if user.is_admin_role() else user.team
            try:
                job = store_import_upload(form.cleaned_data["file"], user=user, team=team)
            except UploadRefused as error:
                form.add_error("file", str(error))
            else:
                return HttpResponseRedirect(reverse("intake:import_job", args=[job.pk]))
        status = 422
    else:
        form = UploadForm(may_choose_team=user.is_admin_role())
    jobs = [notice_stopped_worker(job) for job in queries.list_import_jobs_for_user(user)]
    context = {
        "form": form,
        "jobs": jobs,
        "keep_days": settings.LEADSIEVE_IMPORT_KEEP_DAYS,
        "nav": "intake",
    }
    return render(request, "intake/import_list.html", context, status=status)


@intake_required
@require_http_methods(["GET", "POST"])
def import_job(request: HttpRequest, job_id: int) -> HttpResponseBase:
    job = notice_stopped_worker(queries.get_import_job_for_user(request.user, job_id))
    if job.status != ImportStatus.UPLOADED:
        if request.method == "POST":
            messages.error(request, "This import has already been started.")
            return HttpResponseRedirect(reverse("intake:import_job", args=[job.pk]))
        return render(request, "intake/import_job.html", _job_context(job))
    status = 200
    if request.method == "POST":
        form = MappingForm(request.POST, job=job)
        if form.is_valid():
            data = form.cleaned_data
            try:
                start_import(
                    job,
                    columns=data["columns"],
                    source_name=data["source_name"],
                    campaign_name=data["campaign_name"],
                    on_error=data["on_error"],
                )
            except MappingError as error:
                form.add_error(None, str(error))
            else:
                return HttpResponseRedirect(reverse("intake:import_job", args=[job.pk]))
        status = 422
    else:
        form = MappingForm(job=job)
    rows = [list(zip(job.header, row, strict=False)) for row in job.preview]
    context = {"job": job, "form": form, "preview": rows, "nav": "intake"}
    return render(request, "intake/import_mapping.html", context, status=status)


def _job_context(job: ImportJob) -> dict[str, Any]:
    return {
        "job": job,
        "poll_seconds": POLL_SECONDS,
        "keep_days": settings.LEADSIEVE_IMPORT_KEEP_DAYS,
        "nav": "intake",
    }


@intake_required
@require_GET
def import_progress(request: HttpRequest, job_id: int) -> HttpResponse:
    """The progress block alone, polled by htmx while the import runs."""
    job = notice_stopped_worker(queries.get_import_job_for_user(request.user, job_id))
    response = render(request, "intake/_job_progress.html", _job_context(job))
    response["Cache-Control"] = "no-store"
    return response


class _Echo:
    def write(self, value: str) -> str:
        return value


@intake_required
@require_GET
def import_rejected(request: HttpRequest, job_id: int) -> HttpResponseBase:
    """The rejected rows (row, column, field, value, reason), spreadsheet-safe."""
    job = queries.get_import_job_for_user(request.user, job_id)
    if not job.has_rejected_file or not job.rejected_path.exists():
        raise Http404("This import rejected no rows.")
    path = job.rejected_path

    def rows() -> Iterator[str]:
        writer = csv.writer(_Echo())
        with path.open(encoding="utf-8", newline="") as handle:
            for row in csv.reader(handle):
                yield writer.writerow([neutralise_cell(cell) for cell in row])

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    stem = job.stored_name.rsplit(".", 1)[0]
    response["Content-Disposition"] = f'attachment; filename="{stem}.rejected.csv"'
    return response
