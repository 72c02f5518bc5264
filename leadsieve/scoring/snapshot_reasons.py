"""Snapshot reasons filled later: the "why" of scores that event rescoring stored without it.

Event rescoring (a capture, an activity) stores each new snapshot ``reasons_pending`` and
asks for ``request_snapshot_reasons`` on commit; one task run at a time explains them, a
batch per short transaction. The tick's ``request_snapshot_reasons_if_pending`` is the
safety net for a run that failed. The task lives here, with the work it runs, so the
modules that queue it (rescoring) need not import the module that rescores (``tasks``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import pandas as pd
from django.db import connection, transaction
from django_tasks import task

from leadsieve.background import MAINTENANCE_PRIORITY, enqueue_unless_waiting
from leadsieve.engine.scorecard import Scorecard
from leadsieve.scoring.frames import activity_columns, lead_columns
from leadsieve.scoring.history import reasons_json
from leadsieve.scoring.models import ScorecardVersion, ScoreSnapshot

logger = logging.getLogger(__name__)


def request_snapshot_reasons() -> bool:
    """Queue the filling of pending snapshot reasons, unless a run of it already waits;
    returns whether this call queued one."""
    return enqueue_unless_waiting(fill_pending_snapshot_reasons_task)


def request_snapshot_reasons_if_pending() -> bool:
    """``request_snapshot_reasons`` when a snapshot still waits for its reasons (the tick's
    safety net: a run that failed on an error leaves its batch pending)."""
    if not ScoreSnapshot.objects.filter(reasons_pending=True).exists():
        return False
    return request_snapshot_reasons()


# Snapshots explained and written per transaction by the filling of reasons.
FILL_BATCH = 500
# A filling run stops after this long and queues its continuation, so a task a person waits
# for (an import) is not kept waiting behind it (``background``).
FILL_RUN_SECONDS = 3.0


@dataclass(frozen=True)
class FillResult:
    """What one run of ``fill_pending_snapshot_reasons`` did."""

    n_filled: int
    is_done: bool  # False: it stopped at its time limit with snapshots still pending


def fill_pending_snapshot_reasons(
    *, batch_size: int | None = None, max_seconds: float | None = None
) -> FillResult:
    """Explain the snapshots stored ``reasons_pending``, a batch at a time, until none is
    left or ``max_seconds`` (default ``FILL_RUN_SECONDS``) have passed; ``batch_size``
    defaults to ``FILL_BATCH``.

    Each batch is read and explained outside any transaction, then written in one short
    transaction of at most ``batch_size`` rows; a crash loses at most the batch in hand
    (its snapshots stay pending for the next run). Running it twice does nothing twice.
    """
    limit = FILL_RUN_SECONDS if max_seconds is None else max_seconds
    batch_size = batch_size or FILL_BATCH
    started = time.monotonic()
    n_filled = 0
    while True:
        rows = list(
            ScoreSnapshot.objects.filter(reasons_pending=True)
            .order_by("id")
            .values_list("id", "lead_id", "at", "scorecard_version_id")[:batch_size]
        )
        if not rows:
            return FillResult(n_filled, True)
        n_filled += _fill_rows(rows)
        if time.monotonic() - started >= limit:
            is_done = not ScoreSnapshot.objects.filter(reasons_pending=True).exists()
            return FillResult(n_filled, is_done)


def fill_snapshot_reasons(snapshot_ids: Sequence[int], *, batch_size: int = FILL_BATCH) -> int:
    """Explain the given snapshots that are still without reasons; returns n filled.

    What the tasks queued one per capture before ``reasons_pending`` (still in a queue
    after an upgrade) ask for: done like ``fill_pending_snapshot_reasons``, in batches.
    """
    ids = sorted({int(i) for i in snapshot_ids})
    n_filled = 0
    for start in range(0, len(ids), batch_size):
        rows = list(
            ScoreSnapshot.objects.filter(id__in=ids[start : start + batch_size], reasons=[])
            .order_by("id")
            .values_list("id", "lead_id", "at", "scorecard_version_id")
        )
        n_filled += _fill_rows(rows)
    return n_filled


SnapshotRow = tuple[int, int, datetime, int | None]


def _fill_rows(rows: Sequence[SnapshotRow]) -> int:
    """Explain ``rows`` (id, lead, moment, version) and write their reasons in one short
    transaction; returns how many got reasons.

    Each snapshot is explained with its own scorecard version, as of its own moment, so the
    reasons are those of the score it records (unless the lead was edited in between): the
    engine takes one cut-off time per lead, so a version's snapshots are explained in one
    call, in rounds when a lead has several. A snapshot whose version is gone, or whose
    explanation fails, keeps no reasons and is no longer pending (logged), so one bad
    snapshot never blocks the rest.
    """
    configs = dict(
        ScorecardVersion.objects.filter(id__in={r[3] for r in rows}).values_list("id", "config")
    )
    reasons: dict[int, str] = {}
    for version_id, group in _rounds(rows):
        if version_id not in configs:
            continue
        try:
            reasons.update(_explain_round(Scorecard.from_dict(configs[version_id]), group))
        except Exception:
            logger.exception("explaining %d snapshots of version %s failed", len(group), version_id)
    _write_reasons([(reasons.get(row[0], "[]"), row[0]) for row in rows])
    return sum(1 for row in rows if row[3] in configs)


def _rounds(rows: Sequence[SnapshotRow]) -> list[tuple[int | None, list[SnapshotRow]]]:
    """``rows`` grouped by scorecard version, each group split so no lead is in one twice."""
    groups: dict[tuple[int | None, int], list[SnapshotRow]] = {}
    seen: dict[tuple[int | None, int], int] = {}
    for row in rows:
        key = (row[3], row[1])
        n = seen[key] = seen.get(key, -1) + 1
        groups.setdefault((row[3], n), []).append(row)
    return [(version_id, group) for (version_id, _), group in groups.items()]


def _explain_round(scorecard: Scorecard, group: Sequence[SnapshotRow]) -> dict[int, str]:
    """Reasons (compact JSON text) by snapshot id, for snapshots of distinct leads."""
    lead_ids = [row[1] for row in group]
    frame = lead_columns(lead_ids)
    as_of = pd.Series(pd.to_datetime([row[2] for row in group], utc=True), index=pd.Index(lead_ids))
    activities = activity_columns(lead_ids, until=max(row[2] for row in group))
    by_lead = reasons_json(scorecard, frame, activities, as_of=as_of)
    return {row[0]: by_lead.get(row[1], "[]") for row in group}


def _write_reasons(values: list[tuple[str, int]]) -> None:
    """Set (reasons JSON text, snapshot id) pairs and clear ``reasons_pending``: one short
    transaction."""
    if not values:
        return
    table = connection.ops.quote_name(ScoreSnapshot._meta.db_table)
    value = "%s::jsonb" if connection.vendor == "postgresql" else "%s"
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.executemany(
            f"UPDATE {table} SET reasons = {value}, reasons_pending = %s WHERE id = %s",
            [(text, False, snapshot_id) for text, snapshot_id in values],
        )


@task(priority=MAINTENANCE_PRIORITY)
def fill_pending_snapshot_reasons_task() -> int:
    """Explain the snapshots event rescoring stored without reasons; returns n filled.

    One run waits at a time (``history.request_snapshot_reasons``); a run that reaches its
    time limit queues the next, behind any task of higher priority.
    """
    result = fill_pending_snapshot_reasons()
    if not result.is_done:
        request_snapshot_reasons()
    return result.n_filled
