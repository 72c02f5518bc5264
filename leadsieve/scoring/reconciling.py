"""The engine's proposed scores reconciled with what people decided, as aligned arrays.

Two rules hold whatever the engine proposes:

* a status or rating a person set by hand (``status_is_manual`` / ``rating_is_manual``) is
  kept until that person's override is cleared with ``clear_manual_status``/``_rating``;
* the engine only moves a status among new/mql/sql/disqualified, and never touches a lead
  that is converted, working, won or lost (those are people's decisions).

``reconcile_scores`` is shared by whole-table rescoring and by the one-lead event path, so both
apply exactly the same rules and change flags.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, TypeAlias

import numpy as np
import pandas as pd

from leadsieve.engine.ratings import rating as probability_rating
from leadsieve.engine.scorecard import CompactExplanation, ScoreArrays
from leadsieve.leads.models import Outcome, RatingSource, Status
from leadsieve.scoring.models import N_RATING_BANDS
from leadsieve.scoring.prior import model_probability
from leadsieve.scoring.queries import ActiveScoring
from leadsieve.scoring.time_to_close import horizon_from_time_to_close

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


def rating_band(ratings: np.ndarray) -> np.ndarray:
    """Bands 1..10 of ratings 1..100 (0 where there is no rating)."""
    values = np.nan_to_num(ratings.astype(float), nan=0.0)
    return np.where(values > 0, np.clip((values - 1) // 10 + 1, 1, N_RATING_BANDS), 0).astype(int)


# Leads as read by ``frames``: a DataFrame, or a mapping of column name to array.
LeadColumns: TypeAlias = pd.DataFrame | Mapping[str, Any]  # Any: numpy arrays or pandas arrays


def model_frame(frame: LeadColumns, active: ActiveScoring) -> pd.DataFrame:
    """The leads frame with every column the model was trained on (missing ones empty)."""
    assert active.model_spec is not None
    if not isinstance(frame, pd.DataFrame):
        frame = pd.DataFrame(dict(frame))
    missing = [c.name for c in active.model_spec.columns if c.name not in frame.columns]
    if not missing:
        return frame
    return frame.assign(**{name: None for name in missing})


def engine_columns(active: ActiveScoring) -> frozenset[str]:
    """The lead columns the active scorecard and model read (what rescoring must load)."""
    scorecard = active.scorecard
    names = {c.column for c in scorecard.criteria if c.column}
    names.add(scorecard.horizon.timeline_column)
    if active.model_spec is not None:
        names.update(column.name for column in active.model_spec.columns)
        names.add("created_at")  # the scorecard's prior is as of arrival (scoring/prior.py)
    if active.time_to_close is not None:
        names.add("created_at")  # the horizon depends on how long a lead is open
    return frozenset(name for name in names if name)


@dataclass(frozen=True)
class EngineScores:
    """The engine's proposal for each lead: the scorecard's arrays, the model's rating if any."""

    arrays: ScoreArrays
    rating_source: str
    explained: CompactExplanation | None = None  # the scorecard's reasons, when asked for


def score_leads(
    leads: LeadColumns,
    activities: LeadColumns | None,
    active: ActiveScoring,
    *,
    as_of: datetime | pd.Series,
    explain: bool = False,
) -> EngineScores:
    """Scores as plain arrays (no DataFrame unless a model rates), the rating from the model
    when there is one, and the horizon from the time-to-decision model trained with it (the
    scorecard's rules otherwise); with ``explain``, every lead's scorecard reasons from the
    same pass."""
    explained = None
    if explain:
        arrays, explained = active.scorecard.score_and_explain(leads, activities, as_of=as_of)
    else:
        arrays = active.scorecard.score_arrays(leads, activities, as_of=as_of)
    if active.model is None:
        return EngineScores(arrays, RatingSource.SCORECARD, explained)
    frame = model_frame(leads, active)
    probability = model_probability(active.model, active.scorecard, frame)
    arrays = replace(arrays, probability=probability, rating=probability_rating(probability))
    if active.time_to_close is not None:
        horizon, reason = horizon_from_time_to_close(active.time_to_close, frame, as_of)
        arrays = replace(arrays, horizon=horizon, horizon_reason=reason)
    return EngineScores(arrays, RatingSource.MODEL, explained)


def is_mostly_new(leads: LeadColumns) -> bool:
    """Whether most of these leads were never scored: then nearly all get a snapshot, and
    explaining every lead in the scoring pass costs less than a second pass over them."""
    never = np.asarray(pd.isna(leads["scored_at"]), dtype=bool)
    return bool(len(never)) and 2 * int(never.sum()) > len(never)


