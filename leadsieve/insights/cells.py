"""The funnel pre-counted per capture day (``FunnelCell``): a period's figures are the sum of
its days' cells, a few thousand rows instead of one row per lead.

A cell holds, for one day, one grouping value and one team (or all teams), the counts
``funnel.count_groups`` would make, the step durations as a histogram (hundredths of a day)
and the exits per reason. ``rebuild_days`` rebuilds whole days from ``LeadMilestones``; the
milestone refresh marks the days it touched (``DirtyCellDay``, in the same transaction) and
rebuilds them at the end of its run, and builds every day once when its backfill ends.

``can_use_cells`` says when a query can be answered from cells: a grouping other than segment,
no filter but the team, and a user who sees whole teams (admins, managers). Otherwise the
reports read ``LeadMilestones``; both give the same figures (tests/insights/test_cells.py).
"""

from __future__ import annotations

import datetime as dt
import json
import operator
from collections import Counter, defaultdict
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.db.models import Sum, TextField
from django.db.models.functions import Cast
from django.utils import timezone

from leadsieve.insights.dimensions import DIMENSIONS
from leadsieve.insights.models import DirtyCellDay, FunnelCell, LeadMilestones, MilestoneStream
from leadsieve.insights.tables import ReportQuery
from leadsieve.leads.services.bulk import db_json, insert_rows

ALL_TEAMS = 0
NO_TEAM = -1
CELLS_READY = "cells"
# Durations are kept (and shown) in hundredths of a day.
BUCKET_S = 864
STEP_COLUMNS = ("mql_at", "sql_at", "appointment_set_at", "appointment_held_at", "won_at")
STEP_KEYS = ("mql", "sql", "appointment_set", "appointment_held", "won")
DURATION_KEYS = ("capture_to_mql_s", "mql_to_sql_s", "sql_to_won_s", "capture_to_won_s")
CELL_DIMENSIONS = {name: d.column for name, d in DIMENSIONS.items() if name != "segment"}
EXIT_SEPARATOR = "\x1f"  # the unit separator (PostgreSQL's jsonb refuses NUL)
ROW_FIELDS = (
    "captured_at",
    "team_id",
    *STEP_COLUMNS,
    "disqualified_at",
    "lost_at",
    "exit_reason",
    "won_value",
    *DURATION_KEYS,
    *sorted(set(CELL_DIMENSIONS.values())),
)


def bucket(seconds: int) -> int:
    """A duration in hundredths of a day (the precision the reports show)."""
    return round(seconds / BUCKET_S)


def day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    start = timezone.make_aware(dt.datetime.combine(day, dt.time.min))
    return start, timezone.make_aware(dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min))


def capture_day(moment: dt.datetime) -> dt.date:
    return timezone.localtime(moment).date()


def _reached(row: dict[str, Any]) -> tuple[list[bool], list[bool]]:
    """Per step: reached at any time, reached strictly in order (``funnel.reached``)."""
    moments = [row[column] for column in STEP_COLUMNS]
    any_time = [any(m is not None for m in moments[i:]) for i in range(len(moments))]
    strict = []
    previous = row["captured_at"]
    still = True
    for moment in moments:
        still = still and moment is not None and moment >= previous
        strict.append(still)
        if moment is not None:
            previous = moment
    return any_time, strict


# A cell's counts, in this order: leads, reached any time (per step), strictly (per step),
# disqualified, lost.
COUNT_FIELDS = (
    "n_leads",
    *(f"any_{k}" for k in STEP_KEYS),
    *(f"strict_{k}" for k in STEP_KEYS),
    "n_disqualified",
    "n_lost",
)
CELL_COLUMNS = ("day", "team_key", "dimension", "value", *COUNT_FIELDS, "won_value")
JSON_COLUMNS = ("durations", "exits")


