"""Response deadlines (SLA): start them, watch them, escalate once per level.

A deadline starts when a lead gets an owner (or re-surfaces): first response within N
working hours of the owner's calendar, then a touch every M working days while the
lead is open. On breach the owner is told (level 1), then the manager (level 2), then
the lead is optionally reassigned (level 3). ``SLABreach`` is unique per deadline and
level, so running ``check_slas`` twice, or from two workers, does nothing twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Subquery
from django.utils import timezone

from leadsieve.accounts.models import Role, User
from leadsieve.leads.models import Activity, ActivityKind, Horizon, Lead, LeadChange, Outcome
from leadsieve.routing.bulk import insert_rows
from leadsieve.routing.calendar import WorkCalendar
from leadsieve.routing.models import BreachKind, BreachLevel, LeadSLA, SLABreach, SLAPolicy
from leadsieve.routing.queries import get_calendars

# Touches that count as the rep answering the lead.
OUTREACH_KINDS = (
    ActivityKind.CALL,
    ActivityKind.EMAIL_SENT,
    ActivityKind.MEETING,
    ActivityKind.SOCIAL,
)
# Used when a team has no policy for the horizon: the brief's "short-range: 2 h".
DEFAULT_FIRST_RESPONSE_HOURS: dict[str, float] = {Horizon.SHORT: 2.0, Horizon.LONG: 8.0}
DEFAULT_NEXT_TOUCH_DAYS: dict[str, int] = {Horizon.SHORT: 2, Horizon.LONG: 20}
DEFAULT_AT_RISK_PERCENT = 75
DEFAULT_ESCALATE_AFTER_HOURS = 2.0
CHUNK = 2000
SLA_FIELDS = (
    "lead",
    "owner",
    "policy",
    "started_at",
    "at_risk_at",
    "first_response_due",
    "responded_at",
    "last_touch_at",
    "next_touch_due",
    "breached_at",
)


def _horizon(lead: Lead) -> str:
    return lead.horizon or Horizon.SHORT


def start_slas(
    entries: list[tuple[Lead, int]],
    *,
    now: datetime,
    horizon: str | None = None,
    calendars: Mapping[int, WorkCalendar] | None = None,
) -> None:
    """(Re)start the deadlines of ``(lead, owner id)`` pairs from ``now``.

    Called inside the assigning transaction; the team is the owner's team. ``calendars``:
    the owners' ``get_calendars(..., around=now)`` when the caller has them already.
    """
    if not entries:
        return
    owners = {owner for _, owner in entries}
    if calendars is None or not owners <= calendars.keys():
        calendars = get_calendars(owners, around=now)
    owner_teams = dict(
        User.objects.filter(id__in={o for _, o in entries}).values_list("id", "team_id")
    )
    policies: dict[tuple[int | None, str], SLAPolicy] = {
        (p.team_id, p.horizon): p for p in SLAPolicy.objects.all()
    }
    deadlines: dict[tuple[int, float, float], tuple[datetime, datetime]] = {}
    rows = []
    for lead, owner_id in entries:
        band = horizon or _horizon(lead)
        policy = policies.get((owner_teams.get(owner_id), band))
        hours = policy.first_response_hours if policy else DEFAULT_FIRST_RESPONSE_HOURS[band]
        percent = policy.at_risk_percent if policy else DEFAULT_AT_RISK_PERCENT
        key = (owner_id, hours, percent)
        if key not in deadlines:
            calendar = calendars.get(owner_id) or WorkCalendar()
            deadlines[key] = (
                calendar.add_working_hours(now, hours * percent / 100),
                calendar.add_working_hours(now, hours),
            )
        at_risk, due = deadlines[key]
        policy_id = policy.pk if policy else None
        rows.append((lead.pk, owner_id, policy_id, now, at_risk, due, None, None, None, None))
    insert_rows(
        LeadSLA,
        SLA_FIELDS,
        rows,
        conflict=("lead",),
        update=SLA_FIELDS[1:],
    )


@transaction.atomic
def restart_sla(lead: Lead, *, now: datetime, horizon: str | None = None) -> None:
    """A fresh first-response deadline for the current owner (a re-surfaced lead)."""
    if lead.owner_id is not None:
        start_slas([(lead, lead.owner_id)], now=now, horizon=horizon)


def record_touches(*, now: datetime) -> int:
    """Mark first responses and move next-touch deadlines from the leads' activities."""
    outreach = Activity.objects.filter(
        lead_id=OuterRef("lead_id"),
        kind__in=OUTREACH_KINDS,
        occurred_at__gte=OuterRef("started_at"),
    )
    first = outreach.order_by("occurred_at").values("occurred_at")[:1]
    last = outreach.order_by("-occurred_at").values("occurred_at")[:1]
    waiting = LeadSLA.objects.filter(responded_at__isnull=True).filter(Exists(outreach))
    stale = LeadSLA.objects.filter(responded_at__isnull=False).filter(
        Exists(outreach.filter(occurred_at__gt=OuterRef("last_touch_at")))
    )
    n_changed = 0
    for queryset in (waiting, stale):
        rows = list(
            queryset.annotate(first_at=Subquery(first), last_at=Subquery(last)).select_related(
                "policy"
            )[: CHUNK * 10]
        )
        if not rows:
            continue
        calendars = get_calendars({r.owner_id for r in rows if r.owner_id}, around=now)
        for row in rows:
            row.responded_at = row.responded_at or row.first_at
            row.last_touch_at = row.last_at
            days = row.policy.next_touch_days if row.policy else DEFAULT_NEXT_TOUCH_DAYS["short"]
            calendar = calendars.get(row.owner_id or 0) or WorkCalendar()
            row.next_touch_due = calendar.add_working_days(row.last_at, days)
        with transaction.atomic():
            LeadSLA.objects.bulk_update(
                rows, ["responded_at", "last_touch_at", "next_touch_due"], batch_size=500
            )
        n_changed += len(rows)
    return n_changed


