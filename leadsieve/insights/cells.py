"""The funnel pre-counted per capture day (``FunnelCell``): a period's figures are the sum of
its days' cells, a few thousand rows instead of one row per lead.

A cell holds, for one day, one grouping value and one team (or all teams), the counts
``funnel.count_groups`` would make, the step durations as a histogram (hundredths of a day)
and the exits per reason. Every count is a sum over the day's milestone rows, so the cells are
kept current by difference: when the milestone refresh replaces a lead's row it takes away
what the old row counted and adds what the new one counts (``update_cells``), in the same
transaction and under the cells' lock, and touches the cells of that lead's day only. Its cost
follows the leads that changed, not the size of the day.

``rebuild_days`` rebuilds whole days from ``LeadMilestones``: the backfill builds every day
once when it ends (``rebuild_all_cells``); until then the refresh marks the days it touched
(``DirtyCellDay``) and they are rebuilt after the build. ``tests/insights/test_cells_delta.py``
checks that cells kept by difference equal a rebuild after random histories.

``can_use_cells`` says when a query can be answered from cells: a grouping other than segment,
no filter but the team, and a user who sees whole teams (admins, managers). Otherwise the
reports read ``LeadMilestones``; both give the same figures (tests/insights/test_cells.py).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import operator
from collections import Counter, defaultdict
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.db.models import Q, Sum, TextField
from django.db.models.functions import Cast
from django.utils import timezone

from leadsieve.insights.dimensions import DIMENSIONS
from leadsieve.insights.models import DirtyCellDay, FunnelCell, LeadMilestones, MilestoneStream
from leadsieve.insights.tables import ReportQuery
from leadsieve.leads.services.bulk import db_json, insert_rows

logger = logging.getLogger(__name__)

ALL_TEAMS = 0
NO_TEAM = -1
# ``owner_key``: every owner's leads (the team's or all teams' cells), the unowned leads of a
# team (what a rep sees besides their own), or one owner's leads in all teams.
ANY_OWNER = 0
NO_OWNER = -1
CELLS_READY = "cells"
# The advisory lock PostgreSQL's refreshes take to change the cells (any fixed number).
CELLS_LOCK_KEY = 0x18CE11
# Durations are kept (and shown) in hundredths of a day.
BUCKET_S = 864
STEP_COLUMNS = ("mql_at", "sql_at", "appointment_set_at", "appointment_held_at", "won_at")
STEP_KEYS = ("mql", "sql", "appointment_set", "appointment_held", "won")
DURATION_KEYS = ("capture_to_mql_s", "mql_to_sql_s", "sql_to_won_s", "capture_to_won_s")
CELL_DIMENSIONS = {name: d.column for name, d in DIMENSIONS.items() if name != "segment"}
CELL_COLUMN_NAMES = tuple(CELL_DIMENSIONS.values())
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
CELL_COLUMNS = (
    "day",
    "team_key",
    "owner_key",
    "dimension",
    "value",
    *COUNT_FIELDS,
    "won_value",
    "n_won_value",
)
JSON_COLUMNS = ("durations", "exits")

# A cell while it is summed: (day, team key, owner key, dimension, value) -> [counts (in
# COUNT_FIELDS' order), won value, leads with a won value, {duration key: {hundredths: leads}},
# {exit: leads}]. Hundredths are text, as in the stored JSON.
CellKey = tuple[dt.date, int, int, str, str]
CellSums = dict[CellKey, list[Any]]


def _contribution(row: dict[str, Any], day: dt.date | None) -> tuple[Any, ...]:
    """What one milestone row adds to its cells, as a hashable key: its day, team, grouping
    values, counts, won value, duration buckets and exits (not its lead or its moments)."""
    any_time, strict = _reached(row)
    disqualified = row["disqualified_at"] is not None
    lost = row["lost_at"] is not None
    flags = (1, *map(int, any_time), *map(int, strict), int(disqualified), int(lost))
    durations = tuple((key, str(bucket(row[key]))) for key in DURATION_KEYS if row[key] is not None)
    exits: tuple[str, ...] = ()
    if disqualified:
        exits += (f"Disqualified{EXIT_SEPARATOR}{row['exit_reason']}",)
    if lost:
        exits += (f"Lost{EXIT_SEPARATOR}{row['exit_reason']}",)
    values = tuple(
        "" if row[column] is None else str(row[column])[:200] for column in CELL_COLUMN_NAMES
    )
    return (
        day or capture_day(row["captured_at"]),
        row["team_id"] if row["team_id"] is not None else NO_TEAM,
        row["owner_id"],
        values,
        flags,
        row["won_value"],
        durations,
        exits,
    )


def _add_rows(
    cells: CellSums, rows: Iterable[dict[str, Any]], *, sign: int = 1, day: dt.date | None = None
) -> None:
    """Add (``sign`` 1) or take away (-1) what each milestone row counts in its cells: one
    cell per grouping value, in its team and in all teams, and in its owner's (all teams) or,
    unowned, its team's unowned leads' (what a rep sees: ``cell_scopes``). Rows that add
    the same thing (same day, team, owner, grouping values, steps, won value, duration
    buckets and exits: most of a capture batch) are counted first and added to their cells
    once, times their number.
    ``day``: the rows' capture day when the caller knows it (a day's rebuild)."""
    dimensions = tuple(CELL_DIMENSIONS)
    add = operator.add
    counted = Counter(_contribution(row, day) for row in rows)
    for (row_day, team, owner, values, flags, won_value, durations, exits), n in counted.items():
        scopes = (
            (team, ANY_OWNER),
            (ALL_TEAMS, ANY_OWNER),
            (team, NO_OWNER) if owner is None else (ALL_TEAMS, owner),
        )
        times = sign * n
        flags = tuple(times * flag for flag in flags)
        won = None if won_value is None else times * won_value
        for dimension, value in zip(dimensions, values, strict=True):
            for team_key, owner_key in scopes:
                key = (row_day, team_key, owner_key, dimension, value)
                cell = cells.get(key)
                if cell is None:
                    cell = cells[key] = [flags, None, 0, defaultdict(Counter), Counter()]
                else:
                    cell[0] = tuple(map(add, cell[0], flags))
                if won is not None:
                    cell[1] = (cell[1] or Decimal(0)) + won
                    cell[2] += times
                for key_, hundredths in durations:
                    cell[3][key_][hundredths] += times
                for exit_key in exits:
                    cell[4][exit_key] += times


def _cell_rows(cells: CellSums) -> list[dict[str, Any]]:
    """The summed cells as dicts with the fields of ``FunnelCell`` (zero entries left out)."""
    found = []
    for key, (counts, won, n_won, durations, exits) in cells.items():
        day, team_key, owner_key, dimension, value = key
        found.append(
            {
                "day": day,
                "team_key": team_key,
                "owner_key": owner_key,
                "dimension": dimension,
                "value": value,
                **dict(zip(COUNT_FIELDS, map(int, counts), strict=True)),
                "won_value": won if n_won else None,
                "n_won_value": n_won,
                "durations": {
                    k: {h: n for h, n in v.items() if n}
                    for k, v in durations.items()
                    if any(v.values())
                },
                "exits": {k: n for k, n in exits.items() if n},
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


def lock_cells() -> None:
    """Take the cells' writer lock until the transaction ends: a refresh reads the milestone
    rows it replaces and changes their cells under it, so two refreshes never both take away
    (or both add) one lead's figures. SQLite's transactions already hold the database's one
    writer lock from their start (``BEGIN IMMEDIATE``); PostgreSQL takes an advisory lock."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [CELLS_LOCK_KEY])


