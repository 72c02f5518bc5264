"""Time to decision: how long a lead takes from capture (first contact) to a decision.

A survival model, because most of the history is unfinished: a lead still open after 40 days
says "no decision in 40 days", not "no decision ever", and dropping it (or counting it as
lost) biases every estimate. ``TimeToCloseModel`` is a proportional-hazards model with a
piecewise-constant baseline hazard (the "piecewise exponential" model, the Cox model with the
baseline hazard constant between fixed cuts of the time axis)::

    hazard(t | lead) = exp(log_hazard_[j] + x · coef_)   for cuts_days[j] <= t < cuts_days[j+1]

fitted by L2-penalised maximum likelihood (scipy's L-BFGS, analytic gradient) on each lead's
exposure in each interval, so no person-period rows are ever built: the cost is one pass of a
sparse design matrix per iteration. The penalty is chosen by inner cross-validation on the
held-out log-likelihood. ``x`` is a one-hot of each categorical column's frequent levels and
the standardised numeric and bool columns with a missing flag, known at first contact only
(the ``FeatureSpec``'s usable columns, as the conversion model).

What callers may rely on:

* ``predict_decision_proba(leads, days, age_days=...)``: P(a decision within each of ``days``
  from now), *given the lead is still open at its age* (conditional survival), shape
  ``(n_leads, len(days))``;
* ``predict_median_days``: the days from now until the decision is as likely as not, ``inf``
  when that lies beyond the longest time the history has seen (no extrapolation);
* ``to_dict``/``from_dict`` round-trip exactly through JSON; the Kaplan–Meier curve of the
  training history is stored with the model (the no-covariate baseline it is judged against).

``kaplan_meier``, ``concordance_index`` and ``calibration_at`` are the evaluation tools: Harrell's
C (higher risk, earlier decision) and, at one horizon, predicted probability per risk group
against the Kaplan–Meier estimate of the same group (which handles censoring).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.optimize import minimize
from threadpoolctl import threadpool_limits  # installed with scikit-learn

from leadsieve.engine.exceptions import InvalidInput, NotFitted
from leadsieve.engine.features import (
    MISSING,
    bool_values,
    category_codes,
    category_values,
    numeric_values,
)
from leadsieve.engine.scorecard import HORIZONS, Coded
from leadsieve.engine.types import ENGINE_VERSION, FeatureSpec

KIND = "time_to_close"
DEFAULT_CUTS_DAYS: tuple[float, ...] = (0.0, 7.0, 14.0, 30.0, 60.0, 90.0, 180.0, 365.0)
DEFAULT_L2_GRID: tuple[float, ...] = (1.0, 10.0, 100.0)
HORIZON_DAYS: tuple[int, ...] = (30, 90, 180)
INNER_FOLDS = 3
# The horizon from the model: short-range when a decision within SHORT_RANGE_DAYS is at least
# SHORT_RANGE_AT_LEAST likely — what the scorecard's short timelines ("now", "quarter") say.
SHORT_RANGE_DAYS = 90.0
SHORT_RANGE_AT_LEAST = 0.5
# The baseline's log-hazards are pulled (weakly) toward the pooled rate: an interval without a
# decision would otherwise run to minus infinity.
BASELINE_SHRINK = 1.0
MAX_ITER = 500
SMALL_BATCH = 16  # up to this many leads, text columns are read value by value


@dataclass(frozen=True)
class TimeToCloseParams:
    """Constructor arguments (JSON-serialisable)."""

    cuts_days: tuple[float, ...] = DEFAULT_CUTS_DAYS
    l2_grid: tuple[float, ...] = DEFAULT_L2_GRID
    min_level_count: int = 10
    max_levels: int = 100
    random_state: int = 0


@dataclass
class _Encoding:
    """How one column becomes design-matrix columns."""

    name: str
    kind: str
    levels: list[str] = field(default_factory=list)  # categorical: one-hot levels
    center: float = 0.0  # numeric / bool: standardisation
    scale: float = 1.0


def _signed_log(x: np.ndarray) -> np.ndarray:
    return np.asarray(np.sign(x) * np.log1p(np.abs(x)))


def _fit_encoding(
    name: str, kind: str, series: pd.Series, min_count: int, max_levels: int
) -> _Encoding:
    if kind == "categorical":
        values, counts = np.unique(category_values(series), return_counts=True)
        order = np.lexsort((values, -counts))  # most frequent first, ties by name
        kept = [str(values[i]) for i in order if counts[i] >= min_count][:max_levels]
        return _Encoding(name, kind, levels=kept)
    x = _numeric(series, kind)
    seen = x[~np.isnan(x)]
    if len(seen) == 0:
        return _Encoding(name, kind)
    center = float(np.mean(seen))
    scale = float(np.std(seen))
    return _Encoding(name, kind, center=center, scale=scale if scale > 0 else 1.0)


def _numeric(series: pd.Series, kind: str) -> np.ndarray:
    if kind == "bool":
        return bool_values(series)
    return _signed_log(numeric_values(series))


def _design(leads: pd.DataFrame, encodings: list[_Encoding]) -> sparse.csr_matrix:
    """The sparse design matrix of ``leads`` (a missing column is all-missing)."""
    n = len(leads)
    blocks: list[sparse.csr_matrix] = []
    for enc in encodings:
        series = leads[enc.name] if enc.name in leads.columns else pd.Series([None] * n)
        if enc.kind == "categorical":
            lookup = {level: i for i, level in enumerate(enc.levels)}
            codes = pd.Series(category_values(series)).map(lookup).to_numpy(dtype=float)
            rows = np.flatnonzero(~np.isnan(codes))
            block = sparse.csr_matrix(
                (np.ones(len(rows)), (rows, codes[rows].astype(np.int64))),
                shape=(n, max(len(enc.levels), 0)),
            )
        else:
            x = _numeric(series, enc.kind)
            missing = np.isnan(x)
            z = np.where(missing, 0.0, (np.nan_to_num(x) - enc.center) / enc.scale)
            block = sparse.csr_matrix(np.column_stack([z, missing.astype(float)]))
        blocks.append(block)
    if not blocks:
        return sparse.csr_matrix((n, 0))
    return sparse.csr_matrix(sparse.hstack(blocks, format="csr"))


def _category_text(value: Any) -> str:  # Any: a cell of a text column
    """``category_values`` for one value: stripped text, ``MISSING`` for blank or missing."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return MISSING
    return str(value).strip() or MISSING


