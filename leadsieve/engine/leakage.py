"""Leakage check: warn when one column alone predicts the outcome almost perfectly.

Rule (documented in docs/engine.md): for every column of the feature spec, post-contact or
not, fit a one-column model out of fold (5 stratified folds, seeded) — the smoothed conversion
rate of each value, numeric columns cut into 20 training quantile bins plus "missing" — and
measure its ROC-AUC. A column at or above ``threshold`` (default 0.90) is flagged: honest
first-contact fields rarely separate won from lost that well, while fields the sales team fills
in after contact (tags like "Closed by Horizzon", lead quality) do. Flagged columns should be
marked ``post_contact=True`` so the model never sees them.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold

from leadsieve.engine.features import category_values, numeric_values
from leadsieve.engine.types import FeatureSpec

LEAKAGE_AUC_THRESHOLD = 0.90
LEAKAGE_FOLDS = 5
LEAKAGE_BINS = 20
LEAKAGE_SMOOTHING = 10.0


class LeakageWarning(UserWarning):
    """Emitted for each column flagged by ``leakage_report``."""


@dataclass(frozen=True)
class LeakageFinding:
    """One column's single-feature out-of-fold ROC-AUC and whether it is flagged."""

    column: str
    auc: float
    is_flagged: bool
    post_contact: bool
    message: str


def _as_levels(series: pd.Series, kind: str, train_idx: np.ndarray) -> np.ndarray:
    if kind != "numeric":
        return category_values(series)
    x = numeric_values(series)
    edges = np.unique(np.nanquantile(x[train_idx], np.linspace(0, 1, LEAKAGE_BINS + 1)[1:-1]))
    return np.where(np.isnan(x), -1, np.searchsorted(edges, x)).astype(str)


def single_column_auc(series: pd.Series, kind: str, y: np.ndarray, random_state: int) -> float:
    """Out-of-fold ROC-AUC of the smoothed per-value conversion rate of one column."""
    folds = StratifiedKFold(LEAKAGE_FOLDS, shuffle=True, random_state=random_state)
    scores = np.empty(len(y))
    for train_idx, test_idx in folds.split(np.zeros(len(y)), y):
        levels = _as_levels(series, kind, train_idx)
        prior = y[train_idx].mean()
        table = pd.DataFrame({"v": levels[train_idx], "y": y[train_idx]}).groupby("v")["y"]
        stats = table.agg(["sum", "count"])
        rate = (stats["sum"] + LEAKAGE_SMOOTHING * prior) / (stats["count"] + LEAKAGE_SMOOTHING)
        scores[test_idx] = pd.Series(levels[test_idx]).map(rate).fillna(prior).to_numpy()
    return float(roc_auc_score(y, scores))


def leakage_report(
    leads: pd.DataFrame,
    outcomes: np.ndarray | pd.Series,
    feature_spec: FeatureSpec,
    *,
    threshold: float = LEAKAGE_AUC_THRESHOLD,
    random_state: int = 0,
) -> list[LeakageFinding]:
    """Findings for every spec column present in ``leads``, highest AUC first.

    Emits a ``LeakageWarning`` per flagged column (callers may also read ``is_flagged``).
    """
    y = np.asarray(outcomes).astype(int)
    findings = []
    for column in feature_spec.columns:
        if column.name not in leads.columns:
            continue
        auc = single_column_auc(leads[column.name], column.kind, y, random_state)
        flagged = auc >= threshold
        message = (
            f"'{column.name}' alone predicts the outcome with ROC-AUC {auc:.3f}"
            f" (≥ {threshold:.2f}): probably filled in after contact; mark it post_contact"
            if flagged
            else f"'{column.name}': single-column ROC-AUC {auc:.3f}"
        )
        if flagged:
            warnings.warn(message, LeakageWarning, stacklevel=2)
        findings.append(LeakageFinding(column.name, auc, flagged, column.post_contact, message))
    return sorted(findings, key=lambda f: -f.auc)