def rebuild_days(days: Iterable[dt.date]) -> int:
    """Rebuild the cells of ``days`` from their milestone rows, one transaction per day
    (under the cells' lock); returns n cells written."""
    written = 0
    for day in sorted(set(days)):
        start, end = day_bounds(day)
        with transaction.atomic():
            lock_cells()
            cells: CellSums = {}
            rows = LeadMilestones.objects.filter(captured_at__gte=start, captured_at__lt=end)
            _add_rows(cells, rows.values(*ROW_FIELDS).iterator(chunk_size=5000), day=day)
            found = _cell_rows(cells)
            FunnelCell.objects.filter(day=day).delete()
            _write_cells(found)
            DirtyCellDay.objects.filter(day=day).delete()
        written += len(found)
    return written


def mark_days(days: Iterable[dt.date]) -> None:
    """Note days whose cells must be rebuilt (inside the milestones' transaction)."""
    DirtyCellDay.objects.bulk_create(
        [DirtyCellDay(day=day) for day in set(days)], ignore_conflicts=True
    )


def rebuild_dirty_days() -> int:
    return rebuild_days(DirtyCellDay.objects.values_list("day", flat=True))


def rebuild_all_cells() -> int:
    """Every day with a lead, from scratch; then the cells are ready to be read. Days whose
    milestones changed meanwhile (marked, as while the cells are not ready) are rebuilt
    again once the flag is set."""
    with transaction.atomic():
        lock_cells()
        FunnelCell.objects.all().delete()
        DirtyCellDay.objects.all().delete()
        MilestoneStream.objects.filter(name=CELLS_READY).delete()
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
    with transaction.atomic():
        lock_cells()
        MilestoneStream.objects.update_or_create(name=CELLS_READY, defaults={"watermark": 1})
    return written + rebuild_dirty_days()


