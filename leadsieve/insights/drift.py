"""Where practice drifts, per rep: leads handled, the team's response deadline, stage drift,
the charts and the short sentences the speed-to-lead and procedure page shows above its
procedure table (this was the team page's consistency report).

Everything here reads; ``build_consistency_report`` runs a fixed number of queries
whatever the size of the team (the page's query-count test holds it to that).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import Count

from leadsieve.accounts.models import Role, Team, User
from leadsieve.insights.charts import BarChart, stacked_bars
from leadsieve.insights.consistency import RepRow, rep_consistency
from leadsieve.leads.models import Horizon
from leadsieve.routing.models import Assignment, SLAPolicy
from leadsieve.routing.sla import DEFAULT_FIRST_RESPONSE_HOURS
from leadsieve.stages.models import Stage, StageChange

PERIOD_DAYS = (30, 90, 180, 365)
DEFAULT_PERIOD_DAYS = 90
# A rep skipping more than this share of their cadence steps is called out.
SKIP_SHARE_WARNING = 0.25


@dataclass
class StageDrift:
    """Stage moves a rep made: in order, jumping over a stage, or back to an earlier one."""

    n_moves: int = 0
    n_skipped: int = 0
    n_backward: int = 0


@dataclass(frozen=True)
class ReportRow:
    rep_id: int
    rep: str
    n_handled: int
    consistency: RepRow
    drift: StageDrift

    @property
    def median_h(self) -> float | None:
        return self.consistency["median_first_response_h"]

    @property
    def n_steps(self) -> int:
        c = self.consistency
        return c["steps_done"] + c["steps_skipped"] + c["steps_open_overdue"]

    @property
    def disqualification_reasons(self) -> list[tuple[str, int]]:
        return list(self.consistency["disqualification_reasons"].items())


@dataclass(frozen=True)
class ConsistencyReport:
    team: Team
    since: datetime
    days: int
    deadline_h: float
    rows: list[ReportRow]
    totals: dict[str, int] = field(default_factory=dict)
    drifts: list[str] = field(default_factory=list)
    charts: list[BarChart] = field(default_factory=list)


def count_stage_drift(user_ids: list[int], *, since: datetime) -> dict[int, StageDrift]:
    """Per user: stage moves since ``since``, and how many skipped a stage or went back.

    Only moves between open stages count (closing a lead as won or lost from any stage is
    the procedure); order is the pipeline's ``position``.
    """
    rank = {
        pk: index
        for index, pk in enumerate(
            Stage.objects.filter(is_active=True, is_won=False, is_lost=False)
            .order_by("position", "id")
            .values_list("pk", flat=True)
        )
    }
    drift: dict[int, StageDrift] = defaultdict(StageDrift)
    moves = StageChange.objects.filter(user_id__in=user_ids, changed_at__gte=since)
    for user_id, from_id, to_id in moves.values_list("user_id", "from_stage_id", "to_stage_id"):
        found = drift[user_id]
        found.n_moves += 1
        if from_id in rank and to_id in rank:
            step = rank[to_id] - rank[from_id]
            if step > 1:
                found.n_skipped += 1
            elif step < 0:
                found.n_backward += 1
    return dict(drift)


def count_leads_handled(user_ids: list[int], *, since: datetime) -> dict[int, int]:
    """Leads assigned to each rep since ``since`` (reassignments to them count once more)."""
    return dict(
        Assignment.objects.filter(rep_id__in=user_ids, assigned_at__gte=since)
        .values("rep_id")
        .annotate(n=Count("id"))
        .values_list("rep_id", "n")
    )


def get_first_response_deadline(team: Team) -> float:
    """The team's short-range first-response deadline in working hours (the default if unset)."""
    hours = (
        SLAPolicy.objects.filter(team=team, horizon=Horizon.SHORT)
        .values_list("first_response_hours", flat=True)
        .first()
    )
    return float(hours) if hours is not None else DEFAULT_FIRST_RESPONSE_HOURS[Horizon.SHORT]


def _has_activity(row: ReportRow) -> bool:
    c = row.consistency
    return bool(
        row.n_handled
        or c["n_leads_with_sla"]
        or row.n_steps
        or c["n_overrides"]
        or row.drift.n_moves
        or c["disqualification_reasons"]
    )


def summarise_drift(rows: list[ReportRow], *, deadline_h: float) -> list[str]:
    """Plain sentences naming where a rep's practice departs from the team's procedure.

    Worst first within each kind: slow first responses, missed deadlines, skipped or
    overdue cadence steps, scorecard overrides the outcome proved wrong, skipped stages.
    """
    lines: list[str] = []
    slow = [r for r in rows if r.median_h is not None and r.median_h > deadline_h]
    for row in sorted(slow, key=lambda r: -(r.median_h or 0)):
        lines.append(
            f"{row.rep} answers new leads in {row.median_h:g} h (median), "
            f"over the {deadline_h:g} h deadline."
        )
    for row in sorted(rows, key=lambda r: -r.consistency["n_breaches"]):
        c = row.consistency
        if c["n_breaches"]:
            escalated = f" ({c['n_escalations']} escalated)" if c["n_escalations"] else ""
            lines.append(
                f"{row.rep} missed {_count(c['n_breaches'], 'response deadline')}{escalated}."
            )
    for row in rows:
        c = row.consistency
        if row.n_steps and c["steps_skipped"] / row.n_steps > SKIP_SHARE_WARNING:
            lines.append(f"{row.rep} skipped {c['steps_skipped']} of {row.n_steps} cadence steps.")
        if c["steps_open_overdue"]:
            overdue = _count(c["steps_open_overdue"], "cadence step")
            lines.append(f"{row.rep} has {overdue} overdue.")
        if c["overrides_wrong"] > c["overrides_right"]:
            lines.append(
                f"{row.rep} overrode the scorecard {_times(c['n_overrides'])}; the outcome "
                f"proved the scorecard right {_times(c['overrides_wrong'])}, the rep "
                f"{_times(c['overrides_right'])}."
            )
        if row.drift.n_skipped or row.drift.n_backward:
            did = []
            if row.drift.n_skipped:
                did.append(f"skipped a pipeline stage {_times(row.drift.n_skipped)}")
            if row.drift.n_backward:
                did.append(f"moved a lead back {_times(row.drift.n_backward)}")
            lines.append(
                f"{row.rep} {' and '.join(did)} (of {_count(row.drift.n_moves, 'stage move')})."
            )
    return lines


