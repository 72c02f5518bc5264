"""How training measures a model: a time split when the creation dates spread, else
stratified cross-validation, and never a split on file order.

A time split (fit on older leads, judge on the newest) is the honest measure of a model that
will rate tomorrow's leads, but only when ``created_at`` says when each lead arrived. An
import without dates gives every lead the same moment, and "the newest 20 %" then means the
last rows of the file. So the dates **spread** when all of these hold:

- every closed lead has a creation date;
- they span at least ``MIN_SPAN_DAYS`` days;
- a cut on the *time* (leads created at the same moment stay together) leaves between
  ``MIN_TEST_SHARE`` and ``MAX_TEST_SHARE`` of the leads after it, with at least
  ``MIN_PER_OUTCOME`` won and lost ones each.

Otherwise training uses ``CV_FOLDS``-fold stratified cross-validation (seeded) and says why
in words (``why``), stored with the model and printed by ``leadsieve train``.

Both report ROC-AUC and log-loss with their sd (bootstrap of the holdout for a time split,
across folds for cross-validation): the champion/challenger rule compares figures with their
noise (``scoring.champion``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedKFold

from leadsieve.engine.backtest import bootstrap_sd, classification_metrics, max_band_gap
from leadsieve.engine.model import ConversionModel
from leadsieve.engine.types import FeatureSpec

MIN_SPAN_DAYS = 30
MIN_TEST_SHARE = 0.10
MAX_TEST_SHARE = 0.30
MIN_PER_OUTCOME = 5
CV_FOLDS = 3
TIME_SPLIT = "time split"
CROSS_VALIDATION = "stratified cross-validation"


@dataclass(frozen=True)
class HoldoutPlan:
    """Which measure training uses, why in words, and (time split) the newest leads' mask."""

    method: str
    why: str
    is_test: np.ndarray | None = None


def _cv(why: str) -> HoldoutPlan:
    return HoldoutPlan(
        CROSS_VALIDATION, f"{why}: measured by {CV_FOLDS}-fold stratified cross-validation instead"
    )


def plan_holdout(created_at: pd.Series, y: np.ndarray, fraction: float) -> HoldoutPlan:
    """A time split on the newest ``fraction`` when the dates spread, else cross-validation."""
    times = pd.to_datetime(created_at, utc=True, errors="coerce")
    n_missing = int(times.isna().sum())
    if n_missing:
        return _cv(f"{n_missing} of {len(times)} closed leads have no creation date")
    span_days = (times.max() - times.min()).total_seconds() / 86400
    if span_days < MIN_SPAN_DAYS:
        when = (
            "were all created at the same moment"
            if span_days == 0
            else f"were created within {span_days:.1f} days"
        )
        return _cv(
            f"the closed leads {when} (a time split needs {MIN_SPAN_DAYS} days or more; "
            "import their creation dates to get one)"
        )
    ordered = np.sort(times.to_numpy())
    cutoff = ordered[min(len(ordered) - 1, max(0, round(len(ordered) * (1 - fraction))))]
    is_test = (times >= cutoff).to_numpy()
    share = float(is_test.mean())
    if not MIN_TEST_SHARE <= share <= MAX_TEST_SHARE:
        is_test = (times > cutoff).to_numpy()
        share = float(is_test.mean())
    if not MIN_TEST_SHARE <= share <= MAX_TEST_SHARE:
        return _cv(
            "too many closed leads share one creation moment around "
            f"{pd.Timestamp(cutoff):%Y-%m-%d} for a cut on time"
        )
    y_test = y[is_test]
    if min(int(y_test.sum()), int((1 - y_test).sum())) < MIN_PER_OUTCOME:
        return _cv(f"fewer than {MIN_PER_OUTCOME} won or lost leads among the newest ones")
    return HoldoutPlan(
        TIME_SPLIT,
        f"creation dates spread over {span_days:.0f} days: fitted on the older leads, "
        f"measured on the {int(is_test.sum())} created from {pd.Timestamp(cutoff):%Y-%m-%d}",
        is_test,
    )


def _rounded(metrics: dict[str, float]) -> dict[str, Any]:  # Any: JSON values
    return {key: round(float(value), 4) for key, value in metrics.items()}


