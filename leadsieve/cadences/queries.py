"""Reads for cadences: a rep's tasks, a lead's enrolment, the calendar feed owner."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.http import Http404

from leadsieve.accounts.models import Team
from leadsieve.cadences.models import (
    Appointment,
    AppointmentOutcome,
    Cadence,
    CadenceStep,
    CalendarToken,
    Enrolment,
    Task,
    TaskStatus,
)
from leadsieve.leads.queries import scope_leads_for_user
from leadsieve.routing.deadlines import describe_deadline
from leadsieve.routing.models import Assignment, QueuedLead
from leadsieve.routing.queries import (
    get_deadline_for_lead,
    get_queue_entry_for_lead,
    list_assignments_for_lead,
)

TOKEN_PATTERN = re.compile(r"[A-Za-z0-9_-]{20,64}")


def get_active_enrolment(lead: Any) -> Enrolment | None:
    return Enrolment.objects.filter(lead=lead, status="active").select_related("cadence").first()


def get_feed_owner(token: str) -> Any:
    """The user whose feed ``token`` opens; 404 for anything else (no hint which part failed)."""
    if not TOKEN_PATTERN.fullmatch(token):
        raise Http404("No such calendar")
    found = CalendarToken.objects.select_related("user").filter(token=token).first()
    if found is None or not found.user.is_active:
        raise Http404("No such calendar")
    return found.user


def list_feed_appointments(user: Any) -> QuerySet[Appointment]:
    return Appointment.objects.filter(owner=user).order_by("starts_at", "id")[:1000]


def get_appointment_for_user(user: Any, pk: int) -> Appointment:
    """The appointment if ``user`` holds it or may see its lead (the workspace's scope); else 404.

    The lead decides, not the holder's team: a rep sees the meetings booked on their leads,
    and a manager without a team never matches other team-less users' meetings.
    """
    found = Appointment.objects.select_related("owner", "lead").filter(pk=pk).first()
    if found is None or not getattr(user, "is_authenticated", False):
        raise Http404("No such appointment")
    if found.owner_id == user.pk and user.is_active:
        return found
    if scope_leads_for_user(user).filter(pk=found.lead_id).exists():
        return found
    raise Http404("No such appointment")


def get_open_task_for_lead(lead: Any, task_id: int) -> Task:
    """An open task of ``lead`` (a lead already in the user's scope), or 404."""
    found = Task.objects.filter(pk=task_id, lead=lead, status=TaskStatus.OPEN).first()
    if found is None:
        raise Http404("No such open task")
    return found


def list_upcoming_appointments_for_lead(lead: Any, *, now: datetime) -> list[Appointment]:
    """Scheduled meetings of ``lead`` from yesterday on, soonest first (one query)."""
    meetings = Appointment.objects.filter(
        lead=lead, outcome=AppointmentOutcome.SCHEDULED, starts_at__gte=now - timedelta(days=1)
    )
    return list(meetings.select_related("owner").order_by("starts_at", "id")[:10])


@dataclass(frozen=True)
class FollowUp:
    """What the lead page shows of the procedure: why this rep (or why nobody yet: the routing
    queue's reason), the deadline, the next step."""

    assignment: Assignment | None
    queued: QueuedLead | None
    deadline: dict[str, Any] | None
    enrolment: Enrolment | None
    next_step: CadenceStep | None
    open_tasks: list[Task]


def get_follow_up_for_lead(lead: Any, *, now: datetime) -> FollowUp:
    """The latest assignment (with its reason), the deadline's state, the cadence, its next step."""
    enrolment = get_active_enrolment(lead)
    next_step = None
    if enrolment is not None:
        next_step = CadenceStep.objects.filter(
            cadence_id=enrolment.cadence_id, position=enrolment.next_position
        ).first()
    deadline = get_deadline_for_lead(lead)
    return FollowUp(
        assignment=list_assignments_for_lead(lead).order_by("-assigned_at", "-id").first(),
        queued=get_queue_entry_for_lead(lead) if lead.owner_id is None else None,
        deadline=describe_deadline(deadline, now=now) if deadline is not None else None,
        enrolment=enrolment,
        next_step=next_step,
        open_tasks=list(
            Task.objects.filter(lead=lead, status=TaskStatus.OPEN).order_by("due_at")[:5]
        ),
    )


def get_cadence(team: Team, cadence_id: int) -> Cadence:
    """A version of one of the team's cadences, or of a company-wide one (team blank)."""
    cadence = (
        Cadence.objects.filter(Q(team=team) | Q(team__isnull=True), pk=cadence_id)
        .select_related("team")
        .first()
    )
    if cadence is None:
        raise Http404("No such cadence")
    return cadence


def list_cadence_versions(cadence: Cadence) -> list[Cadence]:
    """Every version of ``cadence``'s key for its team, newest first, with enrolment counts."""
    same_team = Q(team__isnull=True) if cadence.team_id is None else Q(team_id=cadence.team_id)
    return list(
        Cadence.objects.filter(same_team, key=cadence.key)
        .annotate(n_enrolments=Count("enrolments"))
        .order_by("-version")
    )


def list_steps(cadence: Cadence) -> list[CadenceStep]:
    return list(cadence.steps.order_by("position"))