def _levels_due(sla: LeadSLA, due: datetime, now: datetime, calendar: WorkCalendar) -> list[int]:
    policy = sla.policy
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


def check_slas(*, now: datetime | None = None) -> list[SLABreach]:
    """Record and act on every missed deadline once; the new ``SLABreach`` rows."""
    now = now or timezone.now()
    record_touches(now=now)
    open_leads = {"lead__outcome": Outcome.OPEN, "lead__merged_into__isnull": True}
    late_first = LeadSLA.objects.filter(
        responded_at__isnull=True, first_response_due__lt=now, **open_leads
    )
    late_touch = LeadSLA.objects.filter(next_touch_due__lt=now, **open_leads)
    created: list[SLABreach] = []
    for queryset, kind in (
        (late_first, BreachKind.FIRST_RESPONSE),
        (late_touch, BreachKind.NEXT_TOUCH),
    ):
        slas = list(queryset.select_related("policy", "lead", "owner")[: CHUNK * 10])
        calendars = get_calendars({s.owner_id for s in slas if s.owner_id}, around=now)
        done = set(
            SLABreach.objects.filter(lead_id__in=[s.lead_id for s in slas], kind=kind).values_list(
                "lead_id", "due_at", "level"
            )
        )
        for sla in slas:
            due = (
                sla.first_response_due if kind == BreachKind.FIRST_RESPONSE else sla.next_touch_due
            )
            calendar = calendars.get(sla.owner_id or 0) or WorkCalendar()
            for level in _levels_due(sla, due, now, calendar):  # type: ignore[arg-type]
                if (sla.lead_id, due, level) in done:
                    continue
                breach = _record_breach(sla, kind, due, level, now)  # type: ignore[arg-type]
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
    sla: LeadSLA, kind: str, due: datetime, level: int, now: datetime
) -> SLABreach | None:
    """One escalation step in its own small transaction (a crash loses nothing)."""
    lead = sla.lead
    owner = sla.owner
    what = "first response" if kind == BreachKind.FIRST_RESPONSE else "next touch"
    subject = f"[LeadSieve] {what} overdue: {lead.display_name()} (due {due:%Y-%m-%d %H:%M} UTC)"
    recipients: list[str] = []
    if level == BreachLevel.NOTIFY_OWNER and owner is not None and owner.email:
        recipients = [owner.email]
    elif level == BreachLevel.ESCALATE:
        recipients = [m.email for m in _managers_of(lead)]
    try:
        with transaction.atomic():
            breach = SLABreach.objects.create(
                lead=lead,
                kind=kind,
                due_at=due,
                level=level,
                owner=owner,
                notified=", ".join(recipients)[:254],
                created_at=now,
            )
            LeadSLA.objects.filter(pk=sla.pk, breached_at__isnull=True).update(breached_at=now)
            LeadChange.objects.create(
                lead=lead,
                changed_at=now,
                via="sla",
                action="sla_breach",
                changes={"sla": [kind, f"level {level}"]},
                note=f"{what} due {due:%Y-%m-%d %H:%M} UTC missed; "
                f"{BreachLevel(level).label.lower()}",
            )
            if level == BreachLevel.REASSIGN:
                from leadsieve.routing.services import reassign_lead

                reassign_lead(lead, reason=f"SLA breach: {what} missed", now=now, via="sla")
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


def describe_sla(sla: LeadSLA, *, now: datetime) -> dict[str, Any]:
    """The lead page's SLA box as data."""
    return {
        "state": sla.state(now),
        "first_response_due": sla.first_response_due,
        "at_risk_at": sla.at_risk_at,
        "responded_at": sla.responded_at,
        "next_touch_due": sla.next_touch_due,
    }
