"""Rescoring many leads: read as frames, scored in one engine call, written back set-based.

Frames are read with raw SQL (``frames.py``), the engine scores the whole batch in one call,
and the results go back in one set-based UPDATE (a temporary table joined with
``UPDATE ... FROM``), so a million leads never become a million ORM objects.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
from django.db import connection, transaction
from django.db.models import Count, Max, Min
from django.utils import timezone

from leadsieve.leads.models import Lead, Outcome
from leadsieve.scoring.checkpoints import checkpoints_between_batches
from leadsieve.scoring.frames import activity_columns, activity_columns_between, lead_columns
from leadsieve.scoring.history import write_history
from leadsieve.scoring.merging import (
    STATE_FIELDS,
    WRITTEN_COLUMNS,
    LeadColumns,
    NewScores,
    engine_columns,
    merge_scores,
    score_leads,
)
from leadsieve.scoring.queries import ActiveScoring, get_active_scoring

SMALL_WRITE = 500


@dataclass(frozen=True)
class RescoreResult:
    """What a rescoring pass did (the command prints it; tests assert on it)."""

    n_scored: int
    n_status_changed: int
    n_snapshots: int
    seconds: float


def _write_scores(new: NewScores, *, scored_at: datetime, scorecard_number: int) -> None:
    """Write the score columns of every row of ``new`` (indexed by lead id) in one statement.

    Small sets use one UPDATE per lead naming only the columns whose value moved (cheapest
    below a few hundred rows); larger ones load a temporary table and run one
    ``UPDATE ... FROM`` (SQLite ≥ 3.33 and PostgreSQL alike). A ``None`` status reason keeps
    the stored one (a person's reason for a manual status).
    """
    if not len(new.ids):
        return
    table = connection.ops.quote_name(Lead._meta.db_table)
    stamp = connection.ops.adapt_datetimefield_value(scored_at)
    ids = new.ids.tolist()
    columns = [new.columns[c].tolist() for c in WRITTEN_COLUMNS]
    with connection.cursor() as cursor:
        if len(ids) <= SMALL_WRITE:
            _write_moved_columns(cursor, table, new, columns, stamp, scorecard_number)
            return
        rows = list(zip(*columns, ids, strict=True))
        _write_through_temp_table(cursor, table, rows, stamp, scorecard_number)


def _assignment(column: str) -> str:
    return f"{column} = COALESCE(%s, {column})" if column == "status_reason" else f"{column} = %s"


def _write_moved_columns(
    cursor: Any,  # Any: Django's cursor wrapper (sqlite3 or psycopg underneath)
    table: str,
    new: NewScores,
    columns: list[list[Any]],  # Any: one list of plain values per written column
    scored_at: Any,  # Any: the backend's adapted datetime
    scorecard_number: int,
) -> None:
    """One UPDATE per lead setting the moved columns, ``scored_at`` and the version; leads
    with the same moved columns share one statement (``executemany``)."""
    moved = np.column_stack([new.moved[c] for c in WRITTEN_COLUMNS])
    statements: dict[tuple[int, ...], list[tuple[Any, ...]]] = {}
    for i, lead_id in enumerate(new.ids.tolist()):
        which = tuple(np.flatnonzero(moved[i]).tolist())
        values = [columns[j][i] for j in which]
        statements.setdefault(which, []).append((*values, scored_at, scorecard_number, lead_id))
    for which, params in statements.items():
        sets = "".join(f"{_assignment(WRITTEN_COLUMNS[j])}, " for j in which)
        cursor.executemany(
            f"UPDATE {table} SET {sets}scored_at = %s, scorecard_version = %s WHERE id = %s",
            params,
        )


TEMP_TABLE = "scoring_new_scores"
TEMP_COLUMNS = (
    "rating integer, rating_source varchar(10), fit_points double precision, "
    "fit_grade varchar(1), interest_points double precision, readiness_points double precision, "
    "horizon varchar(5), horizon_reason varchar(300), status varchar(14), "
    "status_reason varchar(300), id bigint primary key"
)


def _write_through_temp_table(
    cursor: Any,  # Any: Django's cursor wrapper (sqlite3 or psycopg underneath)
    table: str,
    rows: list[tuple[Any, ...]],  # Any: one row of mixed column values
    scored_at: Any,  # Any: the backend's adapted datetime
    scorecard_number: int,
) -> None:
    cursor.execute(f"DROP TABLE IF EXISTS {TEMP_TABLE}")
    cursor.execute(f"CREATE TEMPORARY TABLE {TEMP_TABLE} ({TEMP_COLUMNS})")
    placeholders = ", ".join(["%s"] * (len(WRITTEN_COLUMNS) + 1))
    if connection.vendor == "postgresql":
        with cursor.cursor.copy(f"COPY {TEMP_TABLE} FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
    else:
        cursor.executemany(f"INSERT INTO {TEMP_TABLE} VALUES ({placeholders})", rows)
    assignments = ", ".join(
        f"{c} = COALESCE(t.status_reason, {table}.status_reason)"
        if c == "status_reason"
        else f"{c} = t.{c}"
        for c in WRITTEN_COLUMNS
    )
    cursor.execute(
        f"UPDATE {table} SET {assignments}, scored_at = %s, scorecard_version = %s "
        f"FROM {TEMP_TABLE} AS t WHERE {table}.id = t.id",
        [scored_at, scorecard_number],
    )
    cursor.execute(f"DROP TABLE {TEMP_TABLE}")


def _rescore_frame(
    frame: LeadColumns,
    activities: LeadColumns | None,
    active: ActiveScoring,
    *,
    as_of: datetime,
    explain_later: bool = False,
    id_range: tuple[int, int] | None = None,
) -> tuple[int, int]:
    """Score, write back, record history. With ``id_range`` (whole-table rescoring) only the
    leads whose stored score changed are rewritten; ``scored_at`` and ``scorecard_version``
    of the rest are set by one range UPDATE (far cheaper than rewriting every column)."""
    if not len(frame["id"]):
        return 0, 0
    scores = score_leads(frame, activities, active, as_of=as_of)
    new = merge_scores(frame, scores)
    if id_range is None:
        _write_scores(new, scored_at=as_of, scorecard_number=active.scorecard_number)
    else:
        _write_scores(
            new.select(new.changed), scored_at=as_of, scorecard_number=active.scorecard_number
        )
        if not new.changed.all():  # a first pass rewrote every lead of the range already
            _touch_range(id_range, scored_at=as_of, scorecard_number=active.scorecard_number)
    return write_history(new, frame, activities, active, at=as_of, explain_later=explain_later)


def _touch_range(id_range: tuple[int, int], *, scored_at: datetime, scorecard_number: int) -> None:
    """Mark every open, unmerged lead with an id in the range as scored now."""
    Lead.objects.filter(
        id__gte=id_range[0],
        id__lte=id_range[1],
        outcome=Outcome.OPEN,
        merged_into__isnull=True,
    ).update(scored_at=scored_at, scorecard_version=scorecard_number)


@transaction.atomic
def rescore_leads(
    lead_ids: Iterable[int], *, as_of: datetime | None = None, explain_later: bool = False
) -> RescoreResult:
    """Score the given leads with the active scorecard (and model) and store the result.

    Writes ``Lead.rating/rating_source/fit_*/interest_points/readiness_points/horizon*/
    status*/scored_at/scorecard_version``, keeps manual overrides, writes a ``ScoreSnapshot``
    per lead whose status, fit grade, horizon or rating band moved and a ``LeadChange``
    (``status_scored``) per status the scorecard moved. Merged leads are skipped.
    ``explain_later`` leaves the snapshots' reasons to a background task (event rescoring).
    """
    started = time.perf_counter()
    when = as_of or timezone.now()
    active = get_active_scoring()
    leads = lead_columns(
        lead_ids, extra=(*STATE_FIELDS, "merged_into_id"), only=engine_columns(active)
    )
    unmerged = pd.isna(np.asarray(leads.pop("merged_into_id")))
    if not unmerged.all():
        leads = {name: values[unmerged] for name, values in leads.items()}
    ids = leads["id"]
    activities = activity_columns(ids.tolist(), until=when) if len(ids) else None
    n_status, n_snapshots = _rescore_frame(
        leads, activities, active, as_of=when, explain_later=explain_later
    )
    return RescoreResult(len(ids), n_status, n_snapshots, time.perf_counter() - started)


def rescore_all(
    *, batch_size: int = 50_000, progress: bool = True, as_of: datetime | None = None
) -> RescoreResult:
    """Rescore every open, unmerged lead in id-range batches (one transaction per batch).

    Batches are ranges of ``batch_size`` ids, so reading needs no id list and each
    transaction stays short; a crash leaves earlier batches scored and later ones untouched
    (nothing half-written). On SQLite each batch's WAL pages are checkpointed back into the
    database by a background thread while the next batch is read and scored
    (``checkpoints``); the pass waits for the last one, and empties the log, before it
    returns.
    """
    started = time.perf_counter()
    when = as_of or timezone.now()
    active = get_active_scoring()
    with _large_sqlite_cache():
        n_scored, n_status, n_snapshots = _rescore_batches(
            active, when, batch_size=batch_size, progress=progress
        )
    return RescoreResult(n_scored, n_status, n_snapshots, time.perf_counter() - started)


@contextmanager
def _large_sqlite_cache() -> Iterator[None]:
    """On SQLite, a 256 MiB page cache and in-memory temporary tables for the pass (the
    defaults, 2 MiB and a temporary file, make each batch's UPDATE ... FROM and index
    maintenance re-read pages); restored afterwards. PostgreSQL is left as configured."""
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA cache_size")
        cache_size = int(cursor.fetchone()[0])
        cursor.execute("PRAGMA temp_store")
        temp_store = int(cursor.fetchone()[0])
        cursor.execute("PRAGMA cache_size = -262144")
        cursor.execute("PRAGMA temp_store = MEMORY")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA cache_size = {cache_size}")
            cursor.execute(f"PRAGMA temp_store = {temp_store}")


def _rescore_batches(
    active: ActiveScoring, when: datetime, *, batch_size: int, progress: bool
) -> tuple[int, int, int]:
    from tqdm import tqdm

    open_leads = Lead.objects.filter(outcome=Outcome.OPEN, merged_into__isnull=True)
    bounds = open_leads.aggregate(low=Min("id"), high=Max("id"), n=Count("id"))
    n_scored = n_status = n_snapshots = 0
    bar = tqdm(total=bounds["n"], unit="lead", disable=not progress, smoothing=0.1)
    with checkpoints_between_batches() as after_commit:
        for first in range(bounds["low"] or 0, (bounds["high"] or -1) + 1, batch_size):
            last = first + batch_size - 1
            with transaction.atomic():
                batch = open_leads.filter(id__gte=first, id__lte=last)
                leads = lead_columns(batch, extra=STATE_FIELDS, only=engine_columns(active))
                activities = activity_columns_between(first, last)
                moved, snaps = _rescore_frame(
                    leads, activities, active, as_of=when, id_range=(first, last)
                )
            after_commit()
            n_scored += len(leads["id"])
            n_status += moved
            n_snapshots += snaps
            bar.update(len(leads["id"]))
    bar.close()
    return n_scored, n_status, n_snapshots
