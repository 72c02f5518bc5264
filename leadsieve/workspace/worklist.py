"""Today: a rep's (or a manager's team's) work, grouped, best first, in a fixed number of queries.

Groups, in this order:

1. **Overdue**: open tasks and cadence steps past their due moment, missed response deadlines
   (a first response or a next touch);
2. **Due today**: tasks, cadence steps and next touches falling due before midnight;
3. **New leads to answer**: leads whose first-response deadline is running;
4. **Qualified leads ready to decide soon**: the open short-range sales- or marketing-qualified
   leads that none of the groups above already lists.

Each group holds its ``n_total`` and its first ``GROUP_SIZE`` items, best rated first (then the
earliest due); ``list_today_for_user(group=..., page=...)`` pages through one group. A row says
what to do as a person writes it ("Call Uma Xu", "step 1 of Nurture"), why, and when.

Scope is ``leads.queries.lead_scope_condition``/``scope_leads_for_user``: a rep's Today holds
their tasks, the deadlines of their leads and their leads; a manager's the whole team's, with
whose each item is.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.db.models.functions import Coalesce
from django.utils import timezone

from leadsieve.cadences.models import StepChannel, Task, TaskStatus
from leadsieve.leads.models import Horizon, Lead, Outcome, Status
from leadsieve.leads.queries import lead_scope_condition, order_for, scope_leads_for_user
from leadsieve.routing.models import LeadDeadline
from leadsieve.scoring.models import ScoreSnapshot

GROUP_SIZE = 10
PAGE_SIZE = 50
# Counting a group stops here ("1000+ more"): a team with 100,000 missed deadlines reads no
# more than this many to say so (an exact count of them took 380 ms on SQLite).
COUNT_LIMIT = 1_000
TODAY_STATUSES = (Status.SQL, Status.MQL)
# "What changed" looks this far back in the score history.
CHANGE_WINDOW = dt.timedelta(days=7)
SNAPSHOT_LIMIT = 1000

KIND_TASK = "task"
KIND_DEADLINE = "deadline"
KIND_LEAD = "lead"

GROUP_OVERDUE = "overdue"
GROUP_TODAY = "today"
GROUP_ANSWER = "answer"
GROUP_REST = "rest"
GROUP_TITLES = {
    GROUP_OVERDUE: "Overdue",
    GROUP_TODAY: "Due today",
    GROUP_ANSWER: "New leads to answer",
    GROUP_REST: "Qualified leads ready to decide soon",
}
GROUPS = tuple(GROUP_TITLES)

# What a cadence step asks, said before the lead's name ("Call Uma Xu").
CHANNEL_VERBS: dict[str, str] = {
    StepChannel.CALL: "Call",
    StepChannel.EMAIL: "Email",
    StepChannel.SOCIAL: "Message",
    StepChannel.MEETING: "Meet",
    StepChannel.TASK: "Follow up with",
}


@dataclass(frozen=True)
class TodayItem:
    """One row of Today: what to do (``verb`` before the lead's name: "Call" Uma Xu), where
    it comes from (``context``), why or what exactly (``detail``: the step's instruction, a
    task's title), when (``when``) and, for a manager, whose it is (``owner_name``)."""

    lead: Lead
    kind: str  # "task", "deadline" or "lead"
    verb: str = ""
    detail: str = ""
    context: str = ""
    when: str = ""
    owner_name: str = ""
    due_at: dt.datetime | None = None
    is_late: bool = False
    is_call: bool = False
    task: Task | None = None

    @property
    def action(self) -> str:
        return f"{self.verb} {self.lead.display_name()}".strip()

    @property
    def reason(self) -> str:
        """The row as one line of text (the parts a person reads, in order)."""
        parts = [self.action, self.context, self.when, self.detail, self.owner_name]
        return " · ".join(part for part in parts if part)


@dataclass(frozen=True)
class TodayGroup:
    key: str
    title: str
    items: list[TodayItem]
    n_total: int
    is_capped: bool = False  # ``n_total`` is a lower bound
    offset: int = 0

    @property
    def n_more(self) -> int:
        return max(self.n_total - self.offset - len(self.items), 0)

    @property
    def n_before(self) -> int:
        return self.offset


@dataclass(frozen=True)
class TodayList:
    groups: list[TodayGroup]
    page: int = 1
    focus: str | None = None  # the one group paged through, if any

    @property
    def items(self) -> list[TodayItem]:
        return [item for group in self.groups for item in group.items]

    @property
    def n_late(self) -> int:
        return sum(group.n_total for group in self.groups if group.key == GROUP_OVERDUE)

    def group(self, key: str) -> TodayGroup | None:
        return next((group for group in self.groups if group.key == key), None)


def parse_page(value: str | None) -> int:
    """A page number from the query string; anything but a positive integer is page 1."""
    try:
        page = int(value or 1)
    except ValueError:
        return 1
    return max(page, 1)


def parse_group(value: str | None) -> str | None:
    return value if value in GROUP_TITLES else None


# --- Wording -------------------------------------------------------------------------------


def _end_of_today(now: dt.datetime) -> dt.datetime:
    local = timezone.localtime(now)
    return timezone.make_aware(
        dt.datetime.combine(local.date() + dt.timedelta(days=1), dt.time.min), local.tzinfo
    )


def _when(moment: dt.datetime, now: dt.datetime) -> str:
    local, today = timezone.localtime(moment), timezone.localtime(now).date()
    if local.date() == today:
        return f"today {local:%H:%M}"
    if local.date() == today - dt.timedelta(days=1):
        return f"yesterday {local:%H:%M}"
    return f"{local:%d %b %Y %H:%M}"


def _owner_name(user: Any, owner: Any) -> str:
    if user.is_rep_role():
        return ""
    return str(owner) if owner is not None else "unassigned"


def _task_wording(task: Task) -> tuple[str, str, str]:
    """(verb, context, detail) of a task: "Call", "step 1 of Nurture", the step's
    instruction. A manual task says what to do in its title."""
    if task.enrolment_id is None:
        return "", "", task.title
    verb = CHANNEL_VERBS.get(str(task.channel), "Follow up with")
    cadence = task.enrolment.cadence.name if task.enrolment else ""
    if cadence and not cadence.casefold().endswith("cadence"):
        cadence = f"the {cadence} cadence"
    context = f"step {task.position} of {cadence}" if cadence else f"step {task.position}"
    # A removed step leaves its instruction in the title: "Call: Uma Xu — instruction".
    instruction = task.step.instruction if task.step else task.title.partition(" — ")[2]
    return verb, context, instruction


# --- Tasks and deadlines -----------------------------------------------------------------


def _count(rows: QuerySet[Any]) -> int:
    """How many, exact up to ``COUNT_LIMIT`` (``COUNT`` over ``LIMIT COUNT_LIMIT + 1``)."""
    return rows.order_by()[: COUNT_LIMIT + 1].count()


def _best_first(prefix: str, *then: str, n_rows: int) -> list[Any]:
    """Best rated first (unrated last), then ``then``, then id.

    How the database should get there depends on how many rows match, which the group's
    count just said: many (``COUNT_LIMIT`` or more) are dense among the leads, and walking
    the leads' rating index stops after a page; a few are found faster from their own side
    (due dates, owner) and sorted, which ``Coalesce`` (no index has it) makes the planner do.
    Ratings run 1..100, so 0 puts unrated leads last either way.
    """
    if n_rows > COUNT_LIMIT:
        return [F(f"{prefix}rating").desc(nulls_last=True), *then, "id"]
    return [Coalesce(f"{prefix}rating", 0).desc(), *then, "id"]


def _tasks(user: Any) -> QuerySet[Task]:
    tasks = Task.objects.filter(lead_scope_condition(user), status=TaskStatus.OPEN)
    if user.is_rep_role():
        tasks = tasks.filter(owner=user)
    return tasks


def _task_items(
    user: Any, tasks: QuerySet[Task], *, now: dt.datetime, limit: int, n_rows: int
) -> list[TodayItem]:
    if n_rows == 0:
        return []
    rows = tasks.select_related(
        "lead", "lead__company", "lead__owner", "owner", "step", "enrolment__cadence"
    ).order_by(*_best_first("lead__", "due_at", n_rows=n_rows))[:limit]
    items = []
    for task in rows:
        late = task.due_at < now
        verb, context, detail = _task_wording(task)
        state = "overdue since" if late else "due"
        items.append(
            TodayItem(
                lead=task.lead,
                kind=KIND_TASK,
                verb=verb,
                context=context,
                detail=detail,
                when=f"{state} {_when(task.due_at, now)}",
                owner_name=_owner_name(user, task.owner or task.lead.owner),
                due_at=task.due_at,
                is_late=late,
                is_call=task.channel == StepChannel.CALL,
                task=task,
            )
        )
    return items


def _deadlines(user: Any) -> QuerySet[LeadDeadline]:
    deadlines = LeadDeadline.objects.filter(lead_scope_condition(user), lead__outcome=Outcome.OPEN)
    deadlines = deadlines.exclude(lead__status=Status.DISQUALIFIED)
    if user.is_rep_role():
        deadlines = deadlines.filter(lead__owner=user)
    return deadlines


def _deadline_conditions(now: dt.datetime, until: dt.datetime) -> dict[str, Q]:
    waiting = Q(responded_at__isnull=True)
    answered = Q(responded_at__isnull=False)
    return {
        GROUP_OVERDUE: (waiting & Q(first_response_due__lt=now))
        | (answered & Q(next_touch_due__lt=now)),
        GROUP_TODAY: answered & Q(next_touch_due__gte=now, next_touch_due__lt=until),
        GROUP_ANSWER: waiting & Q(first_response_due__gte=now),
    }


def _deadline_items(
    user: Any, deadlines: QuerySet[LeadDeadline], *, now: dt.datetime, limit: int, n_rows: int
) -> list[TodayItem]:
    if n_rows == 0:
        return []
    rows = deadlines.select_related("lead", "lead__company", "lead__owner").order_by(
        *_best_first("lead__", "first_response_due", n_rows=n_rows)
    )[:limit]
    items = []
    for deadline in rows:
        if deadline.responded_at is None:
            due, verb, what = deadline.first_response_due, "Answer", "first response"
        else:
            assert deadline.next_touch_due is not None  # the groups' conditions
            due, verb, what = deadline.next_touch_due, "Follow up with", "next touch"
        late = due < now
        state = "missed, was due" if late else "due"
        when = f"{what} {state} {_when(due, now)}"
        if deadline.responded_at is None and not late and now >= deadline.at_risk_at:
            when += " (at risk)"
        items.append(
            TodayItem(
                lead=deadline.lead,
                kind=KIND_DEADLINE,
                verb=verb,
                context="new lead" if deadline.responded_at is None else "",
                detail=_lead_detail(deadline.lead, None),
                when=when,
                owner_name=_owner_name(user, deadline.lead.owner),
                due_at=due,
                is_late=late,
                is_call=bool(deadline.lead.phone),
            )
        )
    return items


def _merge(items: list[TodayItem], *, offset: int, limit: int) -> list[TodayItem]:
    """Tasks and deadlines of one group in one order: best rated first, then earliest due."""

    def key(item: TodayItem) -> tuple[Any, ...]:
        rating = item.lead.rating
        due = item.due_at.timestamp() if item.due_at else 0.0
        return (rating is None, -(rating or 0), due, item.kind, item.lead.pk)

    return sorted(items, key=key)[offset : offset + limit]


# --- Qualified leads -------------------------------------------------------------------------


def _changes(leads: list[Lead], *, now: dt.datetime) -> dict[int, str]:
    """What moved in each lead's score in the last days, from the score history (one query).

    A lead's first score is news only for a lead captured in those days: leads scored for
    the first time long after their capture (a demo just loaded, an old list imported, the
    first scorecard published) did not change, and say nothing.
    """
    if not leads:
        return {}
    lead_ids = [lead.pk for lead in leads]
    captured = {lead.pk: lead.created_at for lead in leads}
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
            if captured[lead_id] >= now - CHANGE_WINDOW:
                described[lead_id] = f"new lead, scored {_when(newest['at'], now)}"
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


def _lead_detail(lead: Lead, change: str | None) -> str:
    parts = [lead.get_status_display()]
    why = lead.horizon_reason or lead.status_reason
    if why:
        parts.append(why)
    if change:
        parts.append(change)
    return " · ".join(parts)


def _qualified_leads(user: Any, *, until: dt.datetime) -> QuerySet[Lead]:
    """Open short-range qualified leads with nothing listed above them (no open task due
    today or earlier, no running deadline, no next touch due today or earlier)."""
    leads = scope_leads_for_user(user).filter(
        status__in=TODAY_STATUSES, horizon=Horizon.SHORT, outcome=Outcome.OPEN
    )
    if user.is_rep_role():
        leads = leads.filter(owner=user)
    pending_task = Task.objects.filter(
        lead=OuterRef("pk"), status=TaskStatus.OPEN, due_at__lt=until
    )
    pending_deadline = LeadDeadline.objects.filter(lead=OuterRef("pk")).filter(
        Q(responded_at__isnull=True) | Q(next_touch_due__lt=until)
    )
    return leads.exclude(Exists(pending_task)).exclude(Exists(pending_deadline))


def _lead_group(
    user: Any, *, now: dt.datetime, until: dt.datetime, offset: int, limit: int
) -> TodayGroup:
    leads = _qualified_leads(user, until=until)
    n = _count(leads)
    rows = list(
        leads.select_related("owner", "company").order_by(*order_for("-rating"))[
            offset : offset + limit
        ]
    )
    changes = _changes(rows, now=now)
    items = [
        TodayItem(
            lead=lead,
            kind=KIND_LEAD,
            detail=_lead_detail(lead, changes.get(lead.pk)),
            owner_name=_owner_name(user, lead.owner),
            is_call=False,
        )
        for lead in rows
    ]
    return TodayGroup(
        key=GROUP_REST,
        title=GROUP_TITLES[GROUP_REST],
        items=items,
        n_total=min(n, COUNT_LIMIT),
        is_capped=n > COUNT_LIMIT,
        offset=offset,
    )


# --- Today -------------------------------------------------------------------------------


def list_today_for_user(
    user: Any, *, now: dt.datetime | None = None, group: str | None = None, page: int = 1
) -> TodayList:
    """The user's Today: every group's first ``GROUP_SIZE`` items, or, with ``group``, that
    group's ``page`` of ``PAGE_SIZE`` items. Queries: per work group a count and a page of
    its tasks and of its deadlines (the new leads to answer have no tasks), the qualified
    leads' count and page, their score history: 13 for the whole page."""
    now = now or timezone.now()
    until = _end_of_today(now)
    keys = (group,) if group in GROUP_TITLES else GROUPS
    limit = PAGE_SIZE if group in GROUP_TITLES else GROUP_SIZE
    offset = (page - 1) * PAGE_SIZE if group in GROUP_TITLES else 0
    task_conditions = {
        GROUP_OVERDUE: Q(due_at__lt=now),
        GROUP_TODAY: Q(due_at__gte=now, due_at__lt=until),
    }
    deadline_conditions = _deadline_conditions(now, until)
    tasks, deadlines = _tasks(user), _deadlines(user)

    groups = []
    for key in keys:
        if key == GROUP_REST:
            groups.append(_lead_group(user, now=now, until=until, offset=offset, limit=limit))
            continue
        items: list[TodayItem] = []
        n_total = 0
        if key in task_conditions:
            group_tasks = tasks.filter(task_conditions[key])
            n_tasks = _count(group_tasks)
            items += _task_items(user, group_tasks, now=now, limit=offset + limit, n_rows=n_tasks)
            n_total += n_tasks
        group_deadlines = deadlines.filter(deadline_conditions[key])
        n_deadlines = _count(group_deadlines)
        items += _deadline_items(
            user, group_deadlines, now=now, limit=offset + limit, n_rows=n_deadlines
        )
        n_total += n_deadlines
        groups.append(
            TodayGroup(
                key=key,
                title=GROUP_TITLES[key],
                items=_merge(items, offset=offset, limit=limit),
                n_total=min(n_total, COUNT_LIMIT),
                is_capped=n_total > COUNT_LIMIT,
                offset=offset,
            )
        )
    return TodayList(groups=groups, page=page, focus=group if group in GROUP_TITLES else None)
