"""The engine's proposed scores merged with what people decided, as aligned arrays.

Two rules hold whatever the engine proposes:

* a status or rating a person set by hand (``status_is_manual`` / ``rating_is_manual``) is
  kept until that person's override is cleared with ``clear_manual_status``/``_rating``;
* the engine only moves a status among new/mql/sql/disqualified, and never touches a lead
  that is converted, working, won or lost (those are people's decisions).

``merge_scores`` is shared by whole-table rescoring and by the one-lead event path, so both
apply exactly the same rules and change flags.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd

from leadsieve.engine.model import rating as probability_rating
from leadsieve.leads.models import Outcome, RatingSource, Status
from leadsieve.scoring.models import N_RATING_BANDS
from leadsieve.scoring.queries import ActiveScoring

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


def model_frame(frame: pd.DataFrame, active: ActiveScoring) -> pd.DataFrame:
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
        probability = active.model.predict_proba(model_frame(frame, active))
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


def merge_scores(frame: pd.DataFrame, scores: pd.DataFrame) -> NewScores:
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
    old_band = rating_band(old_rating)
    new_band = rating_band(rating.astype(float))
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
