"""Score history: snapshots (with their criterion reasons) and status audit rows.

A snapshot is written whenever a lead's status, fit grade, horizon or rating band moves (and
on its first score); its reasons are those of the scorecard version that produced it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
from django.db import connection, transaction

from leadsieve.engine.scorecard import Scorecard
from leadsieve.leads.models import LeadChange
from leadsieve.scoring.frames import activity_frame, lead_frame
from leadsieve.scoring.merging import REASON_MAX_LENGTH, SCORING_VIA, LeadColumns, NewScores
from leadsieve.scoring.models import ScorecardVersion, ScoreSnapshot
from leadsieve.scoring.queries import ActiveScoring


def _reasons_by_lead(
    scorecard: Scorecard,
    frame: LeadColumns,
    activities: LeadColumns | None,
    *,
    as_of: datetime,
) -> dict[int, list[dict[str, Any]]]:  # Any: JSON values of mixed types
    """Each lead's criterion reasons as JSON-ready dicts (for one snapshot or a few)."""
    return {
        lead_id: json.loads(text)
        for lead_id, text in _reasons_json(scorecard, frame, activities, as_of=as_of).items()
    }


def _reasons_json(
    scorecard: Scorecard,
    frame: LeadColumns,
    activities: LeadColumns | None,
    *,
    as_of: datetime,
) -> dict[int, str]:
    """Each lead's reasons as JSON text ``[{"dimension", "code", "label", "points"}, ...]``.

    The engine's long explanation frame repeats a few thousand distinct reasons over millions
    of rows, so each distinct (code, label, points) is encoded once and the rows only pick
    their text: a batch of 50,000 first-time snapshots builds no per-row dict or string.
    """
    long = scorecard.explain_frame(frame, activities, as_of=as_of)
    if long.empty:
        return {}
    points = long["points"].to_numpy(dtype=float).round(3)
    parts = [pd.factorize(long[name].to_numpy(dtype=object)) for name in ("code", "label")]
    parts.append(pd.factorize(points))
    key = np.zeros(len(long), dtype=np.int64)
    for codes, uniques in parts:  # one integer per (code, label, points) combination
        key = key * len(uniques) + codes
    combo, first = np.unique(key, return_index=True)
    dimensions = long["dimension"].to_numpy(dtype=object)
    texts = {
        name: [json.dumps(str(u)) for u in uniques]
        for name, (_, uniques) in zip(("code", "label"), parts[:2], strict=True)
    }
    (code_codes, _), (label_codes, _) = parts[0], parts[1]
    table = np.asarray(
        [  # the same text as json.dumps of the dict, without building the dict
            f'{{"dimension":{json.dumps(str(dimensions[row]))},'
            f'"code":{texts["code"][code_codes[row]]},'
            f'"label":{texts["label"][label_codes[row]]},'
            f'"points":{float(points[row])!r}}}'
            for row in first.tolist()
        ],
        dtype=object,
    )
    fragments = table[np.searchsorted(combo, key)].tolist()
    ids = long["lead_id"].to_numpy(dtype=np.int64)
    # The engine orders the rows by lead, so each lead's reasons are contiguous.
    starts = np.r_[0, np.flatnonzero(np.diff(ids)) + 1].tolist()
    ends = [*starts[1:], len(ids)]
    return {
        lead_id: "[" + ",".join(fragments[start:end]) + "]"
        for lead_id, start, end in zip(ids[starts].tolist(), starts, ends, strict=True)
    }


def _insert_rows(
    table: str,
    columns: Sequence[str],
    rows: list[tuple[Any, ...]],
    constants: Sequence[tuple[str, Any]] = (),  # Any: ints, text or None
) -> None:
    """Plain INSERTs (COPY on PostgreSQL) of many rows: no model instances, no per-row SQL
    compilation. ``rows`` hold backend-ready values (JSON as text, adapted datetimes) for
    ``columns``; ``constants`` are (column, value) pairs shared by every row.

    On SQLite the constants are written into the statement as literals, once: binding a
    parameter per row costs about as much as the B-tree insert (``leads/services/bulk``
    does the same for imports). On PostgreSQL COPY takes them as row values.
    """
    if not rows:
        return
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            names = ", ".join([*columns, *(name for name, _ in constants)])
            shared = tuple(value for _, value in constants)
            with cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row((*row, *shared))
            return
        names = ", ".join([*columns, *(name for name, _ in constants)])
        values = ", ".join([*(["%s"] * len(columns)), *(_literal(v) for _, v in constants)])
        cursor.executemany(f"INSERT INTO {table} ({names}) VALUES ({values})", rows)


def _literal(value: int | str | None) -> str:
    """An SQL literal for a constant of our own making (ids, times, fixed words): never text
    a person typed, so quoting ``'`` (and ``%`` for the driver) is all it needs."""
    if value is None:
        return "NULL"
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise TypeError(f"no literal for {value!r}")
    if isinstance(value, int):
        return str(value)
    return "'" + value.replace("'", "''").replace("%", "%%") + "'"


# The per-lead columns of a snapshot; ``at`` and the versions are the same for the batch.
SNAPSHOT_COLUMNS: tuple[str, ...] = (
    "lead_id",
    "rating",
    "rating_source",
    "rating_band",
    "fit_grade",
    "status",
    "horizon",
    "reasons",
)