def _cell_values(rows: Iterable[dict[str, Any]], day: dt.date) -> list[dict[str, Any]]:
    """The cells of one day's milestone rows: one dict per (team, dimension, value) with the
    fields of ``FunnelCell``. What a lead adds (its counts, duration buckets, exits) is worked
    out once per lead, then added to each of its cells."""
    cells: dict[tuple[int, str, str], list[Any]] = {}
    dimensions = tuple(CELL_DIMENSIONS.items())
    add = operator.add
    for row in rows:
        any_time, strict = _reached(row)
        disqualified = row["disqualified_at"] is not None
        lost = row["lost_at"] is not None
        flags = (1, *any_time, *strict, disqualified, lost)
        won_value = row["won_value"]
        durations = [(key, str(bucket(row[key]))) for key in DURATION_KEYS if row[key] is not None]
        exits = []
        if disqualified:
            exits.append(f"Disqualified{EXIT_SEPARATOR}{row['exit_reason']}")
        if lost:
            exits.append(f"Lost{EXIT_SEPARATOR}{row['exit_reason']}")
        team = row["team_id"] if row["team_id"] is not None else NO_TEAM
        for dimension, column in dimensions:
            raw = row[column]
            value = "" if raw is None else str(raw)
            for team_key in (team, ALL_TEAMS):
                cell = cells.get((team_key, dimension, value))
                if cell is None:
                    cell = cells[(team_key, dimension, value)] = [
                        flags,
                        None,
                        defaultdict(Counter),
                        Counter(),
                    ]
                else:
                    cell[0] = tuple(map(add, cell[0], flags))
                if won_value is not None:
                    cell[1] = (cell[1] or Decimal(0)) + won_value
                for key, hundredths in durations:
                    cell[2][key][hundredths] += 1
                for exit_key in exits:
                    cell[3][exit_key] += 1
    found = []
    for (team_key, dimension, value), (counts, won, durations_of, exits_of) in cells.items():
        found.append(
            {
                "day": day,
                "team_key": team_key,
                "dimension": dimension,
                "value": value[:200],
                **dict(zip(COUNT_FIELDS, map(int, counts), strict=True)),
                "won_value": won,
                "durations": {k: dict(v) for k, v in durations_of.items()},
                "exits": dict(exits_of),
            }
        )
    return found


def _write_cells(cells: list[dict[str, Any]]) -> None:
    """Insert cells through the batch writer's ``insert_rows`` (COPY on PostgreSQL), with
    no model instance per cell: a day of a million-lead history has a thousand cells."""
    if not cells:
        return
    columns: dict[str, list[Any]] = {name: [cell[name] for cell in cells] for name in CELL_COLUMNS}
    columns["day"] = [connection.ops.adapt_datefield_value(day) for day in columns["day"]]
    for name in JSON_COLUMNS:
        columns[name] = [db_json(cell[name]) for cell in cells]
    insert_rows(FunnelCell, columns, None)


def rebuild_days(days: Iterable[dt.date]) -> int:
    """Rebuild the cells of ``days`` (one transaction per day); returns n cells written."""
    written = 0
    for day in sorted(set(days)):
        start, end = day_bounds(day)
        rows = LeadMilestones.objects.filter(captured_at__gte=start, captured_at__lt=end)
        cells = _cell_values(rows.values(*ROW_FIELDS).iterator(chunk_size=5000), day)
        with transaction.atomic():
            FunnelCell.objects.filter(day=day).delete()
            _write_cells(cells)
            DirtyCellDay.objects.filter(day=day).delete()
        written += len(cells)
    return written


def mark_days(days: Iterable[dt.date]) -> None:
    """Note days whose cells must be rebuilt (inside the milestones' transaction)."""
    DirtyCellDay.objects.bulk_create(
        [DirtyCellDay(day=day) for day in set(days)], ignore_conflicts=True
    )


def rebuild_dirty_days() -> int:
    return rebuild_days(DirtyCellDay.objects.values_list("day", flat=True))


def rebuild_all_cells() -> int:
    """Every day with a lead, from scratch; then the cells are ready to be read."""
    FunnelCell.objects.all().delete()
    first = LeadMilestones.objects.order_by("captured_at").values_list("captured_at", flat=True)
    last = LeadMilestones.objects.order_by("-captured_at").values_list("captured_at", flat=True)
    written = 0
    if first.exists():
        day, end = capture_day(first[0]), capture_day(last[0])
        days = []
        while day <= end:
            days.append(day)
            day += dt.timedelta(days=1)
        written = rebuild_days(days)
    DirtyCellDay.objects.all().delete()
    MilestoneStream.objects.update_or_create(name=CELLS_READY, defaults={"watermark": 1})
    return written


