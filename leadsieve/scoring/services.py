"""Every write of the scoring app: rescoring, manual overrides, training, publishing.

Rescoring is vectorised end to end: frames are read with ``values_list`` (``frames.py``), the
engine scores the whole batch in one call, and the results go back in one set-based UPDATE
(a temporary table joined with ``UPDATE ... FROM``), so a million leads never become a million
ORM objects. Two rules hold whatever the engine proposes:

* a status or rating a person set by hand (``status_is_manual`` / ``rating_is_manual``) is
  kept until that person's override is cleared with ``clear_manual_status``/``_rating``;
* the engine only moves a status among new/mql/sql/disqualified, and never touches a lead
  that is converted, working, won or lost (those are people's decisions).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Count, Max, Min
from django.utils import timezone

from leadsieve.engine.exceptions import EngineError, InvalidScorecard
from leadsieve.engine.explain import explain_model
from leadsieve.engine.model import rating as probability_rating
from leadsieve.engine.scorecard import Scorecard
from leadsieve.engine.types import Reason
from leadsieve.leads.models import Lead, LeadChange, Outcome, RatingSource, Status
from leadsieve.scoring.frames import (
    activity_frame,
    activity_frame_between,
    lead_frame,
)
from leadsieve.scoring.models import (
    N_RATING_BANDS,
    ModelVersion,
    ScorecardStatus,
    ScorecardVersion,
    ScoreSnapshot,
)
from leadsieve.scoring.queries import ActiveScoring, get_active_scoring

logger = logging.getLogger(__name__)

SCORING_VIA = "scoring"
# Statuses the scorecard may propose, and the only ones it may move a lead away from.
ENGINE_STATUSES: frozenset[str] = frozenset(
    {Status.NEW, Status.MQL, Status.SQL, Status.DISQUALIFIED}
)
# Lead fields read next to the engine columns: the current state the rules above compare to.
STATE_FIELDS: tuple[str, ...] = (
    "status",
    "status_is_manual",
    "rating",
    "rating_is_manual",
    "rating_source",
    "fit_grade",
    "horizon",
    "outcome",
    "scored_at",
    "fit_points",
    "interest_points",
    "readiness_points",
    "horizon_reason",
    "status_reason",
)
WRITTEN_COLUMNS: tuple[str, ...] = (
    "rating",
    "rating_source",
    "fit_points",
    "fit_grade",
    "interest_points",
    "readiness_points",
    "horizon",
    "horizon_reason",
    "status",
    "status_reason",
)
REASON_MAX_LENGTH = 300
# Points are stored to 0.01: finer decay digits change nothing a person reads.
POINTS_DECIMALS = 2
POINTS_TOLERANCE = 0.005
SMALL_WRITE = 500
EVENT_TASK_THRESHOLD = 5_000
BULK_CREATE_BATCH = 5_000


@dataclass(frozen=True)
class RescoreResult:
    """What a rescoring pass did (the command prints it; tests assert on it)."""

    n_scored: int
    n_status_changed: int
    n_snapshots: int
    seconds: float


@dataclass(frozen=True)
class ModelFactor:
    """One conversion-model factor for a lead: the column, its value, its log-odds effect."""

    column: str
    label: str
    effect: float


@dataclass(frozen=True)
class LeadExplanation:
    """Why a lead has its score, for the lead page and the API."""

    lead_id: int
    rating: int | None
    rating_source: str
    rating_is_manual: bool
    probability: float
    fit_points: float
    fit_grade: str
    interest_points: float
    readiness_points: float
    status: str
    status_reason: str
    status_is_manual: bool
    horizon: str
    horizon_reason: str
    scorecard_version: int
    model_version_id: int | None
    criteria: list[Reason] = field(default_factory=list)
    raising: list[ModelFactor] = field(default_factory=list)
    lowering: list[ModelFactor] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:  # Any: JSON values of mixed types
        data = {k: v for k, v in vars(self).items() if k not in ("criteria", "raising", "lowering")}
        data["criteria"] = [vars(r).copy() for r in self.criteria]
        data["raising"] = [vars(f).copy() for f in self.raising]
        data["lowering"] = [vars(f).copy() for f in self.lowering]
        return data


# -- scoring a frame ------------------------------------------------------------------------------


def _rating_band(ratings: np.ndarray) -> np.ndarray:
    """Bands 1..10 of ratings 1..100 (0 where there is no rating)."""
    values = np.nan_to_num(ratings.astype(float), nan=0.0)
    return np.where(values > 0, np.clip((values - 1) // 10 + 1, 1, N_RATING_BANDS), 0).astype(int)


def _model_frame(frame: pd.DataFrame, active: ActiveScoring) -> pd.DataFrame:
    """The leads frame with every column the model was trained on (missing ones empty)."""
    assert active.model_spec is not None
    missing = [c.name for c in active.model_spec.columns if c.name not in frame.columns]
    if not missing:
        return frame
    return frame.assign(**{name: None for name in missing})


def score_frame(
    frame: pd.DataFrame,
    activities: pd.DataFrame | None,
    active: ActiveScoring,
    *,
    as_of: datetime | pd.Series,
) -> pd.DataFrame:
    """The engine's scores for a leads frame, the rating from the model when there is one."""
    scores = active.scorecard.score(frame, activities, as_of=as_of)
    scores["rating_source"] = scores["rating_source"].astype(str)
    if active.model is not None:
        probability = active.model.predict_proba(_model_frame(frame, active))
        scores["probability"] = probability
        scores["rating"] = probability_rating(probability)
        scores["rating_source"] = RatingSource.MODEL
    return scores