def _times(n: int) -> str:
    return {0: "never", 1: "once", 2: "twice"}.get(n, f"{n} times")


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


TOTALLED = (
    "n_leads_with_sla",
    "n_responded",
    "n_breaches",
    "n_escalations",
    "steps_done",
    "steps_late",
    "steps_skipped",
    "steps_open_overdue",
    "n_overrides",
    "overrides_right",
    "overrides_wrong",
    "overrides_pending",
)


def _charts(rows: list[ReportRow], *, deadline_h: float) -> list[BarChart]:
    names = [row.rep for row in rows]
    return [
        stacked_bars(
            chart_id="response",
            title="Median first response, hours",
            description=(
                f"Median hours from assignment to the first call, email or meeting, per rep; "
                f"the line marks the team's {deadline_h:g} h deadline (working hours). "
                "The table below gives every number."
            ),
            rows=[(n, [r.median_h]) for n, r in zip(names, rows, strict=True)],
            series=[("Median first response", "response")],
            unit=" h",
            marker=deadline_h,
            marker_label=f"deadline {deadline_h:g} h",
            empty_text="no answer yet",
        ),
        stacked_bars(
            chart_id="steps",
            title="Cadence steps",
            description=(
                "Cadence steps per rep: done on time, done late, skipped, and still open past "
                "their due moment. The table below gives every number."
            ),
            rows=[
                (
                    n,
                    [
                        r.consistency["steps_done"] - r.consistency["steps_late"],
                        r.consistency["steps_late"],
                        r.consistency["steps_skipped"],
                        r.consistency["steps_open_overdue"],
                    ],
                )
                for n, r in zip(names, rows, strict=True)
            ],
            series=[
                ("On time", "ok"),
                ("Late", "late"),
                ("Skipped", "skipped"),
                ("Overdue", "overdue"),
            ],
        ),
        stacked_bars(
            chart_id="overrides",
            title="Scorecard overrides and how they turned out",
            description=(
                "Status overrides per rep: proved right by the outcome, proved wrong, and "
                "still open. The table below gives every number."
            ),
            rows=[
                (
                    n,
                    [
                        r.consistency["overrides_right"],
                        r.consistency["overrides_wrong"],
                        r.consistency["overrides_pending"],
                    ],
                )
                for n, r in zip(names, rows, strict=True)
            ],
            series=[("Right", "ok"), ("Wrong", "overdue"), ("Pending", "pending")],
        ),
        stacked_bars(
            chart_id="stages",
            title="Pipeline stage moves",
            description=(
                "Stage moves per rep: to the next stage, jumping over a stage, and back to an "
                "earlier stage. The table below gives every number."
            ),
            rows=[
                (
                    n,
                    [
                        r.drift.n_moves - r.drift.n_skipped - r.drift.n_backward,
                        r.drift.n_skipped,
                        r.drift.n_backward,
                    ],
                )
                for n, r in zip(names, rows, strict=True)
            ],
            series=[("In order", "ok"), ("Skipped a stage", "late"), ("Moved back", "overdue")],
        ),
    ]


def build_consistency_report(
    team: Team, *, now: datetime, days: int = DEFAULT_PERIOD_DAYS
) -> ConsistencyReport:
    """The team's reps (and anyone else on the team with work in the period), by name."""
    since = now - timedelta(days=days)
    consistency = rep_consistency(team=team, since=since, now=now)
    ids = [row["rep_id"] for row in consistency]
    handled = count_leads_handled(ids, since=since)
    drift = count_stage_drift(ids, since=since)
    reps = set(User.objects.filter(pk__in=ids, role=Role.REP).values_list("pk", flat=True))
    rows = [
        ReportRow(
            rep_id=row["rep_id"],
            rep=row["rep"],
            n_handled=handled.get(row["rep_id"], 0),
            consistency=row,
            drift=drift.get(row["rep_id"], StageDrift()),
        )
        for row in consistency
    ]
    rows = sorted(
        (r for r in rows if r.rep_id in reps or _has_activity(r)), key=lambda r: r.rep.casefold()
    )
    deadline_h = get_first_response_deadline(team)
    totals = {
        name: sum(int(r.consistency[name]) for r in rows)  # type: ignore[literal-required,misc]
        for name in TOTALLED
    }
    totals["n_handled"] = sum(r.n_handled for r in rows)
    return ConsistencyReport(
        team=team,
        since=since,
        days=days,
        deadline_h=deadline_h,
        rows=rows,
        totals=totals,
        drifts=summarise_drift(rows, deadline_h=deadline_h),
        charts=_charts(rows, deadline_h=deadline_h) if rows else [],
    )