def _row_key(row: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(row[name] for name in ROW_FIELDS)


def _is_zero(cell: list[Any]) -> bool:
    counts, won, n_won, durations, exits = cell
    return (
        not any(counts)
        and not won
        and not n_won
        and not any(any(v.values()) for v in durations.values())
        and not any(exits.values())
    )


def update_cells(before: Iterable[dict[str, Any]], after: Iterable[dict[str, Any]]) -> int:
    """Move the day cells from milestone rows ``before`` to rows ``after`` (each a dict of
    ``ROW_FIELDS`` with ``lead_id``): what the old rows counted is taken away and what the new
    ones count added, in the cells of their days only. Call inside the transaction that
    replaces the rows, after ``lock_cells`` and with ``before`` read under it.

    Until the cells are ready (being built), the days are marked instead. A cell that would
    fall below zero (cells changed behind the refresh's back) gets its day rebuilt. Returns
    how many cells were written."""
    old = {row["lead_id"]: row for row in before}
    new = {row["lead_id"]: row for row in after}
    if not cells_ready():
        mark_days(capture_day(row["captured_at"]) for row in [*old.values(), *new.values()])
        return 0
    # A lead whose counted fields did not move changes no cell.
    for lead_id in [pk for pk, row in new.items() if pk in old]:
        if _row_key(old[lead_id]) == _row_key(new[lead_id]):
            del old[lead_id], new[lead_id]
    delta: CellSums = {}
    _add_rows(delta, old.values(), sign=-1)
    counted_before = set(delta)
    _add_rows(delta, new.values())
    delta = {key: cell for key, cell in delta.items() if not _is_zero(cell)}
    if not delta:
        return 0
    stored = {
        (day, team_key, owner_key, dimension, value): pk
        for pk, day, team_key, owner_key, dimension, value in FunnelCell.objects.filter(
            day__in={key[0] for key in delta}
        ).values_list("id", "day", "team_key", "owner_key", "dimension", "value")
    }
    ids = [stored[key] for key in delta if key in stored]
    merged: CellSums = _read_cells(ids)
    for key, (counts, won, n_won, durations, exits) in delta.items():
        cell = merged.get(key)
        if cell is None:
            merged[key] = [counts, won, n_won, durations, exits]
            continue
        cell[0] = tuple(map(operator.add, cell[0], counts))
        if won is not None:
            cell[1] = (cell[1] or Decimal(0)) + won
        cell[2] += n_won
        for name, histogram in durations.items():
            cell[3][name].update(histogram)
        cell[4].update(exits)
    # A row being replaced was counted in its cells: one missing is out of step too.
    broken = {key[0] for key in counted_before if key not in stored}
    broken |= {key[0] for key, cell in merged.items() if min(cell[0]) < 0 or cell[2] < 0}
    broken |= {
        key[0]
        for key, cell in merged.items()
        if any(n < 0 for v in cell[3].values() for n in v.values())
        or any(n < 0 for n in cell[4].values())
    }
    if broken:
        logger.warning("Day cells out of step with the milestones, rebuilt: %s", sorted(broken))
        mark_days(broken)
    rows = [row for row in _cell_rows(merged) if row["n_leads"] > 0 and row["day"] not in broken]
    FunnelCell.objects.filter(pk__in=ids).delete()
    _write_cells(rows)
    return len(rows)


def _read_cells(ids: list[int]) -> CellSums:
    """Stored cells by id, as sums (``CellSums``); their JSON decoded in one call."""
    found = list(
        FunnelCell.objects.filter(pk__in=ids)
        .annotate(
            durations_text=Cast("durations", TextField()), exits_text=Cast("exits", TextField())
        )
        .values_list(*CELL_COLUMNS, "durations_text", "exits_text")
    )
    decoded = json.loads("[" + ",".join(f"{r[-2] or '{}'},{r[-1] or '{}'}" for r in found) + "]")
    cells: CellSums = {}
    n_counts = len(COUNT_FIELDS)
    for index, row in enumerate(found):
        counts = tuple(row[5 : 5 + n_counts])
        won, n_won = row[5 + n_counts], row[6 + n_counts]
        durations: defaultdict[str, Counter[str]] = defaultdict(Counter)
        for name, histogram in (decoded[2 * index] or {}).items():
            durations[name].update(histogram)
        cells[(row[0], row[1], row[2], row[3], row[4])] = [
            counts,
            won,
            n_won,
            durations,
            Counter(decoded[2 * index + 1] or {}),
        ]
    return cells


def cells_ready() -> bool:
    return MilestoneStream.objects.filter(name=CELLS_READY, watermark=1).exists()


def cell_scopes(query: ReportQuery, user: Any) -> list[tuple[int, int]] | None:
    """The cells' (team key, owner key) pairs whose sums answer this query for this user,
    or None when cells cannot answer it: admins every team or the filtered one, managers
    their team, reps (and managers without a team) their own leads in all teams plus their
    team's unowned ones (``tables.report_scope``)."""
    filters = query.filter_map
    if set(filters) - {"team"} or query.by not in CELL_DIMENSIONS:
        return None
    team_filter: int | None = None
    if "team" in filters:
        if not filters["team"].isdigit():
            return None
        team_filter = int(filters["team"])
    if user is None or user.is_admin_role():
        return [(team_filter if team_filter is not None else ALL_TEAMS, ANY_OWNER)]
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return None
    if user.is_manager_role() and user.team_id is not None:
        if team_filter is not None and team_filter != user.team_id:
            return None
        return [(int(user.team_id), ANY_OWNER)]
    if team_filter is not None:
        return None  # one's own leads are kept for all teams only
    scopes = [(ALL_TEAMS, int(user.pk))]
    if not user.is_manager_role() and user.team_id is not None:
        scopes.append((int(user.team_id), NO_OWNER))
    return scopes


def can_use_cells(query: ReportQuery, user: Any) -> bool:
    return cell_scopes(query, user) is not None and cells_ready()


def list_cells(query: ReportQuery, user: Any) -> Any:
    scopes = cell_scopes(query, user)
    if scopes is None:
        return FunnelCell.objects.none()
    in_scope = Q()
    for team_key, owner_key in scopes:
        in_scope |= Q(team_key=team_key, owner_key=owner_key)
    return FunnelCell.objects.filter(
        in_scope,
        dimension=query.by,
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
    # Summed with their keys as text (as decoded), turned into numbers once per group.
    summed: dict[str, dict[str, Counter[str]]] = defaultdict(lambda: defaultdict(Counter))
    for index, (value, _, _) in enumerate(found):
        histograms, reasons = decoded[2 * index], decoded[2 * index + 1]
        if histograms:
            target = summed[value]
            for key, histogram in histograms.items():
                target[key].update(histogram)
        if reasons:
            group = cell_value(query.by, value)
            for key, n in reasons.items():
                kind, _, reason = key.partition(EXIT_SEPARATOR)
                exits[(group, kind, reason)] += n
    for value, histograms in summed.items():
        durations[cell_value(query.by, value)] = {
            key: Counter({int(hundredths): n for hundredths, n in histogram.items()})
            for key, histogram in histograms.items()
        }
    return durations, dict(exits)
