"""Score history: snapshots (with their criterion reasons) and status audit rows.

A snapshot is written whenever a lead's status, fit grade, horizon or rating band moves (and
on its first score); its reasons are those of the scorecard version that produced it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
from django.db import connection

from leadsieve.engine.scorecard import CompactExplanation, ReasonPart, Scorecard
from leadsieve.engine.types import Reason
from leadsieve.leads.models import LeadChange
from leadsieve.leads.services.bulk import json_rows
from leadsieve.scoring.models import ScoreSnapshot
from leadsieve.scoring.queries import ActiveScoring
from leadsieve.scoring.reconciling import REASON_MAX_LENGTH, SCORING_VIA, LeadColumns, NewScores

logger = logging.getLogger(__name__)


# Points are kept to 0.001 in a snapshot, as before the compact form.
REASON_POINTS_DECIMALS = 3


def reasons_json(
    scorecard: Scorecard,
    frame: LeadColumns,
    activities: LeadColumns | None,
    *,
    as_of: datetime,
) -> dict[int, str]:
    """Each lead's reasons as compact JSON text: ``[["code", points], ...]``, with the event
    count third for an interest rule (``["interest:call", 2.5, 1]``); leads without any
    reason are left out.

    Only what the scorecard version cannot give back is stored: its ``describe_reasons``
    rebuilds the dimension and the label (``describe_snapshot_reasons``). That keeps a
    snapshot's reasons at about a fifth of the long form's bytes, and building them costs no
    label or frame: each part's distinct (points, count) is encoded once, each lead's text is
    cut from one joined string.
    """
    return _compact_json(scorecard, scorecard.explain_parts(frame, activities, as_of=as_of))


def _compact_json(
    scorecard: Scorecard, explained: CompactExplanation, keep: np.ndarray | None = None
) -> dict[int, str]:
    """``reasons_json`` of an explanation already made, for the leads (rows) in ``keep``."""
    parts = [part for part in explained.parts if len(part.rows)]
    if keep is not None and not keep.all():
        parts = [_part_rows(part, keep[part.rows]) for part in parts]
        parts = [part for part in parts if len(part.rows)]
    if not parts:
        return {}
    caps = {f"interest:{r.kind}": r.cap for r in scorecard.interest_rules if r.cap is not None}
    fragments: list[str] = []
    codes: list[np.ndarray] = []
    for part in parts:
        first = len(fragments)
        points = _stored_points(part.points, caps.get(part.code))
        code = json.dumps(part.code)
        point_codes, distinct_points = pd.factorize(points)
        if part.counts is None:
            codes.append(point_codes + first)
            fragments.extend(f"[{code},{float(v)!r}]" for v in distinct_points.tolist())
            continue
        count_codes, distinct_counts = pd.factorize(np.asarray(part.counts, dtype=np.int64))
        pairs, distinct_pairs = pd.factorize(point_codes * len(distinct_counts) + count_codes)
        codes.append(pairs + first)
        fragments.extend(
            f"[{code},{float(distinct_points[k // len(distinct_counts)])!r},"
            f"{int(distinct_counts[k % len(distinct_counts)])}]"
            for k in distinct_pairs.tolist()
        )
    return _lists_by_lead(explained.ids, [part.rows for part in parts], codes, fragments)


def _part_rows(part: ReasonPart, mask: np.ndarray) -> ReasonPart:
    counts = part.counts[mask] if part.counts is not None else None
    return ReasonPart(part.code, part.rows[mask], part.points[mask], counts)


def _stored_points(points: np.ndarray, cap: float | None) -> np.ndarray:
    """Points to 0.001, nudged by 0.001 toward the exact value where rounding twice would
    change what a label shows (labels round interest and caps to 0.1; an uncapped amount
    must not reach its rule's cap)."""
    step = 10.0**-REASON_POINTS_DECIMALS
    stored = points.round(REASON_POINTS_DECIMALS)
    wrong = np.round(stored, 1) != np.round(points, 1)
    if cap is not None:
        wrong |= (points < cap) & (stored >= cap)
    if wrong.any():
        nudged = (stored - step * np.sign(stored - points)).round(REASON_POINTS_DECIMALS)
        stored = np.where(wrong, nudged, stored)
    return stored


def _lists_by_lead(
    ids: np.ndarray, rows: list[np.ndarray], codes: list[np.ndarray], fragments: list[str]
) -> dict[int, str]:
    """Per lead, ``"[" + ",".join(its fragments in part order) + "]"``.

    Each part lists a lead at most once, so a lead's slot for its k-th reason is its start
    plus the number of earlier parts naming it: no sort. The texts are then one ``join`` of
    the fragments, each with its separator or bracket, split at a NUL after every lead.
    """
    n_per_lead = np.bincount(np.concatenate(rows), minlength=len(ids))
    starts = np.cumsum(n_per_lead) - n_per_lead
    filled = np.zeros(len(ids), dtype=np.int64)
    order = np.empty(int(n_per_lead.sum()), dtype=np.int64)
    for part_rows, part_codes in zip(rows, codes, strict=True):
        order[starts[part_rows] + filled[part_rows]] = part_codes
        filled[part_rows] += 1
    lead = np.repeat(np.arange(len(ids)), n_per_lead)
    slot = np.arange(len(order)) - starts[lead]
    variant = (slot == 0).astype(np.int64) + 2 * (slot == n_per_lead[lead] - 1)
    table = np.asarray(
        [
            *("," + f for f in fragments),
            *("[" + f for f in fragments),
            *("," + f + "]\0" for f in fragments),
            *("[" + f + "]\0" for f in fragments),
        ],
        dtype=object,
    )
    texts = "".join(table[variant * len(fragments) + order].tolist()).split("\0")
    has_reasons = np.flatnonzero(n_per_lead)
    return dict(zip(ids[has_reasons].tolist(), texts[:-1], strict=True))


def describe_snapshot_reasons(
    reasons: Sequence[Any],  # Any: stored JSON, compact lists or (older) dicts
    config: dict[str, Any] | None,  # Any: the snapshot's ScorecardVersion.config
) -> list[Reason]:
    """A snapshot's stored reasons in words, from its own scorecard version.

    Compact items (``[code, points(, count)]``) are worded by that version; items in the
    long form written before (dicts with dimension, code, label and points) are shown as
    stored. Without the version (never the case for a snapshot the app wrote) the code
    stands in for the label.
    """
    card = Scorecard.from_dict(config) if config is not None else Scorecard()
    compact = [item for item in reasons if not isinstance(item, dict)]
    worded = iter(card.describe_reasons(compact))
    return [
        Reason(
            str(item.get("dimension", "")),
            str(item.get("code", "")),
            str(item.get("label", "")),
            float(item.get("points", 0.0)),
        )
        if isinstance(item, dict)
        else next(worded)
        for item in reasons
    ]


def _insert_rows(
    table: str,
    columns: Sequence[str],
    rows: list[tuple[Any, ...]],
    constants: Sequence[tuple[str, Any]] = (),  # Any: ints, text or None
    text: str | None = None,
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
        names = ", ".join([*columns, *(name for name, _ in constants)])
        if connection.vendor == "postgresql":
            shared = tuple(value for _, value in constants)
            with cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row((*row, *shared))
            return
        literals = "".join(f", {_literal(v)}" for _, v in constants)
        if len(rows) > SMALL_INSERT:
            insert = f"INSERT INTO {table} ({names})"
            insert_json_rows(cursor, insert, len(columns), rows, literals, text=text)
            return
        values = ", ".join(["%s"] * len(columns)) + literals
        cursor.executemany(f"INSERT INTO {table} ({names}) VALUES ({values})", rows)


# Up to this many rows (an event's history), SQLite binds each row (``executemany``); more go
# as one JSON text in one statement (``insert_json_rows``).
SMALL_INSERT = 64


def insert_json_rows(
    cursor: Any,  # Any: Django's cursor wrapper over sqlite3
    insert: str,
    n_columns: int,
    rows: list[tuple[Any, ...]],  # Any: JSON-ready values (ints, floats, text, None)
    constants: str = "",
    *,
    text: str | None = None,
) -> None:
    """``{insert} SELECT <the row's values>{constants} FROM json_each(<rows as JSON>)`` on
    SQLite: one statement, run in C with the GIL released, instead of binding every row
    from Python (``executemany``). Rows that JSON cannot carry (NaN) go by ``executemany``.
    ``text``: the rows already encoded by ``json_rows``.
    """
    if text is None:
        text = json_rows(rows)
    if text is None:
        placeholders = ", ".join(["%s"] * n_columns)
        cursor.executemany(f"{insert} VALUES ({placeholders}{constants})", rows)
        return
    values = ", ".join(f"value ->> {j}" for j in range(n_columns))
    cursor.execute(f"{insert} SELECT {values}{constants} FROM json_each(%s)", [text])


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


def _subset(columns: LeadColumns, key: str, ids: np.ndarray) -> LeadColumns:
    """The rows of a frame (or mapping of arrays) whose ``key`` column is in ``ids``."""
    keep = np.isin(np.asarray(columns[key]), ids)
    if isinstance(columns, pd.DataFrame):
        return columns[keep]
    return {name: values[keep] for name, values in columns.items()}


@dataclass(frozen=True)
class History:
    """A batch's history rows, worked out before its transaction (``prepare_history``)."""

    changes: list[tuple[Any, ...]]  # Any: (lead_id, changes JSON, note)
    snapshots: list[tuple[Any, ...]]  # Any: SNAPSHOT_COLUMNS' values, reasons JSON last
    # The rows already as JSON text for ``insert_json_rows`` (``encoded``), else None.
    changes_text: str | None = None
    snapshots_text: str | None = None

    def without(self, lead_ids: Collection[int]) -> History:
        """The rows of every other lead (the first value of a row is its lead id)."""
        skip = set(lead_ids)
        return History(
            [row for row in self.changes if row[0] not in skip],
            [row for row in self.snapshots if row[0] not in skip],
        )

    def encoded(self) -> History:
        """The same rows with their JSON text made now (on SQLite, for a set large enough
        to go through ``json_each``): the rescoring pipeline encodes in the reading thread,
        so the writer's transaction does no Python work per row."""
        if connection.vendor != "sqlite":
            return self
        return replace(
            self,
            changes_text=json_rows(self.changes) if len(self.changes) > SMALL_INSERT else None,
            snapshots_text=(
                json_rows(self.snapshots) if len(self.snapshots) > SMALL_INSERT else None
            ),
        )


def _change_rows(new: NewScores) -> list[tuple[Any, ...]]:  # Any: id, JSON, note
    moved = new.select(new.status_moved)
    return [
        (lead_id, json.dumps({"status": [old, status]}), (reason or "")[:REASON_MAX_LENGTH])
        for lead_id, old, status, reason in zip(
            moved.ids.tolist(),
            moved.old_status.tolist(),
            moved.columns["status"].tolist(),
            moved.columns["status_reason"].tolist(),
            strict=True,
        )
    ]


def _snapshot_values(snap: NewScores) -> list[tuple[Any, ...]]:  # Any: ints and text
    columns = snap.columns
    return list(
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


def prepare_history(
    new: NewScores,
    frame: LeadColumns,
    activities: LeadColumns | None,
    active: ActiveScoring,
    *,
    at: datetime,
    explained: CompactExplanation | None = None,
) -> History:
    """The audit rows of moved statuses and the snapshots (with their reasons) that ``new``
    calls for; nothing is written. ``explained``: every lead's reasons from the scoring
    pass (``score_leads(explain=True)``, in ``new``'s order); else they are explained now."""
    snap = new.select(new.snapshot)
    if not len(snap.ids):
        return History(_change_rows(new), [])
    if explained is not None:
        reasons = _compact_json(active.scorecard, explained, new.snapshot)
        return History(
            _change_rows(new),
            [(*row, reasons.get(row[0], "[]")) for row in _snapshot_values(snap)],
        )
    sub, sub_acts = frame, activities
    if not new.snapshot.all():  # a first pass snapshots every lead: nothing to pick
        sub = _subset(frame, "id", snap.ids)
        if activities is not None and len(activities["lead_id"]):
            sub_acts = _subset(activities, "lead_id", snap.ids)
    reasons = reasons_json(active.scorecard, sub, sub_acts, as_of=at)
    return History(
        _change_rows(new),
        [(*row, reasons.get(row[0], "[]")) for row in _snapshot_values(snap)],
    )


def _shared_columns(active: ActiveScoring, stamp: Any) -> tuple[tuple[str, Any], ...]:
    return (  # Any: the adapted time and the version ids
        ("at", stamp),
        ("scorecard_version_id", active.scorecard_version_id),
        ("model_version_id", active.model_version_id),
    )


def insert_history(history: History, active: ActiveScoring, *, at: datetime) -> tuple[int, int]:
    """Write prepared history rows; returns (statuses moved, snapshots written)."""
    stamp = connection.ops.adapt_datetimefield_value(at)
    _insert_rows(
        LeadChange._meta.db_table,
        ("lead_id", "changes", "note"),
        history.changes,
        (("changed_at", stamp), ("via", SCORING_VIA), ("action", "status_scored")),
        history.changes_text,
    )
    _insert_rows(
        ScoreSnapshot._meta.db_table,
        SNAPSHOT_COLUMNS,
        history.snapshots,
        _shared_columns(active, stamp),
        history.snapshots_text,
    )
    return len(history.changes), len(history.snapshots)


def write_history(
    new: NewScores,
    frame: LeadColumns,
    activities: LeadColumns | None,
    active: ActiveScoring,
    *,
    at: datetime,
    explain_later: bool,
    explained: CompactExplanation | None = None,
) -> tuple[int, int]:
    """Snapshots for leads whose status/grade/horizon/band moved; audit rows for statuses.

    With ``explain_later`` the snapshots are stored without reasons, marked
    ``reasons_pending``, and one ``fill_pending_snapshot_reasons_task`` is queued after the
    commit unless one already waits (``request_snapshot_reasons``): it adds them from the
    same scorecard version and moment for every pending snapshot at once. The engine's
    explanation of one lead costs several times its score, and a capture should not wait
    for it.
    """
    if not explain_later:
        history = prepare_history(new, frame, activities, active, at=at, explained=explained)
        return insert_history(history, active, at=at)
    stamp = connection.ops.adapt_datetimefield_value(at)
    changes = History(_change_rows(new), [])
    n_moved, _ = insert_history(changes, active, at=at)
    values = _snapshot_values(new.select(new.snapshot))
    if not values:
        return n_moved, 0
    _insert_rows(
        ScoreSnapshot._meta.db_table,
        (*SNAPSHOT_COLUMNS, "reasons_pending"),
        [(*row, "[]", True) for row in values],
        _shared_columns(active, stamp),
    )
    return n_moved, len(values)