def _linear_predictor(
    leads: pd.DataFrame, encodings: list[_Encoding], coef: np.ndarray
) -> np.ndarray:
    """``_design(leads, encodings) @ coef`` without building the matrix: per categorical
    column one weight looked up per distinct value, per numeric column two terms. Scoring one
    lead on an event then costs tens of microseconds per column, not a sparse matrix."""
    n = len(leads)
    eta = np.zeros(n)
    offset = 0
    for enc in encodings:
        series = leads[enc.name] if enc.name in leads.columns else pd.Series([None] * n)
        if enc.kind == "categorical":
            weights = dict(zip(enc.levels, coef[offset : offset + len(enc.levels)], strict=True))
            if n <= SMALL_BATCH:  # pandas' factorize costs ~50 µs a call whatever the size
                eta += [weights.get(_category_text(v), 0.0) for v in series.tolist()]
            else:
                codes, distinct = category_codes(series)
                eta += np.array([weights.get(str(v), 0.0) for v in distinct])[codes]
            offset += len(enc.levels)
        else:
            x = _numeric(series, enc.kind)
            missing = np.isnan(x)
            z = (np.nan_to_num(x) - enc.center) / enc.scale
            eta += np.where(missing, coef[offset + 1], z * coef[offset])
            offset += 2
    return eta


def _exposure(durations: np.ndarray, cuts: np.ndarray) -> np.ndarray:
    """Days each lead spent in each interval of the time axis, shape ``(n, len(cuts))``."""
    widths = np.append(np.diff(cuts), np.inf)
    return np.asarray(np.clip(durations[:, None] - cuts[None, :], 0.0, widths[None, :]))


