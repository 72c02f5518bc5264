"""Segments pages: the user's and the team's segments; save, open, rename, delete, add leads.

Opening a segment is the lead list filtered by it (``/leads/?segment=<id>``): the list's own
scope still applies, so a shared segment never shows a lead outside the viewer's scope.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from leadsieve.accounts.views import signed_in_user, workspace_login_required
from leadsieve.leads.queries import list_leads_by_ids_for_user
from leadsieve.segments import queries
from leadsieve.segments.forms import AddToSegmentForm, SaveSegmentForm, SegmentForm
from leadsieve.segments.services import (
    add_leads_to_segment,
    delete_segment,
    save_segment,
    update_segment,
)


def _list_url(segment_id: int) -> str:
    return f"{reverse('leads:list')}?segment={segment_id}"


def describe_errors(form: Any, fallback: str = "Segment") -> str:
    """A form's errors in one line, each named by its field's label (for a flash message)."""
    parts = []
    for name, errors in form.errors.items():
        label = form[name].label if name in form.fields else fallback
        parts.append(f"{label}: {' '.join(str(error) for error in errors)}")
    return "; ".join(parts)


def _render_list(request: HttpRequest, *, status: int = 200, **forms: Any) -> HttpResponse:
    user = signed_in_user(request)
    segments = list(queries.list_segments_for_user(user))
    context = {
        "nav": "segments",
        "own": [segment for segment in segments if segment.owner_id == user.pk],
        "shared": [segment for segment in segments if segment.owner_id != user.pk],
        "create_form": forms.get("create_form") or SaveSegmentForm(),
    }
    return render(request, "segments/list.html", context, status=status)


@workspace_login_required
@require_GET
def segment_list(request: HttpRequest) -> HttpResponse:
    return _render_list(request)


@workspace_login_required
@require_POST
def segment_create(request: HttpRequest) -> HttpResponse:
    form = SaveSegmentForm(request.POST)
    if not form.is_valid():
        return _render_list(request, status=400, create_form=form)
    segment = save_segment(
        signed_in_user(request),
        form.cleaned_data["name"],
        query=form.cleaned_data["query"],
        is_shared=form.cleaned_data["is_shared"],
        is_list=form.cleaned_data["is_list"],
    )
    messages.success(request, f"Segment “{segment.name}” saved.")
    return HttpResponseRedirect(_list_url(segment.pk))


@workspace_login_required
@require_GET
def segment_open(request: HttpRequest, segment_id: int) -> HttpResponse:
    segment = queries.get_segment_for_user(request.user, segment_id)
    return HttpResponseRedirect(_list_url(segment.pk))


@workspace_login_required
@require_POST
def segment_edit(request: HttpRequest, segment_id: int) -> HttpResponse:
    segment = queries.get_own_segment_for_user(request.user, segment_id)
    form = SegmentForm(request.POST)
    if not form.is_valid():
        messages.error(request, f"“{segment.name}” was not changed. {describe_errors(form)}")
        return HttpResponseRedirect(reverse("segments:list"))
    update_segment(
        segment, name=form.cleaned_data["name"], is_shared=form.cleaned_data["is_shared"]
    )
    messages.success(request, f"Segment “{segment.name}” saved.")
    return HttpResponseRedirect(reverse("segments:list"))


@workspace_login_required
@require_POST
def segment_delete(request: HttpRequest, segment_id: int) -> HttpResponse:
    segment = queries.get_own_segment_for_user(request.user, segment_id)
    delete_segment(segment)
    messages.success(request, f"Segment “{segment.name}” deleted; its leads are untouched.")
    return HttpResponseRedirect(reverse("segments:list"))


@workspace_login_required
@require_POST
def segment_add_leads(request: HttpRequest) -> HttpResponse:
    user = signed_in_user(request)
    form = AddToSegmentForm(request.POST, segments=list(queries.list_own_segments(user)))
    back = _safe_back(request)
    if not form.is_valid():
        messages.error(request, f"No lead was added. {describe_errors(form)}")
        return HttpResponseRedirect(back)
    ids = form.cleaned_data["lead"]
    leads = list_leads_by_ids_for_user(user, ids)
    if len(leads) != len(set(ids)):
        messages.error(request, "Some selected leads are not available to you; nothing changed.")
        return HttpResponseRedirect(back)
    segment = form.cleaned_data["target"] or save_segment(
        user, form.cleaned_data["new_name"], is_list=True
    )
    n = add_leads_to_segment(segment, leads, user=user)
    messages.success(request, f"{n} of {len(leads)} ticked leads added to “{segment.name}”.")
    return HttpResponseRedirect(back)


def _safe_back(request: HttpRequest) -> str:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse("leads:list")