@dataclass
class NewScores:
    """Per lead (aligned arrays): the values to store and what moved since the last score.

    Plain numpy arrays rather than a DataFrame: a one-lead event pays microseconds, not the
    ~0.1 ms pandas charges per column assignment.
    """

    ids: np.ndarray
    columns: dict[str, np.ndarray]
    old_status: np.ndarray
    status_moved: np.ndarray
    rating_band: np.ndarray
    snapshot: np.ndarray
    changed: np.ndarray

    def select(self, mask: np.ndarray) -> NewScores:
        return NewScores(
            self.ids[mask],
            {k: v[mask] for k, v in self.columns.items()},
            self.old_status[mask],
            self.status_moved[mask],
            self.rating_band[mask],
            self.snapshot[mask],
            self.changed[mask],
        )


def _text(values: pd.Series, limit: int | None = None) -> np.ndarray:
    """A (categorical) engine column as an object array of str, optionally cut to ``limit``."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        categories = np.asarray([str(c)[:limit] for c in values.cat.categories], dtype=object)
        texts: np.ndarray = categories[values.cat.codes.to_numpy()]
        return texts
    return np.asarray([str(v)[:limit] for v in values.tolist()], dtype=object)


def _merge_state(frame: pd.DataFrame, scores: pd.DataFrame) -> NewScores:
    """New column values after the manual-override and status rules, plus change flags."""
    ids = frame["id"].to_numpy(dtype=np.int64)
    proposed_status = _text(scores["status"])
    proposed_reason = _text(scores["status_reason"], REASON_MAX_LENGTH)
    old_status = frame["status"].to_numpy(dtype=object)
    may_move = (
        ~frame["status_is_manual"].to_numpy(dtype=bool)
        & (frame["outcome"].to_numpy(dtype=object) == Outcome.OPEN)
        & np.isin(old_status, list(ENGINE_STATUSES))
    )
    status = np.where(may_move, proposed_status, old_status)
    manual_rating = frame["rating_is_manual"].to_numpy(dtype=bool)
    old_rating = pd.to_numeric(frame["rating"], errors="coerce").to_numpy(dtype=float)
    keep_rating = manual_rating & ~np.isnan(old_rating)
    rating = np.where(keep_rating, old_rating, scores["rating"].to_numpy(dtype=float)).astype(int)
    fit_grade = _text(scores["fit_grade"])
    horizon = _text(scores["horizon"])
    columns = {
        "rating": rating,
        "rating_source": np.where(
            keep_rating,
            frame["rating_source"].to_numpy(dtype=object),
            _text(scores["rating_source"]),
        ),
        "fit_points": scores["fit_points"].to_numpy(dtype=float).round(POINTS_DECIMALS),
        "fit_grade": fit_grade,
        "interest_points": scores["interest_points"].to_numpy(dtype=float).round(POINTS_DECIMALS),
        "readiness_points": scores["readiness_points"].to_numpy(dtype=float).round(POINTS_DECIMALS),
        "horizon": horizon,
        "horizon_reason": _text(scores["horizon_reason"], REASON_MAX_LENGTH),
        "status": status,
        # None keeps the stored reason: the one a person gave with a manual status.
        "status_reason": np.where(may_move, proposed_reason, np.full(len(ids), None, dtype=object)),
    }
    old_band = _rating_band(old_rating)
    new_band = _rating_band(rating.astype(float))
    snapshot = (
        frame["scored_at"].isna().to_numpy()
        | (old_status != status)
        | (frame["fit_grade"].to_numpy(dtype=object) != fit_grade)
        | (frame["horizon"].to_numpy(dtype=object) != horizon)
        | (old_band != new_band)
    )
    changed = frame["scored_at"].isna().to_numpy() | (old_rating != rating)
    for name in ("fit_points", "interest_points", "readiness_points"):
        stored = pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype=float)
        changed |= ~np.isclose(stored, columns[name], rtol=0.0, atol=POINTS_TOLERANCE)
    for name in ("rating_source", "fit_grade", "horizon", "horizon_reason", "status"):
        changed |= frame[name].to_numpy(dtype=object) != columns[name]
    reason = columns["status_reason"]
    changed |= ~pd.isna(reason) & (frame["status_reason"].to_numpy(dtype=object) != reason)
    status_moved = may_move & (status != old_status)
    return NewScores(ids, columns, old_status, status_moved, new_band, snapshot, changed)


# -- writing ------------------------------------------------------------------------------------


def _write_scores(new: NewScores, *, scored_at: datetime, scorecard_number: int) -> None:
    """Write the score columns of every row of ``new`` (indexed by lead id) in one statement.

    Small sets use one UPDATE per lead (cheapest below a few hundred rows); larger ones load a
    temporary table and run one ``UPDATE ... FROM`` (SQLite ≥ 3.33 and PostgreSQL alike).
    A ``None`` status reason keeps the stored one (a person's reason for a manual status).
    """
    if not len(new.ids):
        return
    table = connection.ops.quote_name(Lead._meta.db_table)
    stamp = connection.ops.adapt_datetimefield_value(scored_at)
    ids = new.ids.tolist()
    columns = [new.columns[c].tolist() for c in WRITTEN_COLUMNS]
    rows = list(zip(*columns, ids, strict=True))
    assignments = ", ".join(
        f"{c} = COALESCE(%s, {c})" if c == "status_reason" else f"{c} = %s" for c in WRITTEN_COLUMNS
    )
    with connection.cursor() as cursor:
        if len(rows) <= SMALL_WRITE:
            cursor.executemany(
                f"UPDATE {table} SET {assignments}, scored_at = %s, scorecard_version = %s "
                "WHERE id = %s",
                [(*row[:-1], stamp, scorecard_number, row[-1]) for row in rows],
            )
            return
        _write_through_temp_table(cursor, table, rows, stamp, scorecard_number)


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


def _reasons_by_lead(
    scorecard: Scorecard,
    frame: pd.DataFrame,
    activities: pd.DataFrame | None,
    *,
    as_of: datetime,
) -> dict[int, list[dict[str, Any]]]:  # Any: JSON values of mixed types
    """Each lead's criterion reasons as JSON-ready dicts (for one snapshot or a few)."""
    return {
        lead_id: json.loads(text)
        for lead_id, text in _reasons_json(scorecard, frame, activities, as_of=as_of).items()
    }


def _encoded(values: pd.Series) -> np.ndarray:
    """Each value JSON-encoded, encoding each distinct value once (labels repeat a lot)."""
    codes, uniques = pd.factorize(values.astype(object), use_na_sentinel=False)
    table = np.asarray([json.dumps(u if isinstance(u, float) else str(u)) for u in uniques])
    encoded: np.ndarray = table.astype(object)[codes]
    return encoded


def _reasons_json(
    scorecard: Scorecard,
    frame: pd.DataFrame,
    activities: pd.DataFrame | None,
    *,
    as_of: datetime,
) -> dict[int, str]:
    """Each lead's reasons as JSON text ``[{"dimension", "code", "label", "points"}, ...]``.

    Built with array string operations over the engine's long explanation frame, so a batch
    of 50,000 first-time snapshots does not build 400,000 Python dicts.
    """
    long = scorecard.explain_frame(frame, activities, as_of=as_of)
    if long.empty:
        return {}
    fragments = (
        '{"dimension":'
        + _encoded(long["dimension"])
        + ',"code":'
        + _encoded(long["code"])
        + ',"label":'
        + _encoded(long["label"])
        + ',"points":'
        + _encoded(long["points"].astype(float).round(3))
        + "}"
    )
    ids = long["lead_id"].to_numpy(dtype=np.int64)
    # The engine orders the rows by lead, so each lead's reasons are contiguous.
    starts = np.r_[0, np.flatnonzero(np.diff(ids)) + 1]
    groups = np.split(fragments, starts[1:])
    return {
        int(lead_id): "[" + ",".join(group) + "]"
        for lead_id, group in zip(ids[starts].tolist(), groups, strict=True)
    }


def _insert_rows(table: str, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
    """Plain INSERTs (COPY on PostgreSQL) of many rows: no model instances, no per-row SQL
    compilation. ``rows`` hold backend-ready values (JSON as text, adapted datetimes)."""
    if not rows:
        return
    names = ", ".join(columns)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            placeholders = ", ".join(["%s"] * len(columns))
            cursor.executemany(f"INSERT INTO {table} ({names}) VALUES ({placeholders})", rows)


def _write_history(
    new: NewScores,
    frame: pd.DataFrame,
    activities: pd.DataFrame | None,
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
        ("lead_id", "changed_at", "via", "action", "changes", "note"),
        [
            (
                lead_id,
                stamp,
                SCORING_VIA,
                "status_scored",
                json.dumps({"status": [old, status]}),
                (reason or "")[:REASON_MAX_LENGTH],
            )
            for lead_id, old, status, reason in zip(
                moved.ids.tolist(),
                moved.old_status.tolist(),
                moved.columns["status"].tolist(),
                moved.columns["status_reason"].tolist(),
                strict=True,
            )
        ],
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
    if explain_later:
        from leadsieve.scoring.tasks import fill_snapshot_reasons_task

        created = ScoreSnapshot.objects.bulk_create(
            [
                ScoreSnapshot(
                    lead_id=lead_id,
                    at=at,
                    rating=rating,
                    rating_source=source,
                    rating_band=band,
                    fit_grade=grade,
                    status=status,
                    horizon=horizon,
                    scorecard_version_id=active.scorecard_version_id,
                    model_version_id=active.model_version_id,
                    reasons=[],
                )
                for lead_id, rating, source, band, grade, status, horizon in values
            ]
        )
        ids = [snapshot.pk for snapshot in created if snapshot.pk is not None]
        transaction.on_commit(lambda: fill_snapshot_reasons_task.enqueue(ids))
        return len(moved.ids), len(created)
    sub = frame[frame["id"].isin(snap.ids)]
    sub_acts = None
    if activities is not None and len(activities):
        sub_acts = activities[activities["lead_id"].isin(snap.ids)]
    reasons = _reasons_json(active.scorecard, sub, sub_acts, as_of=at)
    _insert_rows(
        ScoreSnapshot._meta.db_table,
        (
            "lead_id",
            "rating",
            "rating_source",
            "rating_band",
            "fit_grade",
            "status",
            "horizon",
            "at",
            "scorecard_version_id",
            "model_version_id",
            "reasons",
        ),
        [
            (
                *row,
                stamp,
                active.scorecard_version_id,
                active.model_version_id,
                reasons.get(row[0], "[]"),
            )
            for row in values
        ],
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


def _rescore_frame(
    frame: pd.DataFrame,
    activities: pd.DataFrame | None,
    active: ActiveScoring,
    *,
    as_of: datetime,
    explain_later: bool = False,
    id_range: tuple[int, int] | None = None,
) -> tuple[int, int]:
    """Score, write back, record history. With ``id_range`` (whole-table rescoring) only the
    leads whose stored score changed are rewritten; ``scored_at`` and ``scorecard_version``
    of the rest are set by one range UPDATE (far cheaper than rewriting every column)."""
    if frame.empty:
        return 0, 0
    scores = score_frame(frame, activities, active, as_of=as_of)
    new = _merge_state(frame, scores)
    if id_range is None:
        _write_scores(new, scored_at=as_of, scorecard_number=active.scorecard_number)
    else:
        _write_scores(
            new.select(new.changed), scored_at=as_of, scorecard_number=active.scorecard_number
        )
        _touch_range(id_range, scored_at=as_of, scorecard_number=active.scorecard_number)
    return _write_history(new, frame, activities, active, at=as_of, explain_later=explain_later)


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
    frame = lead_frame(lead_ids, extra=(*STATE_FIELDS, "merged_into_id"))
    merged = frame.pop("merged_into_id").notna().to_numpy()
    if merged.any():
        frame = frame[~merged].reset_index(drop=True)
    activities = activity_frame(frame["id"].tolist(), until=when) if len(frame) else None
    n_status, n_snapshots = _rescore_frame(
        frame, activities, active, as_of=when, explain_later=explain_later
    )
    return RescoreResult(len(frame), n_status, n_snapshots, time.perf_counter() - started)


def rescore_all(
    *, batch_size: int = 50_000, progress: bool = True, as_of: datetime | None = None
) -> RescoreResult:
    """Rescore every open, unmerged lead in id-range batches (one transaction per batch).

    Batches are ranges of ``batch_size`` ids, so reading needs no id list and each
    transaction stays short; a crash leaves earlier batches scored and later ones untouched
    (nothing half-written).
    """
    from tqdm import tqdm

    started = time.perf_counter()
    when = as_of or timezone.now()
    active = get_active_scoring()
    open_leads = Lead.objects.filter(outcome=Outcome.OPEN, merged_into__isnull=True)
    bounds = open_leads.aggregate(low=Min("id"), high=Max("id"), n=Count("id"))
    n_scored = n_status = n_snapshots = 0
    bar = tqdm(total=bounds["n"], unit="lead", disable=not progress, smoothing=0.1)
    for first in range(bounds["low"] or 0, (bounds["high"] or -1) + 1, batch_size):
        last = first + batch_size - 1
        with transaction.atomic():
            frame = lead_frame(open_leads.filter(id__gte=first, id__lte=last), extra=STATE_FIELDS)
            activities = activity_frame_between(first, last)
            moved, snaps = _rescore_frame(
                frame, activities, active, as_of=when, id_range=(first, last)
            )
        n_scored += len(frame)
        n_status += moved
        n_snapshots += snaps
        bar.update(len(frame))
    bar.close()
    return RescoreResult(n_scored, n_status, n_snapshots, time.perf_counter() - started)


def rescore_touched_leads(lead_ids: Sequence[int]) -> None:
    """The ``LEADS_TOUCHED_HOOKS`` entry: rescore right after a capture, activity or edit.

    Small sets are scored in the committing request (one lead takes a few milliseconds);
    large ones (an import) go to the ``rescore_leads_task`` background task so the import
    returns at once.
    """
    ids = sorted({int(i) for i in lead_ids})
    if not ids:
        return
    try:
        if len(ids) > EVENT_TASK_THRESHOLD:
            from leadsieve.scoring.tasks import rescore_leads_task

            rescore_leads_task.enqueue(ids)
        else:
            rescore_leads(ids, explain_later=True)
    except Exception:
        # The capture is already committed and must not turn into an error page: a broken
        # scorecard, a missing active version or a locked database only delays the score.
        # The next `leadsieve rescore` (or the next touch) scores these leads.
        logger.exception("rescoring %d touched leads failed", len(ids))


# -- manual overrides ---------------------------------------------------------------------------


def _validate_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Say why you override the score (the team sees it)."})
    if len(reason) > REASON_MAX_LENGTH:
        raise ValidationError({"reason": f"At most {REASON_MAX_LENGTH} characters."})
    return reason


def set_status_by_hand(
    lead: Lead, status: str, *, user: Any, reason: str, via: str = "web"
) -> Lead:  # Any: the user model (settings.AUTH_USER_MODEL)
    """A person sets the status; the scorecard never overwrites it until it is cleared."""
    set_statuses_by_hand([lead.pk], status, user=user, reason=reason, via=via)
    return Lead.objects.get(pk=lead.pk)


@transaction.atomic
def set_statuses_by_hand(
    lead_ids: Sequence[int], status: str, *, user: Any, reason: str, via: str = "web"
) -> int:  # Any: the user model
    """The same for many leads at once (bulk actions): one audit row per lead, all or none."""
    if status not in Status.values:
        raise ValidationError(
            {"status": f"'{status}' is not a status ({', '.join(Status.values)})."}
        )
    reason = _validate_reason(reason)
    locked = Lead.objects.select_for_update().filter(pk__in=list(lead_ids))
    before = list(locked.values_list("pk", "status", "status_is_manual"))
    locked.update(
        status=status, status_reason=reason, status_is_manual=True, updated_at=timezone.now()
    )
    LeadChange.objects.bulk_create(
        LeadChange(
            lead_id=pk,
            user=user,
            via=via,
            action="status_override",
            changes={"status": [old, status], "status_is_manual": [was_manual, True]},
            note=reason,
        )
        for pk, old, was_manual in before
    )
    return len(before)


@transaction.atomic
def set_rating_by_hand(
    lead: Lead, rating: int, *, user: Any, reason: str, via: str = "web"
) -> Lead:  # Any: the user model
    """A person sets the 1–100 rating; rescoring keeps it until it is cleared."""
    if isinstance(rating, bool) or not isinstance(rating, int) or not 1 <= rating <= 100:
        raise ValidationError(
            {"rating": f"The rating must be a whole number 1–100, not {rating!r}."}
        )
    reason = _validate_reason(reason)
    lead = Lead.objects.select_for_update().get(pk=lead.pk)
    changes = {"rating": [lead.rating, rating], "rating_is_manual": [lead.rating_is_manual, True]}
    lead.rating, lead.rating_is_manual = rating, True
    lead.updated_at = timezone.now()
    lead.save(update_fields=["rating", "rating_is_manual", "updated_at"])
    LeadChange.objects.create(
        lead=lead, user=user, via=via, action="rating_override", changes=changes, note=reason
    )
    return lead


def clear_manual_status(lead: Lead, *, user: Any, via: str = "web") -> Lead:  # Any: user model
    """Hand the status back to the scorecard and rescore the lead at once."""
    return _clear_manual(lead, "status_is_manual", "status_override_cleared", user=user, via=via)


def clear_manual_rating(lead: Lead, *, user: Any, via: str = "web") -> Lead:  # Any: user model
    """Hand the rating back to the scorecard/model and rescore the lead at once."""
    return _clear_manual(lead, "rating_is_manual", "rating_override_cleared", user=user, via=via)


@transaction.atomic
def _clear_manual(lead: Lead, flag: str, action: str, *, user: Any, via: str) -> Lead:
    lead = Lead.objects.select_for_update().get(pk=lead.pk)
    if not getattr(lead, flag):
        return lead
    Lead.objects.filter(pk=lead.pk).update(**{flag: False})
    LeadChange.objects.create(
        lead=lead, user=user, via=via, action=action, changes={flag: [True, False]}
    )
    rescore_leads([lead.pk])
    return Lead.objects.get(pk=lead.pk)


# -- explanations -------------------------------------------------------------------------------


def explain_lead(lead: Lead, *, as_of: datetime | None = None) -> LeadExplanation:
    """Every criterion's points in plain words, plus the model's top factors when it rates.

    Computed fresh from the active versions (the stored columns may be a few seconds older);
    what a person set by hand is reported as such.
    """
    when = as_of or timezone.now()
    active = get_active_scoring()
    frame = lead_frame([lead.pk])
    activities = activity_frame([lead.pk], until=when)
    scores = score_frame(frame, activities, active, as_of=when)
    row = scores.iloc[0]
    criteria = active.scorecard.explain(frame, activities, as_of=when)[0]
    raising: list[ModelFactor] = []
    lowering: list[ModelFactor] = []
    if active.model is not None:
        for reason in explain_model(active.model, _model_frame(frame, active))[0]:
            factor = ModelFactor(reason.code.removeprefix("model:"), reason.label, reason.points)
            (raising if reason.points > 0 else lowering).append(factor)
    return LeadExplanation(
        lead_id=lead.pk,
        rating=lead.rating if lead.rating_is_manual else int(row["rating"]),
        rating_source=lead.rating_source if lead.rating_is_manual else str(row["rating_source"]),
        rating_is_manual=lead.rating_is_manual,
        probability=float(row["probability"]),
        fit_points=float(row["fit_points"]),
        fit_grade=str(row["fit_grade"]),
        interest_points=float(row["interest_points"]),
        readiness_points=float(row["readiness_points"]),
        status=lead.status if lead.status_is_manual else str(row["status"]),
        status_reason=lead.status_reason if lead.status_is_manual else str(row["status_reason"]),
        status_is_manual=lead.status_is_manual,
        horizon=str(row["horizon"]),
        horizon_reason=str(row["horizon_reason"]),
        scorecard_version=active.scorecard_number,
        model_version_id=active.model_version_id,
        criteria=criteria,
        raising=raising,
        lowering=lowering,
    )


# -- scorecard versions -------------------------------------------------------------------------


def validate_scorecard_config(config: Any) -> Scorecard:  # Any: untrusted parsed JSON
    """Parse and check a scorecard configuration; ``ValidationError`` says what is wrong.

    The engine validates a scorecard against a leads frame, so an empty frame with every
    column the adapter provides stands in for the leads.
    """
    if not isinstance(config, dict):
        raise ValidationError("The scorecard configuration must be a JSON object.")
    try:
        scorecard = Scorecard.from_dict(config)
        scorecard.score(lead_frame([]), None, as_of=timezone.now())
    except KeyError as error:
        raise ValidationError(f"The scorecard configuration misses the key {error}.") from None
    except (TypeError, ValueError, AttributeError) as error:
        raise ValidationError(f"The scorecard configuration is malformed: {error}") from None
    except (InvalidScorecard, EngineError) as error:
        raise ValidationError(f"The scorecard is invalid: {error}") from None
    return scorecard


@transaction.atomic
def create_scorecard_draft(
    config: dict[str, Any], *, user: Any = None, note: str = ""
) -> ScorecardVersion:  # Any: parsed JSON; the user model
    """Store a validated configuration as the next draft version."""
    validate_scorecard_config(config)
    last = ScorecardVersion.objects.select_for_update().order_by("-number").first()
    number = (last.number + 1) if last else 1
    return ScorecardVersion.objects.create(
        number=number, config=config, created_by=user, note=note[:300]
    )


@transaction.atomic
def publish_scorecard(version: ScorecardVersion, *, user: Any = None) -> ScorecardVersion:
    """Make ``version`` the active scorecard; the previous one is archived (never deleted).

    Rescoring is left to the caller (``leadsieve publish-scorecard`` runs ``rescore_all``).
    """
    validate_scorecard_config(version.config)
    version = ScorecardVersion.objects.select_for_update().get(pk=version.pk)
    if version.status == ScorecardStatus.ACTIVE:
        return version
    ScorecardVersion.objects.filter(status=ScorecardStatus.ACTIVE).update(
        status=ScorecardStatus.ARCHIVED
    )
    version.status = ScorecardStatus.ACTIVE
    version.published_at = timezone.now()
    version.save(update_fields=["status", "published_at"])
    return version


@transaction.atomic
def activate_model_version(version: ModelVersion) -> ModelVersion:
    """Make ``version`` the model that rates leads (the previous one stays, inactive)."""
    ModelVersion.objects.filter(is_active=True).exclude(pk=version.pk).update(is_active=False)
    ModelVersion.objects.filter(pk=version.pk).update(is_active=True)
    version.is_active = True
    return version


@transaction.atomic
def deactivate_models() -> int:
    """Back to scorecard ratings: no model is active afterwards."""
    return ModelVersion.objects.filter(is_active=True).update(is_active=False)