def _insert_returning_ids(
    table: str, columns: Sequence[str], rows: list[tuple[Any, ...]]
) -> list[int]:
    """One ``INSERT ... RETURNING id`` per row (SQLite ≥ 3.35 and PostgreSQL): for the few
    snapshots of an event, cheaper than building model instances for ``bulk_create``."""
    names = ", ".join(columns)
    placeholders = ", ".join(["%s"] * len(columns))
    sql = f"INSERT INTO {table} ({names}) VALUES ({placeholders}) RETURNING id"
    ids: list[int] = []
    with connection.cursor() as cursor:
        for row in rows:
            cursor.execute(sql, row)
            ids.append(int(cursor.fetchone()[0]))
    return ids


def _subset(columns: LeadColumns, key: str, ids: np.ndarray) -> LeadColumns:
    """The rows of a frame (or mapping of arrays) whose ``key`` column is in ``ids``."""
    keep = np.isin(np.asarray(columns[key]), ids)
    if isinstance(columns, pd.DataFrame):
        return columns[keep]
    return {name: values[keep] for name, values in columns.items()}


def write_history(
    new: NewScores,
    frame: LeadColumns,
    activities: LeadColumns | None,
    active: ActiveScoring,
    *,
    at: datetime,
    explain_later: bool,
) -> tuple[int, int]:
    """Snapshots for leads whose status/grade/horizon/band moved; audit rows for statuses.

    With ``explain_later`` the snapshots are stored without reasons and the
    ``fill_snapshot_reasons_task`` adds them from the same scorecard version and moment: the
    engine's explanation of one lead costs several times its score, and a capture should not
    wait for it.
    """
    stamp = connection.ops.adapt_datetimefield_value(at)
    moved = new.select(new.status_moved)
    _insert_rows(
        LeadChange._meta.db_table,
        ("lead_id", "changes", "note"),
        [
            (lead_id, json.dumps({"status": [old, status]}), (reason or "")[:REASON_MAX_LENGTH])
            for lead_id, old, status, reason in zip(
                moved.ids.tolist(),
                moved.old_status.tolist(),
                moved.columns["status"].tolist(),
                moved.columns["status_reason"].tolist(),
                strict=True,
            )
        ],
        (("changed_at", stamp), ("via", SCORING_VIA), ("action", "status_scored")),
    )
    snap = new.select(new.snapshot)
    if not len(snap.ids):
        return len(moved.ids), 0
    columns = snap.columns
    values = list(
        zip(
            snap.ids.tolist(),
            columns["rating"].tolist(),
            columns["rating_source"].tolist(),
            [band or None for band in snap.rating_band.tolist()],
            columns["fit_grade"].tolist(),
            columns["status"].tolist(),
            columns["horizon"].tolist(),
            strict=True,
        )
    )
    shared = (
        ("at", stamp),
        ("scorecard_version_id", active.scorecard_version_id),
        ("model_version_id", active.model_version_id),
    )
    if explain_later:
        from leadsieve.scoring.tasks import fill_snapshot_reasons_task

        ids = _insert_returning_ids(
            ScoreSnapshot._meta.db_table,
            [*SNAPSHOT_COLUMNS, *(name for name, _ in shared)],
            [(*row, "[]", *(value for _, value in shared)) for row in values],
        )
        transaction.on_commit(lambda: fill_snapshot_reasons_task.enqueue(ids))
        return len(moved.ids), len(ids)
    sub = _subset(frame, "id", snap.ids)
    sub_acts = None
    if activities is not None and len(activities["lead_id"]):
        sub_acts = _subset(activities, "lead_id", snap.ids)
    reasons = _reasons_json(active.scorecard, sub, sub_acts, as_of=at)
    _insert_rows(
        ScoreSnapshot._meta.db_table,
        SNAPSHOT_COLUMNS,
        [(*row, reasons.get(row[0], "[]")) for row in values],
        shared,
    )
    return len(moved.ids), len(values)


@transaction.atomic
def fill_snapshot_reasons(snapshot_ids: Sequence[int]) -> int:
    """Add the criterion reasons to snapshots stored without them (see ``_write_history``).

    Each snapshot is explained with its own scorecard version, as of its own moment, so the
    reasons are those of the score it records (unless the lead was edited in between).
    """
    rows = list(
        ScoreSnapshot.objects.filter(id__in=list(snapshot_ids), reasons=[]).values_list(
            "id", "lead_id", "at", "scorecard_version_id"
        )
    )
    configs = dict(
        ScorecardVersion.objects.filter(id__in={r[3] for r in rows}).values_list("id", "config")
    )
    n_filled = 0
    for snapshot_id, lead_id, at, version_id in rows:
        if version_id not in configs:
            continue
        frame = lead_frame([lead_id])
        activities = activity_frame([lead_id], until=at)
        reasons = _reasons_by_lead(
            Scorecard.from_dict(configs[version_id]), frame, activities, as_of=at
        )
        ScoreSnapshot.objects.filter(id=snapshot_id).update(reasons=reasons.get(lead_id, []))
        n_filled += 1
    return n_filled
