"""Today: the ordered work list of a rep (or of a manager's team), in a fixed number of queries.

Order: what is late first (overdue tasks and cadence steps, missed response deadlines), then
what falls due today, then the open short-range qualified leads, best rated first. Every
item says why it is there: the deadline, the rating, what changed in the last days.
A lead already listed for a task or a deadline is not listed again among the qualified leads.

Scope is ``queries.scope_leads_for_user``; a rep's list holds only what is theirs to do
(their tasks, the deadlines of their leads, their leads), a manager's the whole team's.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from leadsieve.cadences.models import Task, TaskStatus
from leadsieve.leads.models import Horizon, Lead, Outcome, Status
from leadsieve.leads.queries import lead_scope_condition, order_for, scope_leads_for_user
from leadsieve.routing.models import LeadSLA
from leadsieve.scoring.models import ScoreSnapshot

TODAY_LIMIT = 50
TODAY_STATUSES = (Status.SQL, Status.MQL)
# "What changed" looks this far back in the score history.
CHANGE_WINDOW = dt.timedelta(days=7)
SNAPSHOT_LIMIT = 1000

KIND_TASK = "task"
KIND_DEADLINE = "deadline"
KIND_LEAD = "lead"


@dataclass(frozen=True)
class TodayItem:
    """One line of Today: the lead, why it is there and, for work items, when it is due."""

    lead: Lead
    kind: str  # "task", "deadline" or "lead"
    reason: str
    due_at: dt.datetime | None = None
    is_late: bool = False
    task: Task | None = None


@dataclass(frozen=True)
class TodayList:
    due: list[TodayItem]
    leads: list[TodayItem]

    @property
    def n_late(self) -> int:
        return sum(1 for item in self.due if item.is_late)

    @property
    def items(self) -> list[TodayItem]:
        return [*self.due, *self.leads]


def _end_of_today(now: dt.datetime) -> dt.datetime:
    local = timezone.localtime(now)
    return timezone.make_aware(
        dt.datetime.combine(local.date() + dt.timedelta(days=1), dt.time.min), local.tzinfo
    )


def _when(moment: dt.datetime, now: dt.datetime) -> str:
    local, today = timezone.localtime(moment), timezone.localtime(now).date()
    if local.date() == today:
        return f"today {local:%H:%M}"
    return f"{local:%Y-%m-%d %H:%M}"


def _task_items(user: Any, *, now: dt.datetime, until: dt.datetime) -> list[TodayItem]:
    tasks = Task.objects.filter(
        lead_scope_condition(user), status=TaskStatus.OPEN, due_at__lt=until
    )
    if user.is_rep_role():
        tasks = tasks.filter(owner=user)
    tasks = tasks.select_related("lead", "lead__company", "lead__owner", "owner")
    items = []
    for task in tasks.order_by("due_at", "id")[:TODAY_LIMIT]:
        late = task.due_at < now
        source = f" (cadence step {task.position})" if task.enrolment_id else ""
        state = "overdue since" if late else "due"
        when = _when(task.due_at, now)
        reason = f"{task.get_channel_display()}{source}: {task.title} · {state} {when}"
        if not user.is_rep_role() and task.owner is not None:
            reason += f" · {task.owner}"
        items.append(
            TodayItem(
                lead=task.lead,
                kind=KIND_TASK,
                reason=reason,
                due_at=task.due_at,
                is_late=late,
                task=task,
            )
        )
    return items


def _deadline_items(user: Any, *, now: dt.datetime, until: dt.datetime) -> list[TodayItem]:
    """Missed or due response deadlines of open leads, oldest first.

    Two queries (waiting for the first answer; answered, the next touch falls due), each
    ordered by its own deadline column so the database walks that index and stops at 50.
    """
    slas = LeadSLA.objects.filter(lead_scope_condition(user), lead__outcome=Outcome.OPEN)
    slas = slas.exclude(lead__status=Status.DISQUALIFIED)
    if user.is_rep_role():
        slas = slas.filter(lead__owner=user)
    slas = slas.select_related("lead", "lead__company", "lead__owner")
    waiting = slas.filter(responded_at__isnull=True, first_response_due__lt=until)
    touches = slas.filter(responded_at__isnull=False, next_touch_due__lt=until)
    rows = [
        *waiting.order_by("first_response_due", "id")[:TODAY_LIMIT],
        *touches.order_by("next_touch_due", "id")[:TODAY_LIMIT],
    ]
    items = []
    for sla in rows:
        if sla.responded_at is None:
            due, what = sla.first_response_due, "first response"
        else:
            assert sla.next_touch_due is not None  # the filter above
            due, what = sla.next_touch_due, "next touch"
        late = due < now
        state = "missed, was due" if late else "due"
        reason = f"Response deadline: {what} {state} {_when(due, now)}"
        if sla.responded_at is None and not late and now >= sla.at_risk_at:
            reason += " (at risk)"
        if not user.is_rep_role():
            reason += f" · {sla.lead.owner or 'unassigned'}"
        items.append(
            TodayItem(lead=sla.lead, kind=KIND_DEADLINE, reason=reason, due_at=due, is_late=late)
        )
    items.sort(key=lambda item: (item.due_at, item.lead.pk))
    return items[:TODAY_LIMIT]


def _changes(lead_ids: list[int], *, now: dt.datetime) -> dict[int, str]:
    """What moved in each lead's score in the last days, from the score history (one query)."""
    if not lead_ids:
        return {}
    snapshots = ScoreSnapshot.objects.filter(lead_id__in=lead_ids).order_by("lead_id", "-at", "-id")
    fields = ("rating", "status", "fit_grade", "horizon")
    latest: dict[int, list[dict[str, Any]]] = {}
    for row in snapshots.values("lead_id", "at", *fields)[:SNAPSHOT_LIMIT]:
        pair = latest.setdefault(row["lead_id"], [])
        if len(pair) < 2:
            pair.append(row)
    described = {}
    for lead_id, pair in latest.items():
        newest = pair[0]
        if newest["at"] < now - CHANGE_WINDOW:
            continue
        if len(pair) == 1:
            described[lead_id] = f"newly scored {_when(newest['at'], now)}"
            continue
        older = pair[1]
        moves = [
            f"{name.replace('_', ' ')} {older[name] or '–'} → {newest[name] or '–'}"
            for name in fields
            if older[name] != newest[name]
        ]
        if moves:
            described[lead_id] = f"changed {_when(newest['at'], now)}: {', '.join(moves)}"
    return described