@dataclass(frozen=True)
class Measured:
    """A holdout: its stored figures, and which rows were judged with which predictions.

    ``rows`` index the training frame (the newest leads of a time split; every row under
    cross-validation), ``p`` is the challenger's out-of-sample probability of each and
    ``fold`` its cross-validation fold (``None`` for a time split). The champion rule judges
    the incumbent on exactly these rows (``scoring.champion``)."""

    figures: dict[str, Any]  # Any: JSON values of mixed types
    rows: np.ndarray
    p: np.ndarray
    fold: np.ndarray | None = None


def figures_on_rows(
    y: np.ndarray, p: np.ndarray, fold: np.ndarray | None, *, random_state: int = 0
) -> dict[str, Any]:  # Any: JSON values
    """ROC-AUC and log-loss of ``p`` (with the rest of the engine's metrics) and their sd,
    measured the way a holdout measures: over the rows with a bootstrap sd when ``fold`` is
    ``None``, else the mean of the folds with the sd across them. The same call measures a
    challenger and whatever it is judged against, so both carry the same kind of noise."""
    if fold is None:
        metrics = _rounded(classification_metrics(y, p))
        auc_sd, loss_sd = bootstrap_sd(y, p, random_state=random_state)
        return {**metrics, "roc_auc_sd": round(auc_sd, 4), "log_loss_sd": round(loss_sd, 4)}
    table = pd.DataFrame(
        [classification_metrics(y[fold == k], p[fold == k]) for k in np.unique(fold)]
    )
    return {
        **_rounded(table.mean().to_dict()),
        "roc_auc_sd": round(float(table["roc_auc"].std(ddof=1)), 4),
        "log_loss_sd": round(float(table["log_loss"].std(ddof=1)), 4),
    }


def measure(
    frame: pd.DataFrame,
    y: np.ndarray,
    spec: FeatureSpec,
    params: dict[str, Any],  # Any: ConversionModel keyword arguments
    fraction: float,
    progress: Callable[[str], None] | None = None,
    prior: np.ndarray | None = None,
) -> Measured:
    """The holdout figures stored with a model (method, why, metrics and their sd), with the
    rows judged and the challenger's predictions on them.

    ``prior``: the scorecard's probability of each lead as it arrived (``scoring.prior``),
    split with the rows like every other column."""

    def part(index: np.ndarray) -> np.ndarray | None:
        return None if prior is None else prior[index]

    plan = plan_holdout(frame["created_at"], y, fraction)
    if progress is not None:
        progress(f"measuring by {plan.method}: {plan.why}")
    seed = int(params.get("random_state", 0))
    if plan.is_test is not None:
        train_idx, test_idx = np.flatnonzero(~plan.is_test), np.flatnonzero(plan.is_test)
        model = ConversionModel(**params).fit(
            frame.iloc[train_idx].reset_index(drop=True),
            y[train_idx],
            feature_spec=spec,
            prior=part(train_idx),
        )
        p = model.predict_proba(frame.iloc[test_idx].reset_index(drop=True), prior=part(test_idx))
        metrics = figures_on_rows(y[test_idx], p, None, random_state=seed)
        metrics.update(
            max_band_gap_pts=round(max_band_gap(y[test_idx], p, min_count=30), 2),
            n_train=len(train_idx),
            n_test=len(test_idx),
            test_from=str(frame["created_at"].iloc[test_idx].min()),
        )
        return Measured({"method": plan.method, "why": plan.why, **metrics}, test_idx, p)
    folds = StratifiedKFold(CV_FOLDS, shuffle=True, random_state=seed)
    pooled = np.empty(len(y))
    fold = np.empty(len(y), dtype=int)
    for number, (train_idx, test_idx) in enumerate(folds.split(np.zeros(len(y)), y), start=1):
        if progress is not None:
            progress(f"cross-validation fold {number} of {CV_FOLDS}")
        model = ConversionModel(**params).fit(
            frame.iloc[train_idx].reset_index(drop=True),
            y[train_idx],
            feature_spec=spec,
            prior=part(train_idx),
        )
        pooled[test_idx] = model.predict_proba(
            frame.iloc[test_idx].reset_index(drop=True), prior=part(test_idx)
        )
        fold[test_idx] = number
    metrics = figures_on_rows(y, pooled, fold)
    metrics.update(
        max_band_gap_pts=round(max_band_gap(y, pooled, min_count=30), 2),
        n_folds=CV_FOLDS,
        n_train=len(y) - len(y) // CV_FOLDS,
        n_test=len(y),
    )
    return Measured(
        {"method": plan.method, "why": plan.why, **metrics}, np.arange(len(y)), pooled, fold
    )
