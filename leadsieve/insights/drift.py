"""Where practice drifts, per rep: the team's response deadline, stage drift and the short
sentences the speed-to-lead page shows above its procedure table (this was the team page's
consistency report).

Everything here reads; ``insights.procedure`` builds the table from these pieces.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from leadsieve.accounts.models import Team
from leadsieve.insights.consistency import RepRow
from leadsieve.leads.models import Horizon
from leadsieve.routing.deadlines import DEFAULT_FIRST_RESPONSE_HOURS
from leadsieve.routing.models import DeadlinePolicy
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


def get_first_response_deadline(team: Team) -> float:
    """The team's short-range first-response deadline in working hours (the default if unset)."""
    hours = (
        DeadlinePolicy.objects.filter(team=team, horizon=Horizon.SHORT)
        .values_list("first_response_hours", flat=True)
        .first()
    )
    return float(hours) if hours is not None else DEFAULT_FIRST_RESPONSE_HOURS[Horizon.SHORT]


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