def _lead_reason(lead: Lead, change: str | None) -> str:
    parts = [f"{lead.get_status_display()}, short-range"]
    if lead.rating is not None:
        parts.append(f"rated {lead.rating}")
    why = lead.horizon_reason or lead.status_reason
    if why:
        parts.append(why)
    if change:
        parts.append(change)
    if lead.owner_id is None:
        parts.append("unassigned")
    return " · ".join(parts)


def _lead_items(user: Any, scope: Any, *, now: dt.datetime, listed: set[int]) -> list[TodayItem]:
    leads = scope.filter(status__in=TODAY_STATUSES, horizon=Horizon.SHORT, outcome=Outcome.OPEN)
    if user.is_rep_role():
        leads = leads.filter(owner=user)
    if listed:
        leads = leads.exclude(pk__in=listed)
    rows = list(
        leads.select_related("owner", "company").order_by(*order_for("-rating"))[:TODAY_LIMIT]
    )
    changes = _changes([lead.pk for lead in rows], now=now)
    return [
        TodayItem(lead=lead, kind=KIND_LEAD, reason=_lead_reason(lead, changes.get(lead.pk)))
        for lead in rows
    ]


def list_today_for_user(user: Any, *, now: dt.datetime | None = None) -> TodayList:
    """The user's Today: late work first, then today's, then qualified leads by rating."""
    now = now or timezone.now()
    until = _end_of_today(now)
    scope = scope_leads_for_user(user)
    due = [
        *_task_items(user, now=now, until=until),
        *_deadline_items(user, now=now, until=until),
    ]
    # Late first (the manager's breaches), then by when it falls due.
    due.sort(key=lambda item: (not item.is_late, item.due_at or now, item.lead.pk))
    due = due[:TODAY_LIMIT]
    listed = {item.lead.pk for item in due}
    return TodayList(due=due, leads=_lead_items(user, scope, now=now, listed=listed))
