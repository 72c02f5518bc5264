"""The consistency report: does every rep follow the one procedure?

Per rep and per team: time to first response, missed deadlines, cadence steps done /
skipped / late, disqualification reasons, and how often a rep overrode the scorecard's
status (``LeadChange`` action ``status_override``) and whether the outcome proved them
right. Functions return plain data (TypedDicts) for the UI to chart; no HTML here.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime, timedelta
from statistics import median
from typing import Any, TypedDict

from django.db.models import Q
from django.utils import timezone

from leadsieve.accounts.models import User
from leadsieve.cadences.models import Task, TaskStatus
from leadsieve.leads.models import Lead, LeadChange, Outcome, Status
from leadsieve.routing.models import BreachLevel, DeadlineBreach, LeadDeadline

OVERRIDE_ACTION = "status_override"
# A task done within this long after its due moment is on time.
LATE_GRACE = timedelta(hours=24)
# Statuses that say "worth pursuing": an override up to one is right if the lead was won.
PURSUE = frozenset({Status.MQL, Status.SQL, Status.WORKING, Status.CONVERTED})


class RepRow(TypedDict):
    rep_id: int
    rep: str
    team_id: int | None
    n_leads_with_deadline: int
    n_responded: int
    median_first_response_h: float | None
    n_breaches: int
    n_escalations: int
    steps_done: int
    steps_skipped: int
    steps_late: int
    steps_open_overdue: int
    disqualification_reasons: dict[str, int]
    n_overrides: int
    overrides_right: int
    overrides_wrong: int
    overrides_pending: int


def _empty(user: User) -> RepRow:
    return RepRow(
        rep_id=user.pk,
        rep=str(user),
        team_id=user.team_id,
        n_leads_with_deadline=0,
        n_responded=0,
        median_first_response_h=None,
        n_breaches=0,
        n_escalations=0,
        steps_done=0,
        steps_skipped=0,
        steps_late=0,
        steps_open_overdue=0,
        disqualification_reasons={},
        n_overrides=0,
        overrides_right=0,
        overrides_wrong=0,
        overrides_pending=0,
    )


def judge_override(new_status: str, outcome: str) -> str:
    """``right``, ``wrong`` or ``pending`` for an override to ``new_status`` given the outcome.

    Pushing a lead up (MQL/SQL/working) is right if it was won, wrong if lost; pushing it
    down (new/disqualified) is right if it was lost, wrong if it was won anyway.
    """
    if outcome == Outcome.OPEN:
        return "pending"
    won = outcome == Outcome.WON
    return "right" if (new_status in PURSUE) == won else "wrong"


def rep_consistency(
    *,
    team: Any = None,
    since: datetime | None = None,
    now: datetime | None = None,
    with_reasons: bool = True,
) -> list[RepRow]:
    """One row per rep (of ``team`` if given), over work started since ``since``.
    ``with_reasons=False`` leaves the disqualification reasons out (a scan of every
    disqualified lead of the reps: the procedure table does not show them)."""
    now = now or timezone.now()
    since = since or now - timedelta(days=90)
    users = User.objects.filter(is_active=True)
    if team is not None:
        users = users.filter(team=team)
    rows = {u.pk: _empty(u) for u in users}
    ids = list(rows)

    hours: dict[int, list[float]] = defaultdict(list)
    for owner_id, started, responded in LeadDeadline.objects.filter(
        owner_id__in=ids, started_at__gte=since
    ).values_list("owner_id", "started_at", "responded_at"):
        rows[owner_id]["n_leads_with_deadline"] += 1
        if responded is not None:
            rows[owner_id]["n_responded"] += 1
            hours[owner_id].append((responded - started).total_seconds() / 3600)
    for owner_id, values in hours.items():
        rows[owner_id]["median_first_response_h"] = round(median(values), 2)

    for owner_id, level in DeadlineBreach.objects.filter(
        owner_id__in=ids, created_at__gte=since
    ).values_list("owner_id", "level"):
        if level == BreachLevel.NOTIFY_OWNER:
            rows[owner_id]["n_breaches"] += 1
        elif level == BreachLevel.ESCALATE:
            rows[owner_id]["n_escalations"] += 1

    tasks = Task.objects.filter(owner_id__in=ids, due_at__gte=since, enrolment__isnull=False)
    for owner_id, status, due, done in tasks.values_list(
        "owner_id", "status", "due_at", "completed_at"
    ):
        row = rows[owner_id]
        if status == TaskStatus.DONE:
            row["steps_done"] += 1
            if done is not None and done > due + LATE_GRACE:
                row["steps_late"] += 1
        elif status == TaskStatus.SKIPPED:
            row["steps_skipped"] += 1
        elif due + LATE_GRACE < now:
            row["steps_open_overdue"] += 1

    reasons: dict[int, Counter[str]] = defaultdict(Counter)
    disqualified = Lead.objects.filter(
        owner_id__in=ids if with_reasons else [], status=Status.DISQUALIFIED, updated_at__gte=since
    )
    for owner_id, reason in disqualified.values_list("owner_id", "status_reason"):
        reasons[owner_id][reason or "(no reason given)"] += 1
    for owner_id, counts in reasons.items():
        rows[owner_id]["disqualification_reasons"] = dict(counts.most_common())

    overrides = LeadChange.objects.filter(
        action=OVERRIDE_ACTION, user_id__in=ids, changed_at__gte=since
    ).values_list("user_id", "changes", "lead__outcome")
    for user_id, changes, outcome in overrides:
        pair = (changes or {}).get("status")
        new_status = pair[-1] if isinstance(pair, list) and pair else ""
        verdict = judge_override(str(new_status), outcome)
        rows[user_id]["n_overrides"] += 1
        rows[user_id][f"overrides_{verdict}"] += 1  # type: ignore[literal-required]
    return list(rows.values())


class TeamRow(TypedDict):
    team_id: int | None
    n_reps: int
    n_leads_with_deadline: int
    n_responded: int
    n_breaches: int
    n_escalations: int
    steps_done: int
    steps_skipped: int
    steps_late: int
    steps_open_overdue: int
    n_overrides: int
    overrides_right: int
    overrides_wrong: int
    disqualification_reasons: dict[str, int]


SUMMED = (
    "n_leads_with_deadline",
    "n_responded",
    "n_breaches",
    "n_escalations",
    "steps_done",
    "steps_skipped",
    "steps_late",
    "steps_open_overdue",
    "n_overrides",
    "overrides_right",
    "overrides_wrong",
)


def team_consistency(
    *, since: datetime | None = None, now: datetime | None = None
) -> list[TeamRow]:
    """The rep rows summed per team (reps without a team under ``team_id=None``)."""
    teams: dict[int | None, dict[str, Any]] = {}
    for row in rep_consistency(since=since, now=now):
        team = teams.setdefault(
            row["team_id"],
            {"team_id": row["team_id"], "n_reps": 0, "disqualification_reasons": Counter()},
        )
        team["n_reps"] += 1
        for name in SUMMED:
            team[name] = team.get(name, 0) + row[name]  # type: ignore[literal-required]
        team["disqualification_reasons"].update(row["disqualification_reasons"])
    for team in teams.values():
        team["disqualification_reasons"] = dict(team["disqualification_reasons"].most_common())
    return [TeamRow(**team) for team in teams.values()]  # type: ignore[typeddict-item]


def count_open_overdue_tasks(user: Any, *, now: datetime | None = None) -> int:
    """Open cadence tasks of ``user`` past their due moment (the Today list's red badge)."""
    now = now or timezone.now()
    return Task.objects.filter(Q(owner=user), status=TaskStatus.OPEN, due_at__lt=now).count()