def _interval(durations: np.ndarray, cuts: np.ndarray) -> np.ndarray:
    return np.asarray(np.searchsorted(cuts, durations, side="right") - 1)


@dataclass(frozen=True)
class _Data:
    """What the likelihood needs, computed once per fit."""

    X: sparse.csr_matrix
    XT: sparse.csr_matrix  # X transposed, row-major: the gradient's product is then as fast
    exposure: np.ndarray
    events_per_interval: np.ndarray
    event_x: np.ndarray  # sum of x over leads with a decision


def _prepare(
    X: sparse.csr_matrix, durations: np.ndarray, decided: np.ndarray, cuts: np.ndarray
) -> _Data:
    exposure = _exposure(durations, cuts)
    k = _interval(durations[decided], cuts)
    events = np.bincount(k, minlength=len(cuts)).astype(float)
    event_x = np.asarray(X[decided].sum(axis=0)).ravel()
    return _Data(X, sparse.csr_matrix(X.T), exposure, events, event_x)


def _pooled_log_rate(data: _Data) -> float:
    rate = (data.events_per_interval.sum() + 0.5) / (data.exposure.sum() + 1.0)
    return float(np.log(rate))


def _log_likelihood(theta: np.ndarray, data: _Data) -> tuple[float, np.ndarray, np.ndarray]:
    """Log-likelihood, and per lead its risk and cumulative baseline hazard (for gradients)."""
    n_cuts = data.exposure.shape[1]
    alpha, beta = theta[:n_cuts], theta[n_cuts:]
    risk = np.exp(np.clip(data.X @ beta, -30.0, 30.0))
    cumulative = data.exposure @ np.exp(alpha)
    loglik = data.events_per_interval @ alpha + data.event_x @ beta - risk @ cumulative
    return float(loglik), risk, cumulative


def _objective(theta: np.ndarray, data: _Data, l2: float, prior: float) -> tuple[float, np.ndarray]:
    """Penalised negative log-likelihood and its gradient; ``theta`` = (log_hazard, coef)."""
    n_cuts = data.exposure.shape[1]
    alpha, beta = theta[:n_cuts], theta[n_cuts:]
    loglik, risk, cumulative = _log_likelihood(theta, data)
    shrink = alpha - prior
    value = -loglik + 0.5 * l2 * float(beta @ beta) + 0.5 * BASELINE_SHRINK * float(shrink @ shrink)
    grad_alpha = -data.events_per_interval + (risk @ data.exposure) * np.exp(alpha)
    grad_alpha += BASELINE_SHRINK * shrink
    grad_beta = -data.event_x + data.XT @ (risk * cumulative) + l2 * beta
    return float(value), np.concatenate([grad_alpha, grad_beta])


def _fit_theta(data: _Data, l2: float) -> np.ndarray:
    n_cuts = data.exposure.shape[1]
    prior = _pooled_log_rate(data)
    theta0 = np.concatenate([np.full(n_cuts, prior), np.zeros(data.X.shape[1])])
    result = minimize(
        _objective,
        theta0,
        args=(data, l2, prior),
        jac=True,
        method="L-BFGS-B",
        options={"maxiter": MAX_ITER},
    )
    return np.asarray(result.x)


