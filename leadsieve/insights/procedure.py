"""The procedure (consistency) table of the speed-to-lead page: per rep, leads handled,
response deadlines missed, cadence steps done/late/skipped/overdue, scorecard overrides and how
they turned out, pipeline stages skipped; and sentences naming where practice drifts.

The figures come from ``insights.consistency.rep_consistency`` and the team report's helpers
(``insights.drift``); two of them are read here instead, because the response-deadline
rows they used exist only for leads routed after the deadlines were switched on:

- leads handled: the leads captured in the period and given to the rep, from the milestones
  (first assignment, or the owner and ``assigned_at`` set on leads routing never saw);
- median first response: the speed table's rep time (working hours of the rep's calendar).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from leadsieve.accounts.models import Role, Team, User
from leadsieve.insights.consistency import rep_consistency
from leadsieve.insights.drift import (
    ReportRow,
    StageDrift,
    count_stage_drift,
    get_first_response_deadline,
    summarise_drift,
)
from leadsieve.insights.tables import Column, ReportQuery, ReportTable
from leadsieve.routing.deadlines import DEFAULT_FIRST_RESPONSE_HOURS

PROCEDURE_COLUMNS = (
    Column("rep", "Rep"),
    Column("n_handled", "Leads handled", "int"),
    Column("median_first_response_h", "First attempt, median (working h)", "hours"),
    Column("n_breaches", "Deadlines missed", "int"),
    Column("n_escalations", "Escalated", "int"),
    Column("steps_done", "Steps done", "int"),
    Column("steps_late", "Done late", "int"),
    Column("steps_skipped", "Skipped", "int"),
    Column("steps_open_overdue", "Overdue", "int"),
    Column("n_overrides", "Overrides", "int"),
    Column("overrides_right", "Proved right", "int"),
    Column("overrides_wrong", "Proved wrong", "int"),
    Column("stage_moves", "Stage moves", "int"),
    Column("stages_skipped", "Stage skipped", "int"),
    Column("stages_backward", "Moved back", "int"),
)
SUMMED = [c.key for c in PROCEDURE_COLUMNS[1:] if c.key != "median_first_response_h"]


def count_leads_handled(speed_frame: pd.DataFrame | None) -> dict[int, int]:
    """Leads captured in the period and given to each rep (the speed table's frame: the
    milestones' first assignment, or the owner set by hand on leads routing never saw)."""
    if speed_frame is None or not len(speed_frame):
        return {}
    assigned = speed_frame.dropna(subset=["rep_id", "assigned_at"])
    return {int(k): int(v) for k, v in assigned.groupby("rep_id").size().items()}


def procedure_users(query: ReportQuery, user: Any) -> tuple[Any, list[int] | None]:
    """The team whose people the table lists (``None``: everyone) and, when the reader may see
    only themselves (a rep, a manager without a team), their id."""
    if user is not None and (user.is_rep_role() or (user.is_manager_role() and not user.team_id)):
        return user.team, [user.pk]
    if user is not None and not user.is_admin_role():
        return user.team, None
    team_id = query.filter_map.get("team")
    return (Team.objects.filter(pk=int(team_id)).first() if team_id else None), None


def procedure_table(
    query: ReportQuery, user: Any, speed_frame: pd.DataFrame | None = None
) -> ReportTable:
    """One row per rep in the user's scope; ``speed_frame`` (``speed.add_durations``'s
    frame) gives each rep's median first response."""
    since, until = query.start(), query.end()
    team, only = procedure_users(query, user)
    consistency = rep_consistency(team=team, since=since, now=until, with_reasons=False)
    if only is not None:
        consistency = [row for row in consistency if row["rep_id"] in only]
    ids = [row["rep_id"] for row in consistency]
    handled = count_leads_handled(speed_frame)
    drift = count_stage_drift(ids, since=since)
    medians: dict[int, float] = {}
    if speed_frame is not None and len(speed_frame):
        grouped = speed_frame.dropna(subset=["rep_id", "response_min"]).groupby("rep_id")
        medians = {int(k): float(np.median(v)) / 60 for k, v in grouped["response_min"]}
    reps = set(User.objects.filter(pk__in=ids, role=Role.REP).values_list("pk", flat=True))
    report_rows: list[ReportRow] = []
    for row in consistency:
        median = medians.get(row["rep_id"])
        if median is not None:  # else the response-deadline rows' median, if any
            row = {**row, "median_first_response_h": round(median, 2)}
        report_rows.append(
            ReportRow(
                rep_id=row["rep_id"],
                rep=row["rep"],
                n_handled=handled.get(row["rep_id"], 0),
                consistency=row,
                drift=drift.get(row["rep_id"], StageDrift()),
            )
        )
    report_rows = sorted(
        (r for r in report_rows if r.rep_id in reps or r.n_handled or r.n_steps),
        key=lambda r: r.rep.casefold(),
    )
    rows = tuple(_plain(r) for r in report_rows)
    totals: dict[str, Any] = {"rep": "All reps"}
    for key in SUMMED:
        totals[key] = sum(int(row[key]) for row in rows)
    deadline = (
        get_first_response_deadline(team)
        if team is not None
        else DEFAULT_FIRST_RESPONSE_HOURS["short"]
    )
    return ReportTable(
        key="procedure",
        title="Procedure: does every rep follow it?",
        columns=PROCEDURE_COLUMNS,
        rows=rows,
        totals=totals,
        warnings=tuple(summarise_drift(report_rows, deadline_h=deadline)),
        notes=(
            "Leads handled: leads captured in the period and given to the rep (routing or "
            "owner set by hand). Deadlines missed and cadence steps from the response-deadline "
            "and cadence records; overrides are status changes a rep made against the "
            "scorecard, judged by the outcome.",
        ),
    )


def _plain(row: ReportRow) -> dict[str, Any]:
    c = row.consistency
    return {
        "rep": row.rep,
        "rep_id": row.rep_id,
        "n_handled": row.n_handled,
        "median_first_response_h": c["median_first_response_h"],
        "n_breaches": c["n_breaches"],
        "n_escalations": c["n_escalations"],
        "steps_done": c["steps_done"],
        "steps_late": c["steps_late"],
        "steps_skipped": c["steps_skipped"],
        "steps_open_overdue": c["steps_open_overdue"],
        "n_overrides": c["n_overrides"],
        "overrides_right": c["overrides_right"],
        "overrides_wrong": c["overrides_wrong"],
        "stage_moves": row.drift.n_moves,
        "stages_skipped": row.drift.n_skipped,
        "stages_backward": row.drift.n_backward,
    }
