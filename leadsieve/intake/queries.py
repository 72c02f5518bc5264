"""Reads for the forms and import pages, scoped to who asks.

Admins see every web form and import; a manager sees those of their own team (and the
imports they started). Reps use neither page: ``is_intake_user`` is checked first by every
view (403), and an object outside the scope is a 404, like a lead outside the scope.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet
from django.http import Http404

from leadsieve.accounts.models import is_manager_or_admin
from leadsieve.intake.models import ImportJob
from leadsieve.webforms.models import WebForm

N_JOBS_LISTED = 20


def is_intake_user(user: Any) -> bool:
    """Admins and managers. ``Any``: AnonymousUser or User."""
    return is_manager_or_admin(user)


def scope_web_forms_for_user(user: Any) -> QuerySet[WebForm]:
    forms = WebForm.objects.all()
    if not is_intake_user(user):
        return forms.none()
    if user.is_admin_role():
        return forms
    if user.team_id is None:
        return forms.none()
    return forms.filter(team_id=user.team_id)


def list_web_forms_for_user(user: Any) -> list[WebForm]:
    return list(
        scope_web_forms_for_user(user)
        .select_related("source", "campaign", "team")
        .order_by("name", "pk")
    )


def get_web_form_for_user(user: Any, form_id: int) -> WebForm:
    """The form, or ``Http404`` when missing or out of scope."""
    web_form = (
        scope_web_forms_for_user(user)
        .select_related("source", "campaign", "team")
        .filter(pk=form_id)
        .first()
    )
    if web_form is None:
        raise Http404("No such form.")
    return web_form


def scope_import_jobs_for_user(user: Any) -> QuerySet[ImportJob]:
    jobs = ImportJob.objects.all()
    if not is_intake_user(user):
        return jobs.none()
    if user.is_admin_role():
        return jobs
    if user.team_id is None:
        return jobs.filter(created_by=user)
    return jobs.filter(Q(team_id=user.team_id) | Q(created_by=user))


def list_import_jobs_for_user(user: Any, *, limit: int = N_JOBS_LISTED) -> list[ImportJob]:
    return list(
        scope_import_jobs_for_user(user)
        .select_related("created_by", "team")
        .defer("preview", "header")
        .order_by("-created_at", "-pk")[:limit]
    )


def get_import_job_for_user(user: Any, job_id: int) -> ImportJob:
    """The job, or ``Http404`` when missing or out of scope."""
    job = scope_import_jobs_for_user(user).select_related("team").filter(pk=job_id).first()
    if job is None:
        raise Http404("No such import.")
    return job
