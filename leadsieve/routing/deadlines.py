"""Response deadlines: start them and follow the touches.

A deadline starts when a lead gets an owner (or re-surfaces): first response within N
working hours of the owner's calendar, then a touch every M working days while the
lead is open. What happens when one is missed is ``routing.breaches`` (the tick calls it).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import Exists, OuterRef, Subquery
from django.http import Http404

from leadsieve.accounts.models import Team, User
from leadsieve.leads.models import Activity, ActivityKind, Horizon, Lead
from leadsieve.routing.bulk import insert_rows
from leadsieve.routing.calendar import WorkCalendar
from leadsieve.routing.kept import get_deadline_policies
from leadsieve.routing.models import DeadlinePolicy, LeadDeadline
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
DEADLINE_FIELDS = (
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


def start_deadlines(
    entries: list[tuple[Lead, int]],
    *,
    now: datetime,
    horizon: str | None = None,
    calendars: Mapping[int, WorkCalendar] | None = None,
    owner_teams: Mapping[int, int | None] | None = None,
) -> None:
    """(Re)start the deadlines of ``(lead, owner id)`` pairs from ``now``.

    Called inside the assigning transaction; the team is the owner's team. ``calendars``:
    the owners' ``get_calendars(..., around=now)``, and ``owner_teams``: owner id → team id,
    when the caller has them already (routing read both with the profiles it locked).
    """
    if not entries:
        return
    owners = {owner for _, owner in entries}
    if calendars is None or not owners <= calendars.keys():
        calendars = get_calendars(owners, around=now)
    if owner_teams is None or not owners <= owner_teams.keys():
        owner_teams = dict(User.objects.filter(id__in=owners).values_list("id", "team_id"))
    policies = get_deadline_policies()
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
        LeadDeadline,
        DEADLINE_FIELDS,
        rows,
        conflict=("lead",),
        update=DEADLINE_FIELDS[1:],
    )


@transaction.atomic
def restart_deadline(lead: Lead, *, now: datetime, horizon: str | None = None) -> None:
    """A fresh first-response deadline for the current owner (a re-surfaced lead)."""
    if lead.owner_id is not None:
        start_deadlines([(lead, lead.owner_id)], now=now, horizon=horizon)


def record_touches(*, now: datetime) -> int:
    """Mark first responses and move next-touch deadlines from the leads' activities."""
    outreach = Activity.objects.filter(
        lead_id=OuterRef("lead_id"),
        kind__in=OUTREACH_KINDS,
        occurred_at__gte=OuterRef("started_at"),
    )
    first = outreach.order_by("occurred_at").values("occurred_at")[:1]
    last = outreach.order_by("-occurred_at").values("occurred_at")[:1]
    waiting = LeadDeadline.objects.filter(responded_at__isnull=True).filter(Exists(outreach))
    stale = LeadDeadline.objects.filter(responded_at__isnull=False).filter(
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
            LeadDeadline.objects.bulk_update(
                rows, ["responded_at", "last_touch_at", "next_touch_due"], batch_size=500
            )
        n_changed += len(rows)
    return n_changed


def describe_deadline(deadline: LeadDeadline, *, now: datetime) -> dict[str, Any]:
    """The lead page's deadline box as data."""
    return {
        "state": deadline.state(now),
        "first_response_due": deadline.first_response_due,
        "at_risk_at": deadline.at_risk_at,
        "responded_at": deadline.responded_at,
        "next_touch_due": deadline.next_touch_due,
    }


def get_policy(team: Team, horizon: str) -> DeadlinePolicy:
    """The team's policy for ``horizon``, or an unsaved one holding the defaults."""
    if horizon not in Horizon.values:
        raise Http404("No such horizon")
    policy = DeadlinePolicy.objects.filter(team=team, horizon=horizon).first()
    return policy or default_policy(team, horizon)


def default_policy(team: Team, horizon: str) -> DeadlinePolicy:
    """An unsaved policy holding what routing uses when the team has none for ``horizon``."""
    return DeadlinePolicy(
        team=team,
        horizon=horizon,
        first_response_hours=DEFAULT_FIRST_RESPONSE_HOURS[horizon],
        next_touch_days=DEFAULT_NEXT_TOUCH_DAYS[horizon],
    )