def cells_ready() -> bool:
    return MilestoneStream.objects.filter(name=CELLS_READY, watermark=1).exists()


def team_key_for(query: ReportQuery, user: Any) -> int | None:
    """The cells' team for this query and user, or None when cells cannot answer it."""
    filters = query.filter_map
    if set(filters) - {"team"} or query.by not in CELL_DIMENSIONS:
        return None
    team_filter: int | None = None
    if "team" in filters:
        if not filters["team"].isdigit():
            return None
        team_filter = int(filters["team"])
    if user is None or user.is_admin_role():
        return team_filter if team_filter is not None else ALL_TEAMS
    if user.is_manager_role() and user.team_id is not None:
        if team_filter is not None and team_filter != user.team_id:
            return None
        return int(user.team_id)
    return None


def can_use_cells(query: ReportQuery, user: Any) -> bool:
    return team_key_for(query, user) is not None and cells_ready()


def list_cells(query: ReportQuery, user: Any) -> Any:
    team_key = team_key_for(query, user)
    if team_key is None:
        return FunnelCell.objects.none()
    return FunnelCell.objects.filter(
        dimension=query.by,
        team_key=team_key,
        day__gte=query.date_from,
        day__lte=query.date_to,
    )


def cell_value(dimension: str, value: str) -> Any:
    """A cell's text value back as the milestone column's (ids as ints, blank as None)."""
    if DIMENSIONS[dimension].is_id:
        return int(value) if value else None
    return value


SUMS = {
    "n_leads": Sum("n_leads"),
    "n_disqualified": Sum("n_disqualified"),
    "n_lost": Sum("n_lost"),
    "won_value": Sum("won_value"),
}


def count_cell_groups(query: ReportQuery, user: Any, *, strict: bool) -> list[dict[str, Any]]:
    """``funnel.count_groups`` from the cells: one dict per (day or cohort, value)."""
    prefix = "strict" if strict else "any"
    sums = {**SUMS, **{f"n_{k}": Sum(f"{prefix}_{k}") for k in STEP_KEYS}}
    columns = ["value", "day"] if query.cohort else ["value"]
    found = []
    for row in list_cells(query, user).order_by().values(*columns).annotate(**sums):
        row["group"] = cell_value(query.by, row.pop("value"))
        row["cohort_start"] = row.pop("day", None)
        found.append(row)
    return found


def cell_durations_and_exits(
    query: ReportQuery, user: Any
) -> tuple[dict[Any, dict[str, Counter[int]]], dict[tuple[Any, str, str], int]]:
    """Per value: the duration histograms; per (value, exit, reason): leads."""
    durations: dict[Any, dict[str, Counter[int]]] = defaultdict(lambda: defaultdict(Counter))
    exits: Counter[tuple[Any, str, str]] = Counter()
    # The JSON as text, decoded in one call: a JSONField decodes each value apart (most of
    # the time of a year's cells).
    found = list(
        list_cells(query, user)
        .annotate(
            durations_text=Cast("durations", TextField()), exits_text=Cast("exits", TextField())
        )
        .values_list("value", "durations_text", "exits_text")
    )
    decoded = json.loads("[" + ",".join(f"{d or '{}'},{e or '{}'}" for _, d, e in found) + "]")
    for index, (value, _, _) in enumerate(found):
        histograms, reasons = decoded[2 * index], decoded[2 * index + 1]
        group = cell_value(query.by, value)
        for key, histogram in (histograms or {}).items():
            target = durations[group][key]
            for hundredths, n in histogram.items():
                target[int(hundredths)] += n
        for key, n in (reasons or {}).items():
            kind, _, reason = key.partition(EXIT_SEPARATOR)
            exits[(group, kind, reason)] += n
    return durations, dict(exits)