class TimeToCloseModel:
    """Proportional hazards with a piecewise-constant baseline; see the module text."""

    def __init__(
        self,
        *,
        cuts_days: tuple[float, ...] = DEFAULT_CUTS_DAYS,
        l2_grid: tuple[float, ...] = DEFAULT_L2_GRID,
        min_level_count: int = 10,
        max_levels: int = 100,
        random_state: int = 0,
    ) -> None:
        self.params = TimeToCloseParams(
            cuts_days=cuts_days,
            l2_grid=l2_grid,
            min_level_count=min_level_count,
            max_levels=max_levels,
            random_state=random_state,
        )

    # -- fitting ---------------------------------------------------------------------------
    def fit(
        self,
        leads: pd.DataFrame,
        durations_days: np.ndarray,
        decided: np.ndarray,
        *,
        feature_spec: FeatureSpec,
    ) -> TimeToCloseModel:
        """Fit on every lead with a known start: ``durations_days`` until the decision where
        ``decided``, else until now (censored). Returns ``self``."""
        t = np.asarray(durations_days, dtype=float)
        d = np.asarray(decided, dtype=bool)
        cuts = np.asarray(self.params.cuts_days, dtype=float)
        if len(t) != len(leads) or len(d) != len(leads):
            raise InvalidInput("durations, decisions and leads must have one row each")
        if np.isnan(t).any() or (t < 0).any():
            raise InvalidInput("durations must be known and not negative")
        if d.sum() < 2:
            raise InvalidInput("at least two decided leads are needed to learn a time to decision")
        if len(cuts) < 1 or cuts[0] != 0.0 or (np.diff(cuts) <= 0).any():
            raise InvalidInput("cuts_days must start at 0 and increase")
        p = self.params
        encodings = [
            _fit_encoding(c.name, c.kind, leads[c.name], p.min_level_count, p.max_levels)
            for c in feature_spec.usable
            if c.name in leads.columns
        ]
        X = _design(leads, encodings)
        # One BLAS thread: the products are small (leads × 8 intervals), and OpenBLAS's
        # threads spinning on them cost 10× the CPU of the work on a loaded 2-core machine.
        with threadpool_limits(limits=1, user_api="blas"):
            self.l2_ = self._choose_l2(X, t, d, cuts)
            theta = _fit_theta(_prepare(X, t, d, cuts), self.l2_)
        self.encodings_ = encodings
        self.log_hazard_ = theta[: len(cuts)]
        self.coef_ = theta[len(cuts) :]
        self.km_days_, self.km_survival_ = kaplan_meier(t, d)
        self.max_days_ = float(t.max())
        self.n_rows_ = len(t)
        self.n_decided_ = int(d.sum())
        return self

    def _choose_l2(
        self, X: sparse.csr_matrix, t: np.ndarray, d: np.ndarray, cuts: np.ndarray
    ) -> float:
        """The penalty with the best held-out log-likelihood over ``INNER_FOLDS`` folds."""
        grid = tuple(self.params.l2_grid)
        if len(grid) == 1:
            return float(grid[0])
        rng = np.random.default_rng(self.params.random_state)
        fold = rng.permutation(len(t)) % INNER_FOLDS
        scores = np.zeros(len(grid))
        for k in range(INNER_FOLDS):
            train, test = fold != k, fold == k
            fitted = _prepare(X[train], t[train], d[train], cuts)
            held = _prepare(X[test], t[test], d[test], cuts)
            for i, l2 in enumerate(grid):
                scores[i] += _log_likelihood(_fit_theta(fitted, l2), held)[0]
        return float(grid[int(np.argmax(scores))])

    # -- predicting ------------------------------------------------------------------------
    def _check_fitted(self) -> None:
        if not hasattr(self, "coef_"):
            raise NotFitted("TimeToCloseModel is not fitted: call fit() or from_dict() first")

    def risk_score(self, leads: pd.DataFrame) -> np.ndarray:
        """``x · coef_``: higher means a sooner decision (the concordance's score)."""
        self._check_fitted()
        return _linear_predictor(leads, self.encodings_, self.coef_)

    def _cumulative_baseline(self, days: np.ndarray) -> np.ndarray:
        cuts = np.asarray(self.params.cuts_days, dtype=float)
        flat = np.ravel(days)
        return np.asarray(_exposure(flat, cuts) @ np.exp(self.log_hazard_)).reshape(np.shape(days))

    def predict_decision_proba(
        self, leads: pd.DataFrame, days: tuple[float, ...] | list[float], *, age_days: Any = 0.0
    ) -> np.ndarray:  # Any: a number or an array of ages, one per lead
        """P(decision within each of ``days`` from now | still open at ``age_days``)."""
        risk = np.exp(np.clip(self.risk_score(leads), -30.0, 30.0))
        age = np.broadcast_to(np.asarray(age_days, dtype=float), risk.shape)
        horizons = np.asarray(days, dtype=float)[None, :]
        start = self._cumulative_baseline(age)[:, None]
        end = self._cumulative_baseline(age[:, None] + horizons)
        return np.asarray(1.0 - np.exp(-risk[:, None] * (end - start)))

    def predict_median_days(self, leads: pd.DataFrame, *, age_days: Any = 0.0) -> np.ndarray:
        """Days from now until P(decision) reaches 1/2 given open at ``age_days``; ``inf``
        beyond the longest duration in the training history."""  # Any: as above
        risk = np.exp(np.clip(self.risk_score(leads), -30.0, 30.0))
        age = np.broadcast_to(np.asarray(age_days, dtype=float), risk.shape)
        target = self._cumulative_baseline(age) + math.log(2.0) / risk
        cuts = np.asarray(self.params.cuts_days, dtype=float)
        rates = np.exp(self.log_hazard_)
        at_cuts = self._cumulative_baseline(cuts)
        j = np.searchsorted(at_cuts, target, side="right") - 1
        when = cuts[j] + (target - at_cuts[j]) / rates[j]
        return np.where(when <= self.max_days_, when - age, np.inf)

    # -- persistence -----------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:  # Any: JSON values of mixed types
        self._check_fitted()
        params = asdict(self.params)
        params["cuts_days"] = [float(c) for c in self.params.cuts_days]
        params["l2_grid"] = [float(v) for v in self.params.l2_grid]
        return {
            "kind": KIND,
            "engine_version": ENGINE_VERSION,
            "params": params,
            "encodings": [asdict(e) for e in self.encodings_],
            "l2": self.l2_,
            "log_hazard": [float(v) for v in self.log_hazard_],
            "coef": [float(v) for v in self.coef_],
            "km_days": [float(v) for v in self.km_days_],
            "km_survival": [float(v) for v in self.km_survival_],
            "max_days": self.max_days_,
            "n_rows": self.n_rows_,
            "n_decided": self.n_decided_,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TimeToCloseModel:  # Any: parsed JSON
        if data.get("kind") != KIND:
            raise InvalidInput(f"not a time-to-close model: kind {data.get('kind')!r}")
        params = dict(data["params"])
        params["cuts_days"] = tuple(params["cuts_days"])
        params["l2_grid"] = tuple(params["l2_grid"])
        model = cls(**params)
        model.encodings_ = [_Encoding(**e) for e in data["encodings"]]
        model.l2_ = float(data["l2"])
        model.log_hazard_ = np.asarray(data["log_hazard"], dtype=float)
        model.coef_ = np.asarray(data["coef"], dtype=float)
        model.km_days_ = np.asarray(data["km_days"], dtype=float)
        model.km_survival_ = np.asarray(data["km_survival"], dtype=float)
        model.max_days_ = float(data["max_days"])
        model.n_rows_ = int(data["n_rows"])
        model.n_decided_ = int(data["n_decided"])
        return model

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> TimeToCloseModel:
        return cls.from_dict(json.loads(text))


def decision_horizon(
    model: TimeToCloseModel,
    leads: pd.DataFrame,
    *,
    age_days: Any,  # Any: a number or an array of ages, one per lead
    within_days: float = SHORT_RANGE_DAYS,
    at_least: float = SHORT_RANGE_AT_LEAST,
) -> tuple[Coded, Coded]:
    """The horizon (codes into ``HORIZONS``: long, short) and its reason, from the model.

    Short when P(decision within ``within_days`` | open at its age) >= ``at_least``. The
    reason names the probability in 10-point steps, so a few texts cover every lead."""
    p = model.predict_decision_proba(leads, [within_days], age_days=age_days)[:, 0]
    short = p >= at_least
    step = np.clip(np.floor(p * 10), 0, 9).astype(np.int64)
    basis = f"learned from {model.n_decided_:,} decisions of {model.n_rows_:,} leads"
    days = f"{within_days:g} days"
    reasons = [
        *(
            f"not likely to decide within {days} ({10 * k}–{10 * k + 10} %, {basis})"
            for k in range(10)
        ),
        *(f"likely to decide within {days} ({10 * k}–{10 * k + 10} %, {basis})" for k in range(10)),
    ]
    code = step + 10 * short
    return Coded(short.astype(np.int8), list(HORIZONS)), Coded(code, reasons)


# -- evaluation ------------------------------------------------------------------------------
def kaplan_meier(durations: np.ndarray, decided: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The Kaplan–Meier curve: the distinct decision times and S(t) just after each.

    Leads censored at a decision time count as at risk then (the usual convention)."""
    t = np.asarray(durations, dtype=float)
    d = np.asarray(decided, dtype=bool)
    times, inverse = np.unique(t, return_inverse=True)
    n_events = np.bincount(inverse, weights=d.astype(float), minlength=len(times))
    n_leaving = np.bincount(inverse, minlength=len(times)).astype(float)
    at_risk = len(t) - np.concatenate([[0.0], np.cumsum(n_leaving)[:-1]])
    has_event = n_events > 0
    factors = 1.0 - n_events[has_event] / at_risk[has_event]
    return times[has_event], np.cumprod(factors)


def survival_at(km_days: np.ndarray, km_survival: np.ndarray, days: np.ndarray) -> np.ndarray:
    """S(days) of a Kaplan–Meier curve (1 before the first decision; a step function)."""
    index = np.searchsorted(km_days, days, side="right") - 1
    padded = np.concatenate([[1.0], km_survival])
    return np.asarray(padded[index + 1])


def concordance_index(
    durations: np.ndarray, decided: np.ndarray, risk: np.ndarray, *, chunk: int = 2048
) -> float:
    """Harrell's C: among pairs where one lead decided strictly before the other's time, the
    share where it had the higher risk (ties in risk count half). 0.5 is chance.

    Exact, vectorised in chunks of decided leads: memory ``chunk × n``, time ``O(decided × n)``
    (callers subsample very large histories)."""
    t = np.asarray(durations, dtype=float)
    d = np.asarray(decided, dtype=bool)
    r = np.asarray(risk, dtype=float)
    events = np.flatnonzero(d)
    concordant = 0.0
    comparable = 0.0
    for start in range(0, len(events), chunk):
        i = events[start : start + chunk]
        later = t[None, :] > t[i, None]
        higher = r[i, None] > r[None, :]
        tied = r[i, None] == r[None, :]
        comparable += float(later.sum())
        concordant += float((later & higher).sum()) + 0.5 * float((later & tied).sum())
    if comparable == 0:
        raise InvalidInput("no comparable pair: no lead decided before another's time")
    return concordant / comparable


@dataclass(frozen=True)
class CalibrationGroup:
    """One risk group at a horizon: mean predicted P(decision) and the Kaplan–Meier one."""

    n: int
    predicted: float
    observed: float


def calibration_at(
    days: float,
    durations: np.ndarray,
    decided: np.ndarray,
    predicted: np.ndarray,
    *,
    n_groups: int = 10,
    rank_by: np.ndarray | None = None,
) -> tuple[list[CalibrationGroup], float]:
    """Groups of equal size by predicted P(decision within ``days``) (or by ``rank_by``: to
    judge a baseline in the model's groups); per group the mean prediction and the
    Kaplan–Meier estimate of the group (censoring-aware). Returns the groups and their
    size-weighted mean absolute gap (a censored ECE)."""
    t = np.asarray(durations, dtype=float)
    d = np.asarray(decided, dtype=bool)
    p = np.asarray(predicted, dtype=float)
    order = np.argsort(p if rank_by is None else np.asarray(rank_by), kind="stable")
    groups: list[CalibrationGroup] = []
    for part in np.array_split(order, min(n_groups, len(order))):
        km_days, km_survival = kaplan_meier(t[part], d[part])
        observed = 1.0 - float(survival_at(km_days, km_survival, np.array([days]))[0])
        groups.append(CalibrationGroup(len(part), float(p[part].mean()), observed))
    gap = sum(g.n * abs(g.predicted - g.observed) for g in groups) / max(len(p), 1)
    return groups, float(gap)


__all__ = [
    "HORIZON_DAYS",
    "CalibrationGroup",
    "TimeToCloseModel",
    "calibration_at",
    "concordance_index",
    "decision_horizon",
    "kaplan_meier",
    "survival_at",
]
