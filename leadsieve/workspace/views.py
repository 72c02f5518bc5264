"""The sales workspace pages: Today, the lead list, a lead, the board.

Views stay thin: load through ``leads.queries`` (which enforces who sees what), validate with a
form, call one service, render. htmx requests get the fragment they target; the same URL
without htmx renders the whole page, so every page works without JavaScript too.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from typing import Any

from django.contrib import messages
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    HttpResponseRedirect,
    StreamingHttpResponse,
)
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from leadsieve.accounts.views import signed_in_user, workspace_login_required
from leadsieve.cadences.manual_tasks import add_task
from leadsieve.cadences.queries import (
    get_follow_up_for_lead,
    get_open_task_for_lead,
    list_upcoming_appointments_for_lead,
)
from leadsieve.cadences.services import CadenceError, complete_task, skip_task
from leadsieve.leads import duplicates
from leadsieve.leads.capture import CaptureRejected
from leadsieve.leads.models import Channel, Lead, Status
from leadsieve.leads.queries import (
    get_lead_for_user,
    list_assignable_owners_for_user,
    list_leads_by_ids_for_user,
)
from leadsieve.leads.services.merging import MergeError, dismiss_duplicate, merge_leads, unmerge
from leadsieve.pipeline import receive_lead
from leadsieve.routing.services import assign_leads_by_hand
from leadsieve.scoring.services import set_status_by_hand
from leadsieve.scoring.time_to_close import get_time_to_decision
from leadsieve.segments.filters import LeadFilterForm
from leadsieve.segments.queries import list_own_segments
from leadsieve.stages.appointments import book_appointment
from leadsieve.stages.outcomes import OutcomeError, close_lead, move_lead
from leadsieve.workspace import worklist
from leadsieve.workspace.forms import (
    AppointmentForm,
    BulkActionForm,
    CloseLeadForm,
    DisqualifyForm,
    LogActivityForm,
    MergeForm,
    NewLeadForm,
    StageForm,
    StatusForm,
    TaskDoneForm,
    TaskForm,
)
from leadsieve.workspace.queries import (
    count_leads_for_user,
    get_score_explanation,
    iter_export_rows_for_user,
    list_leads_for_user,
    list_rating_history_for_lead,
    list_timeline_for_lead,
)
from leadsieve.workspace.services import VIA_WEB, log_activity, set_leads_status_by_hand

ViewFunc = Callable[..., HttpResponseBase]
LIST_TARGET = "results"
PANEL_TARGET = "lead-panel"


class _Echo:
    """A file-like object whose ``write`` hands the CSV line back to the streaming response."""

    def write(self, value: str) -> str:
        return value


def _is_fragment(request: HttpRequest, target: str) -> bool:
    htmx = getattr(request, "htmx", None)
    if not htmx:
        return False
    return not htmx.boosted and htmx.target == target


def _safe_next(request: HttpRequest, fallback: str) -> str:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback


# --- Today -------------------------------------------------------------------------------


@workspace_login_required
@require_GET
def today(request: HttpRequest) -> HttpResponse:
    work = worklist.list_today_for_user(
        request.user,
        group=worklist.parse_group(request.GET.get("group")),
        page=worklist.parse_page(request.GET.get("page")),
    )
    context = {"work": work, "items": work.items, "nav": "today"}
    return render(request, "workspace/today.html", context)


# --- The lead list ---------------------------------------------------------------------------


@workspace_login_required
@require_GET
def lead_list(request: HttpRequest) -> HttpResponse:
    owners = list(list_assignable_owners_for_user(request.user))
    form = LeadFilterForm(request.GET, owners=owners, user=signed_in_user(request))
    context: dict[str, Any] = {"form": form, "nav": "leads", "page": None, "n_leads": None}
    if form.is_valid():
        filters = form.to_filters()
        context["page"] = list_leads_for_user(
            request.user, filters, sort=form.sort_key(), after=form.after()
        )
        context["n_leads"] = count_leads_for_user(request.user, filters)
        context["sort"] = form.sort_key()
        context["bulk_form"] = BulkActionForm(owners=owners)
        context["own_segments"] = list(list_own_segments(request.user))
        context["query"] = _query_without(request, "cursor")
        context["query_unsorted"] = _query_without(request, "cursor", "sort")
    is_fragment = _is_fragment(request, LIST_TARGET)
    context["fragment_sort"] = is_fragment
    template = "workspace/_results.html" if is_fragment else "workspace/list.html"
    # htmx swaps only 2xx responses, so a fragment reports bad filters with a 200.
    status = 200 if form.is_valid() or is_fragment else 400
    response = render(request, template, context, status=status)
    patch_vary_headers(response, ("HX-Request", "HX-Target"))
    return response


def _query_without(request: HttpRequest, *names: str) -> str:
    query = request.GET.copy()
    for name in names:
        query.pop(name, None)
    return query.urlencode()


@workspace_login_required
@require_GET
def lead_export(request: HttpRequest) -> HttpResponseBase:
    owners = list(list_assignable_owners_for_user(request.user))
    form = LeadFilterForm(request.GET, owners=owners, user=signed_in_user(request))
    if not form.is_valid():
        context = {"form": form, "nav": "leads", "page": None, "n_leads": None}
        return render(request, "workspace/list.html", context, status=400)
    rows = iter_export_rows_for_user(request.user, form.to_filters(), form.sort_key())
    writer = csv.writer(_Echo())
    lines: Iterator[str] = (writer.writerow(row) for row in rows)
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    stamp = timezone.now().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="leads-{stamp}.csv"'
    return response


@workspace_login_required
@require_POST
def lead_bulk(request: HttpRequest) -> HttpResponse:
    owners = list(list_assignable_owners_for_user(request.user))
    form = BulkActionForm(request.POST, owners=owners)
    back = _safe_next(request, reverse("leads:list"))
    if not form.is_valid():
        for name, errors in form.errors.items():
            label = form[name].label if name in form.fields else "Selection"
            messages.error(request, f"{label}: {'; '.join(str(error) for error in errors)}")
        return HttpResponseRedirect(back)
    ids = form.cleaned_data["lead"]
    leads = list_leads_by_ids_for_user(request.user, ids)
    if len(leads) != len(set(ids)):
        messages.error(request, "Some selected leads are not available to you; nothing changed.")
        return HttpResponseRedirect(back)
    if form.cleaned_data["action"] == "assign":
        n = assign_leads_by_hand(
            leads, form.cleaned_data["new_owner"], user=signed_in_user(request)
        )
    else:
        n = set_leads_status_by_hand(
            leads,
            form.cleaned_data["status"],
            user=signed_in_user(request),
            reason=form.cleaned_data["reason"],
        )
    messages.success(request, f"{n} of {len(leads)} selected leads changed.")
    return HttpResponseRedirect(back)


# --- Manual entry ------------------------------------------------------------------------------


@workspace_login_required
@require_http_methods(["GET", "POST"])
def lead_new(request: HttpRequest) -> HttpResponse:
    """Type in a lead. Capture decides as for any capture by this user: it merges into a
    lead the user can see, else creates one in the user's team, so the page that follows is
    always one the user may open and never tells of a lead outside their scope."""
    form = NewLeadForm(request.POST if request.method == "POST" else None)
    if form.is_bound and form.is_valid():
        user = signed_in_user(request)
        try:
            outcome = receive_lead(
                form.values(), channel=Channel.MANUAL, via=VIA_WEB, user=user, team=user.team
            )
        except CaptureRejected as rejected:
            form.add_capture_errors(rejected.errors)
        else:
            messages.success(
                request,
                "Lead created."
                if outcome.created
                else "You already had this lead (same email, phone or external id): "
                "the new details filled its blanks.",
            )
            return HttpResponseRedirect(reverse("leads:detail", args=[outcome.lead.pk]))
    status = 400 if form.is_bound else 200
    return render(request, "workspace/new.html", {"form": form, "nav": "leads"}, status=status)


# --- One lead --------------------------------------------------------------------------------


def _render_lead(
    request: HttpRequest, lead: Lead, *, status: int = 200, **forms: Any
) -> HttpResponse:
    now = timezone.now()
    context = {
        "lead": lead,
        "nav": "leads",
        "now": now,
        "timeline": list_timeline_for_lead(lead),
        "why": get_score_explanation(lead),
        "time_to_decision": get_time_to_decision(lead, now=now),
        "rating_history": list_rating_history_for_lead(lead),
        "follow_up": get_follow_up_for_lead(lead, now=now),
        "appointments": list_upcoming_appointments_for_lead(lead, now=now),
        "merges": duplicates.list_merges_for_lead(lead),
        "n_duplicates": duplicates.count_duplicates_for_lead(request.user, lead),
        "time_zone": timezone.get_current_timezone_name(),
        "activity_form": forms.get("activity_form") or LogActivityForm(),
        "disqualify_form": forms.get("disqualify_form") or DisqualifyForm(),
        "status_form": forms.get("status_form") or StatusForm(initial={"status": lead.status}),
        "stage_form": forms.get("stage_form") or StageForm(initial={"stage": lead.stage_id}),
        "appointment_form": forms.get("appointment_form") or AppointmentForm(),
        "task_form": forms.get("task_form") or TaskForm(),
        "close_form": forms.get("close_form") or CloseLeadForm(),
        "task_done_form": forms.get("task_done_form"),
        "open_form": next((name for name, form in forms.items() if form is not None), ""),
    }
    if _is_fragment(request, PANEL_TARGET):
        # htmx swaps only 2xx responses: errors come back as a normal fragment.
        return render(request, "workspace/_lead_panel.html", context)
    return render(request, "workspace/detail.html", context, status=status)


def _after_action(request: HttpRequest, lead_id: int, message: str) -> HttpResponse:
    messages.success(request, message)
    if _is_fragment(request, PANEL_TARGET):
        return _render_lead(request, get_lead_for_user(request.user, lead_id))
    return HttpResponseRedirect(_safe_next(request, reverse("leads:detail", args=[lead_id])))


@workspace_login_required
@require_GET
def lead_detail(request: HttpRequest, lead_id: int) -> HttpResponse:
    lead = get_lead_for_user(request.user, lead_id)
    return _render_lead(request, lead)


@workspace_login_required
@require_POST
def lead_log_activity(request: HttpRequest, lead_id: int) -> HttpResponse:
    lead = get_lead_for_user(request.user, lead_id)
    form = LogActivityForm(request.POST)
    if not form.is_valid():
        return _render_lead(request, lead, status=400, activity_form=form)
    activity = log_activity(
        lead,
        form.cleaned_data["kind"],
        user=signed_in_user(request),
        subject=form.cleaned_data["subject"],
        occurred_at=form.cleaned_data["occurred_at"],
    )
    return _after_action(request, lead.pk, f"{activity.get_kind_display()} logged.")


@workspace_login_required
@require_POST
def lead_disqualify(request: HttpRequest, lead_id: int) -> HttpResponse:
    lead = get_lead_for_user(request.user, lead_id)
    form = DisqualifyForm(request.POST)
    if not form.is_valid():
        return _render_lead(request, lead, status=400, disqualify_form=form)
    set_status_by_hand(
        lead, Status.DISQUALIFIED, user=request.user, reason=form.cleaned_data["reason"]
    )
    return _after_action(request, lead.pk, "Lead disqualified.")


@workspace_login_required
@require_POST
def lead_set_status(request: HttpRequest, lead_id: int) -> HttpResponse:
    lead = get_lead_for_user(request.user, lead_id)
    form = StatusForm(request.POST)
    if not form.is_valid():
        return _render_lead(request, lead, status=400, status_form=form)
    set_status_by_hand(
        lead, form.cleaned_data["status"], user=request.user, reason=form.cleaned_data["reason"]
    )
    return _after_action(request, lead.pk, "Status changed by hand.")


@workspace_login_required
@require_POST
def lead_move_stage(request: HttpRequest, lead_id: int) -> HttpResponse:
    lead = get_lead_for_user(request.user, lead_id)
    form = StageForm(request.POST)
    if not form.is_valid():
        return _render_lead(request, lead, status=400, stage_form=form)
    stage = form.cleaned_data["stage"]
    try:
        # A won or lost stage closes the lead through the one rule (reason, leaving the cadence).
        move_lead(lead, stage, user=request.user, reason=form.cleaned_data["reason"])
    except OutcomeError as error:
        _action_error(form, error)
        return _render_lead(request, lead, status=400, stage_form=form)
    return _after_action(request, lead.pk, f"Moved to {stage.name}.")


def _action_error(form: Any, error: Exception) -> None:
    """A service refusal (``"field: message"``) as an error on that field, else on the form."""
    field, _, message = str(error).partition(": ")
    if message and field in form.fields:
        form.add_error(field, message)
    else:
        form.add_error(None, str(error))


@workspace_login_required
@require_POST
def lead_book_appointment(request: HttpRequest, lead_id: int) -> HttpResponse:
    lead = get_lead_for_user(request.user, lead_id)
    form = AppointmentForm(request.POST)
    if form.is_valid():
        try:
            appointment = book_appointment(
                lead,
                user=signed_in_user(request),
                starts_at=form.cleaned_data["starts_at"],
                duration_minutes=form.cleaned_data["duration"],
                time_zone=timezone.get_current_timezone_name(),
                title=form.cleaned_data["title"],
                location=form.cleaned_data["location"],
                attendees=form.cleaned_data["attendees"],
            )
        except CadenceError as error:
            _action_error(form, error)
        else:
            when = timezone.localtime(appointment.starts_at)
            return _after_action(request, lead.pk, f"Appointment set for {when:%Y-%m-%d %H:%M}.")
    return _render_lead(request, lead, status=400, appointment_form=form)


@workspace_login_required
@require_POST
def lead_add_task(request: HttpRequest, lead_id: int) -> HttpResponse:
    lead = get_lead_for_user(request.user, lead_id)
    form = TaskForm(request.POST)
    if form.is_valid():
        try:
            add_task(
                lead,
                user=signed_in_user(request),
                title=form.cleaned_data["title"],
                due_at=form.cleaned_data["due_at"],
                channel=form.cleaned_data["channel"],
            )
        except CadenceError as error:
            _action_error(form, error)
        else:
            return _after_action(request, lead.pk, "Task added.")
    return _render_lead(request, lead, status=400, task_form=form)


@workspace_login_required
@require_POST
def lead_finish_task(request: HttpRequest, lead_id: int, task_id: int) -> HttpResponse:
    lead = get_lead_for_user(request.user, lead_id)
    task = get_open_task_for_lead(lead, task_id)
    form = TaskDoneForm(request.POST)
    if form.is_valid():
        user, note = signed_in_user(request), form.cleaned_data["note"]
        try:
            if form.cleaned_data["action"] == "done":
                complete_task(task, user=user, note=note)
            else:
                skip_task(task, user=user, reason=note)
        except CadenceError as error:
            _action_error(form, error)
        else:
            done = "done" if form.cleaned_data["action"] == "done" else "skipped"
            return _after_action(request, lead.pk, f"Task “{task.title}” {done}.")
    return _render_lead(request, lead, status=400, task_done_form=form)


@workspace_login_required
@require_POST
def lead_close(request: HttpRequest, lead_id: int) -> HttpResponse:
    lead = get_lead_for_user(request.user, lead_id)
    form = CloseLeadForm(request.POST)
    if form.is_valid():
        outcome = form.cleaned_data["outcome"]
        try:
            close_lead(lead, outcome, user=request.user, reason=form.cleaned_data["reason"])
        except OutcomeError as error:
            _action_error(form, error)
        else:
            return _after_action(request, lead.pk, f"Lead marked {outcome}.")
    return _render_lead(request, lead, status=400, close_form=form)


@workspace_login_required
@require_POST
def lead_unmerge(request: HttpRequest, lead_id: int, merge_id: int) -> HttpResponse:
    lead = get_lead_for_user(request.user, lead_id)
    record = duplicates.get_merge_for_lead(lead, merge_id)
    try:
        given_back = unmerge(record, user=signed_in_user(request))
    except MergeError as error:
        messages.error(request, str(error))
        if _is_fragment(request, PANEL_TARGET):
            return _render_lead(request, lead)
        return HttpResponseRedirect(reverse("leads:detail", args=[lead.pk]))
    return _after_action(
        request, lead.pk, f"Merge undone: {given_back} is a lead of its own again."
    )


# --- The duplicates review queue --------------------------------------------------------------


@workspace_login_required
@require_GET
def duplicate_queue(request: HttpRequest) -> HttpResponse:
    raw = request.GET.get("lead", "")
    lead_id = int(raw) if raw.isdigit() and len(raw) < 19 else None
    queue = duplicates.list_duplicates_for_user(request.user, lead_id=lead_id)
    context = {"queue": queue, "lead_id": lead_id, "nav": "duplicates"}
    return render(request, "workspace/duplicates.html", context)


@workspace_login_required
@require_POST
def duplicate_merge(request: HttpRequest, candidate_id: int) -> HttpResponse:
    candidate = duplicates.get_duplicate_for_user(request.user, candidate_id)
    form = MergeForm(request.POST)
    back = _safe_next(request, reverse("leads:duplicates"))
    if not form.is_valid():
        problems = "; ".join(str(error) for error in form.errors.get("survivor", []))
        messages.error(request, f"Keep: {problems}")
        return HttpResponseRedirect(back)
    if form.cleaned_data["survivor"] == "lead":
        survivor, other = candidate.lead, candidate.duplicate_of
    else:
        survivor, other = candidate.duplicate_of, candidate.lead
    try:
        merge_leads(survivor, other, user=signed_in_user(request))
    except MergeError as error:
        messages.error(request, str(error))
        return HttpResponseRedirect(back)
    messages.success(request, f"{other} merged into {survivor}. Undo it from {survivor}'s page.")
    return HttpResponseRedirect(back)


@workspace_login_required
@require_POST
def duplicate_dismiss(request: HttpRequest, candidate_id: int) -> HttpResponse:
    candidate = duplicates.get_duplicate_for_user(request.user, candidate_id)
    back = _safe_next(request, reverse("leads:duplicates"))
    try:
        dismiss_duplicate(candidate, user=signed_in_user(request))
    except MergeError as error:
        messages.error(request, str(error))
        return HttpResponseRedirect(back)
    messages.success(request, f"{candidate.lead} and {candidate.duplicate_of}: not duplicates.")
    return HttpResponseRedirect(back)
