"""Leakage guard: three relative rules, each column given a verdict in words.

A fixed threshold ("flag a column whose single-column ROC-AUC is 0.90 or more") misses the
leaks that matter most in practice: a column filled in after the outcome is known but noisy,
like "length of the last conversation" (single-column ROC-AUC about 0.8). So a column is
flagged (documented in docs/engine.md) when any of these holds:

1. **It alone beats the profile without it.** Its out-of-fold single-column ROC-AUC (the
   smoothed conversion rate of each value, numeric columns cut into 20 training quantile bins
   plus "missing", 5 seeded stratified folds) is at least ``MIN_ALONE_AUC`` and exceeds, by
   ``MARGIN``, the cross-validated ROC-AUC of a profile model built from every other honest
   column (a logistic regression on their out-of-fold encodings). Fields known at first
   contact each add a little; one that alone outpredicts all of them together was probably
   written by someone who already knew how the deal went.
2. **Its values were mostly set after the lead's first contact.** The caller passes, per
   column, the share of filled values that field history shows were set after first contact
   (``set_after_contact``); at least ``AFTER_CONTACT_SHARE`` is flagged.
3. **Its name says after the fact**: duration, last activity, status, tags, outcome, reason.

Columns already marked ``post_contact`` are reported too (the model never sees them). The
profile model of rule 1 uses only the columns none of the rules flags, so two leaks cannot
hide each other. Rule 1 runs on at most ``MAX_PROFILE_ROWS`` leads (a seeded stratified
sample): a handful of logistic regressions per column stays seconds at a million leads.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold, cross_val_predict

from leadsieve.engine.features import category_values, numeric_values
from leadsieve.engine.types import FeatureColumn, FeatureSpec

LEAKAGE_FOLDS = 5
LEAKAGE_BINS = 20
LEAKAGE_SMOOTHING = 10.0
MIN_ALONE_AUC = 0.70
MARGIN = 0.01
AFTER_CONTACT_SHARE = 0.5
PROFILE_FOLDS = 3
MAX_PROFILE_ROWS = 50_000
# Words in a column's name that say its value is known only after the fact.
AFTER_THE_FACT = re.compile(
    r"\b(duration|durations|last(?: \w+)? activity|status|statuses|tag|tags|outcome|outcomes"
    r"|reason|reasons)\b"
)


class LeakageWarning(UserWarning):
    """Emitted for each column flagged by ``leakage_report``."""


@dataclass(frozen=True)
class LeakageFinding:
    """One column's verdict: its single-column ROC-AUC, the rules it broke, in words.

    ``profile_auc`` is the ROC-AUC of the profile built without the column (``None`` when the
    column alone stays under ``MIN_ALONE_AUC``: nothing to compare); ``set_after_contact`` the
    share of its values set after first contact, when the caller knew it.
    """

    column: str
    auc: float
    is_flagged: bool
    post_contact: bool
    message: str
    reasons: tuple[str, ...] = ()
    profile_auc: float | None = None
    set_after_contact: float | None = None


def _numeric_codes(x: np.ndarray, train_idx: np.ndarray) -> np.ndarray:
    """Bin of each value by the training quantiles (1..), 0 for missing."""
    edges = np.unique(np.nanquantile(x[train_idx], np.linspace(0, 1, LEAKAGE_BINS + 1)[1:-1]))
    return np.where(np.isnan(x), 0, np.searchsorted(edges, x) + 1)


Folds = list[tuple[np.ndarray, np.ndarray]]


def fold_indices(y: np.ndarray, random_state: int) -> Folds:
    """The seeded stratified folds every column is judged on (computed once per report)."""
    splitter = StratifiedKFold(LEAKAGE_FOLDS, shuffle=True, random_state=random_state)
    return list(splitter.split(np.zeros(len(y)), y))


def out_of_fold_rates(series: pd.Series, kind: str, y: np.ndarray, folds: Folds) -> np.ndarray:
    """Each lead's smoothed conversion rate of its value, learnt on the other folds.

    Values are integer codes (categories factorised once; numbers binned on each training
    fold), so each fold's table is two ``bincount`` calls; a value unseen in training gets
    the prior.
    """
    numeric = numeric_values(series) if kind == "numeric" else None
    codes = None if numeric is not None else pd.factorize(category_values(series))[0]
    scores = np.empty(len(y))
    for train_idx, test_idx in folds:
        level = _numeric_codes(numeric, train_idx) if numeric is not None else codes
        assert level is not None
        size = int(level.max()) + 1
        prior = y[train_idx].mean()
        sums = np.bincount(level[train_idx], weights=y[train_idx], minlength=size)
        counts = np.bincount(level[train_idx], minlength=size)
        rate = (sums + LEAKAGE_SMOOTHING * prior) / (counts + LEAKAGE_SMOOTHING)
        scores[test_idx] = rate[level[test_idx]]
    return scores


def is_named_after_the_fact(name: str) -> bool:
    """Whether a column's name says its value is known only after the fact."""
    words = re.sub(r"[^a-z0-9]+", " ", name.lower().removeprefix("custom__")).strip()
    return AFTER_THE_FACT.search(words) is not None