def score_frame(
    frame: pd.DataFrame,
    activities: pd.DataFrame | None,
    active: ActiveScoring,
    *,
    as_of: datetime | pd.Series,
) -> pd.DataFrame:
    """The same scores as a frame indexed by lead id (explanations read rows of it)."""
    scores = score_leads(frame, activities, active, as_of=as_of)
    out = scores.arrays.frame()
    out["rating_source"] = scores.rating_source
    return out


@dataclass
class NewScores:
    """Per lead (aligned arrays): the values to store and what moved since the last score.

    Plain numpy arrays rather than a DataFrame: a one-lead event pays microseconds, not the
    ~0.1 ms pandas charges per column assignment. ``moved`` says, per written column, which
    leads' stored value differs (small writes update only those columns).
    """

    ids: np.ndarray
    columns: dict[str, np.ndarray]
    old_status: np.ndarray
    status_moved: np.ndarray
    rating_band: np.ndarray
    snapshot: np.ndarray
    changed: np.ndarray
    moved: dict[str, np.ndarray]

    def select(self, mask: np.ndarray) -> NewScores:
        return NewScores(
            self.ids[mask],
            {k: v[mask] for k, v in self.columns.items()},
            self.old_status[mask],
            self.status_moved[mask],
            self.rating_band[mask],
            self.snapshot[mask],
            self.changed[mask],
            {k: v[mask] for k, v in self.moved.items()},
        )


def _array(frame: LeadColumns, name: str, dtype: Any = object) -> np.ndarray:  # Any: a dtype
    return np.asarray(frame[name], dtype=dtype)


def _floats(frame: LeadColumns, name: str) -> np.ndarray:
    values = frame[name]
    if isinstance(values, np.ndarray) and values.dtype.kind == "f":
        return values
    try:  # numbers and None (NaN) as the database returns them
        return np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        return np.asarray(pd.to_numeric(pd.Series(values), errors="coerce"), dtype=float)


def reconcile_scores(frame: LeadColumns, scores: EngineScores) -> NewScores:
    """New column values after the manual-override and status rules, plus change flags."""
    arrays = scores.arrays
    ids = _array(frame, "id", np.int64)
    n = len(ids)
    proposed_status = arrays.status.texts()
    proposed_reason = arrays.status_reason.texts(REASON_MAX_LENGTH)
    old_status = _array(frame, "status")
    may_move = (
        ~_array(frame, "status_is_manual", bool)
        & (_array(frame, "outcome") == Outcome.OPEN)
        & np.isin(old_status, list(ENGINE_STATUSES))
    )
    status = np.where(may_move, proposed_status, old_status)
    old_rating = _floats(frame, "rating")
    keep_rating = _array(frame, "rating_is_manual", bool) & ~np.isnan(old_rating)
    rating = np.where(keep_rating, old_rating, arrays.rating.astype(float)).astype(int)
    fit_grade = arrays.fit_grade.texts()
    horizon = arrays.horizon.texts()
    columns = {
        "rating": rating,
        "rating_source": np.where(
            keep_rating, _array(frame, "rating_source"), np.full(n, scores.rating_source, object)
        ),
        "fit_points": arrays.fit_points.round(POINTS_DECIMALS),
        "fit_grade": fit_grade,
        "interest_points": arrays.interest_points.round(POINTS_DECIMALS),
        "readiness_points": arrays.readiness_points.round(POINTS_DECIMALS),
        "horizon": horizon,
        "horizon_reason": arrays.horizon_reason.texts(REASON_MAX_LENGTH),
        "status": status,
        # None keeps the stored reason: the one a person gave with a manual status.
        "status_reason": np.where(may_move, proposed_reason, np.full(n, None, dtype=object)),
    }
    never_scored = np.asarray(pd.isna(frame["scored_at"]), dtype=bool)  # no Timestamp boxing
    old_band = rating_band(old_rating)
    new_band = rating_band(rating.astype(float))
    old_grade = _array(frame, "fit_grade")
    old_horizon = _array(frame, "horizon")
    snapshot = (
        never_scored
        | (old_status != status)
        | (old_grade != fit_grade)
        | (old_horizon != horizon)
        | (old_band != new_band)
    )
    moved = {"rating": old_rating != rating}
    for name in ("fit_points", "interest_points", "readiness_points"):
        stored = _floats(frame, name)
        moved[name] = ~np.isclose(stored, columns[name], rtol=0.0, atol=POINTS_TOLERANCE)
    for name in ("rating_source", "fit_grade", "horizon", "horizon_reason", "status"):
        moved[name] = _array(frame, name) != columns[name]
    reason = columns["status_reason"]
    moved["status_reason"] = ~pd.isna(reason) & (_array(frame, "status_reason") != reason)
    changed = never_scored.copy()
    for flags in moved.values():
        changed |= flags
    status_moved = may_move & (status != old_status)
    return NewScores(ids, columns, old_status, status_moved, new_band, snapshot, changed, moved)
