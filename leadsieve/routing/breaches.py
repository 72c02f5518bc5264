"""Missed response deadlines: record each breach once and escalate, one level at a time.

On breach the owner is told (level 1), then the manager (level 2), then the lead is
optionally reassigned (level 3, through ``routing.services.reassign_lead``). ``DeadlineBreach``
is unique per deadline and level, so running ``check_deadlines`` twice, or from two workers,
does nothing twice. The tick calls ``check_deadlines``; deadlines start in ``routing.deadlines``.
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.utils import timezone

from leadsieve.accounts.models import Role, User
from leadsieve.leads.models import Lead, LeadChange, Outcome
from leadsieve.routing.calendar import WorkCalendar
from leadsieve.routing.deadlines import CHUNK, DEFAULT_ESCALATE_AFTER_HOURS, record_touches
from leadsieve.routing.models import BreachKind, BreachLevel, DeadlineBreach, LeadDeadline
from leadsieve.routing.queries import get_calendars
from leadsieve.routing.services import reassign_lead


def _levels_due(
    deadline: LeadDeadline, due: datetime, now: datetime, calendar: WorkCalendar
) -> list[int]:
    policy = deadline.policy
    escalate = policy.escalate_after_hours if policy else DEFAULT_ESCALATE_AFTER_HOURS
    levels: list[int] = [BreachLevel.NOTIFY_OWNER]
    if now >= calendar.add_working_hours(due, escalate):
        levels.append(BreachLevel.ESCALATE)
    if (
        policy is not None
        and policy.reassign_on_breach
        and now >= calendar.add_working_hours(due, policy.reassign_after_hours)
    ):
        levels.append(BreachLevel.REASSIGN)
    return levels


def check_deadlines(*, now: datetime | None = None) -> list[DeadlineBreach]:
    """Record and act on every missed deadline once; the new ``DeadlineBreach`` rows."""
    now = now or timezone.now()
    record_touches(now=now)
    open_leads = {"lead__outcome": Outcome.OPEN, "lead__merged_into__isnull": True}
    late_first = LeadDeadline.objects.filter(
        responded_at__isnull=True, first_response_due__lt=now, **open_leads
    )
    late_touch = LeadDeadline.objects.filter(next_touch_due__lt=now, **open_leads)
    created: list[DeadlineBreach] = []
    for queryset, kind in (
        (late_first, BreachKind.FIRST_RESPONSE),
        (late_touch, BreachKind.NEXT_TOUCH),
    ):
        deadlines = list(queryset.select_related("policy", "lead", "owner")[: CHUNK * 10])
        calendars = get_calendars({s.owner_id for s in deadlines if s.owner_id}, around=now)
        done = set(
            DeadlineBreach.objects.filter(
                lead_id__in=[s.lead_id for s in deadlines], kind=kind
            ).values_list("lead_id", "due_at", "level")
        )
        for deadline in deadlines:
            due = (
                deadline.first_response_due
                if kind == BreachKind.FIRST_RESPONSE
                else deadline.next_touch_due
            )
            calendar = calendars.get(deadline.owner_id or 0) or WorkCalendar()
            for level in _levels_due(deadline, due, now, calendar):  # type: ignore[arg-type]
                if (deadline.lead_id, due, level) in done:
                    continue
                breach = _record_breach(deadline, kind, due, level, now)  # type: ignore[arg-type]
                if breach is not None:
                    created.append(breach)
    return created


def _managers_of(lead: Lead) -> list[User]:
    if lead.team_id is None:
        return []
    return list(
        User.objects.filter(team_id=lead.team_id, role=Role.MANAGER, is_active=True).exclude(
            email=""
        )
    )


def _record_breach(
    deadline: LeadDeadline, kind: str, due: datetime, level: int, now: datetime
) -> DeadlineBreach | None:
    """One escalation step in its own small transaction (a crash loses nothing)."""
    lead = deadline.lead
    owner = deadline.owner
    what = "first response" if kind == BreachKind.FIRST_RESPONSE else "next touch"
    subject = f"[LeadSieve] {what} overdue: {lead.display_name()} (due {due:%Y-%m-%d %H:%M} UTC)"
    recipients: list[str] = []
    if level == BreachLevel.NOTIFY_OWNER and owner is not None and owner.email:
        recipients = [owner.email]
    elif level == BreachLevel.ESCALATE:
        recipients = [m.email for m in _managers_of(lead)]
    try:
        with transaction.atomic():
            breach = DeadlineBreach.objects.create(
                lead=lead,
                kind=kind,
                due_at=due,
                level=level,
                owner=owner,
                notified=", ".join(recipients)[:254],
                created_at=now,
            )
            LeadDeadline.objects.filter(pk=deadline.pk, breached_at__isnull=True).update(
                breached_at=now
            )
            LeadChange.objects.create(
                lead=lead,
                changed_at=now,
                via="deadline",
                action="deadline_breach",
                changes={"deadline": [kind, f"level {level}"]},
                note=f"{what} due {due:%Y-%m-%d %H:%M} UTC missed; "
                f"{BreachLevel(level).label.lower()}",
            )
            if level == BreachLevel.REASSIGN:
                reassign_lead(lead, reason=f"Deadline missed: {what}", now=now, via="deadline")
            if recipients:
                body = (
                    f"The {what} deadline for {lead.display_name()} passed at "
                    f"{due:%Y-%m-%d %H:%M} UTC. Owner: {owner or 'nobody'}."
                )
                transaction.on_commit(
                    lambda: send_mail(
                        subject, body, settings.DEFAULT_FROM_EMAIL, recipients, fail_silently=True
                    )
                )
    except IntegrityError:
        return None  # another worker recorded this step first
    return breach