def _profile_auc(logits: np.ndarray, y: np.ndarray, random_state: int) -> float:
    """Cross-validated ROC-AUC of a logistic regression on the given encoded columns."""
    if logits.shape[1] == 0:
        return 0.5
    folds = StratifiedKFold(PROFILE_FOLDS, shuffle=True, random_state=random_state)
    p = cross_val_predict(
        LogisticRegression(C=1.0, max_iter=200), logits, y, cv=folds, method="predict_proba"
    )[:, 1]
    return float(roc_auc_score(y, p))


def _sample(n: int, y: np.ndarray, random_state: int) -> np.ndarray:
    if n <= MAX_PROFILE_ROWS:
        return np.arange(n)
    rng = np.random.default_rng(random_state)
    picked = [
        rng.choice(np.flatnonzero(y == k), round(MAX_PROFILE_ROWS * np.mean(y == k)), False)
        for k in (0, 1)
    ]
    return np.sort(np.concatenate(picked))


def _verdict(column: FeatureColumn, auc: float, reasons: list[str], profile: float | None) -> str:
    name = f"'{column.name}'"
    if reasons:
        action = "kept out of the model" if column.post_contact else "mark it post-contact"
        return f"{name}: flagged, {'; '.join(reasons)}; alone ROC-AUC {auc:.3f} ({action})"
    if column.post_contact:
        return f"{name}: marked post-contact, never a feature (alone ROC-AUC {auc:.3f})"
    beaten = f", below the profile without it ({profile:.3f})" if profile is not None else ""
    return f"{name}: looks known at first contact (alone ROC-AUC {auc:.3f}{beaten})"


def leakage_report(
    leads: pd.DataFrame,
    outcomes: np.ndarray | pd.Series,
    feature_spec: FeatureSpec,
    *,
    set_after_contact: Mapping[str, float] | None = None,
    random_state: int = 0,
) -> list[LeakageFinding]:
    """A verdict for every spec column present in ``leads``, highest single-column AUC first.

    ``set_after_contact`` maps a column to the share (0–1) of its filled values that were set
    after the lead's first contact, where the caller's field history tells. Emits a
    ``LeakageWarning`` per flagged column (callers may also read ``is_flagged``).
    """
    y = np.asarray(outcomes).astype(int)
    after = dict(set_after_contact or {})
    present = [c for c in feature_spec.columns if c.name in leads.columns]
    folds = fold_indices(y, random_state)
    rates = {c.name: out_of_fold_rates(leads[c.name], c.kind, y, folds) for c in present}
    aucs = {name: float(roc_auc_score(y, r)) for name, r in rates.items()}
    reasons: dict[str, list[str]] = {c.name: [] for c in present}
    for column in present:
        if is_named_after_the_fact(column.name):
            reasons[column.name].append("its name says after the fact")
        share = after.get(column.name)
        if share is not None and share >= AFTER_CONTACT_SHARE:
            reasons[column.name].append(
                f"{share:.0%} of its values were set after the lead's first contact"
            )
    honest = [c.name for c in present if not c.post_contact and not reasons[c.name]]
    rows = _sample(len(y), y, random_state)
    eps = 1e-4
    encoded = {
        name: np.log(np.clip(r[rows], eps, 1 - eps) / np.clip(1 - r[rows], eps, 1 - eps))
        for name, r in rates.items()
    }
    profile: dict[str, float] = {}
    # Strongest first, and a flagged column leaves the profile: a weaker leak is then judged
    # against the profile without the stronger one.
    for column in sorted(present, key=lambda c: -aucs[c.name]):
        if aucs[column.name] < MIN_ALONE_AUC:
            continue
        others = [name for name in honest if name != column.name]
        matrix = (
            np.column_stack([encoded[n] for n in others]) if others else np.empty((len(rows), 0))
        )
        profile[column.name] = _profile_auc(matrix, y[rows], random_state)
        if aucs[column.name] >= profile[column.name] + MARGIN:
            reasons[column.name].append(
                f"alone it predicts the outcome better (ROC-AUC {aucs[column.name]:.3f}) than "
                f"the profile without it ({profile[column.name]:.3f})"
            )
            honest = others
    findings = []
    for column in present:
        flagged = bool(reasons[column.name])
        message = _verdict(
            column, aucs[column.name], reasons[column.name], profile.get(column.name)
        )
        if flagged:
            warnings.warn(message, LeakageWarning, stacklevel=2)
        findings.append(
            LeakageFinding(
                column.name,
                aucs[column.name],
                flagged,
                column.post_contact,
                message,
                tuple(reasons[column.name]),
                profile.get(column.name),
                after.get(column.name),
            )
        )
    return sorted(findings, key=lambda f: -f.auc)
