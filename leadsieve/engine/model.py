"""The conversion model: a calibrated probability that a lead closes, learned from a team's
own won/lost history (PRODUCT.md step 4, "Rating 1–100").

How ``fit`` chooses (all on the training rows only, seeded, so the same history gives the
same model):

1. Encode the usable columns of the ``FeatureSpec`` (post-contact columns never enter).
2. Inner ``StratifiedKFold`` over the training rows gives out-of-fold scores of a regularised
   logistic regression for each ``C`` in ``lr_cs``, with and without pair features (every one
   a candidate for the blend), and of LightGBM for each tree shape in ``gbm_shapes``
   (``num_leaves``, ``min_child_samples``; rounds picked by early stopping on each inner
   fold). The shape with the lowest out-of-fold log-loss is kept.
3. The blend is chosen by greedy ensemble selection (Caruana et al. 2004, ``greedy_blend``)
   over those out-of-fold logits: every logistic candidate and the LightGBM shape kept,
   ``ensemble_steps`` times adding (with replacement) the candidate whose inclusion gives the
   mean logit with the lowest log-loss after a Platt fit. Its counts are the blend:
   LightGBM's share is the blend weight ``w`` and the logistic candidates' shares mix into one
   linear part (one coefficient vector: the candidates share one matrix), so a lightly
   regularised model of single columns can sit beside a strongly regularised one with pair
   features. The linear part is tuned for the blend it serves, not on its own.
4. The calibrator (isotonic, sigmoid or beta) is chosen by cross-validated log-loss on the
   blended out-of-fold scores and fitted on all of them.
5. The chosen models are refitted on all training rows; prediction blends and calibrates.

The search is planned from the history's size (``plan_search``), never from the clock, so it
stays deterministic: on a large history (``LARGE_HISTORY`` rows and more) it runs fewer inner
folds, faster-learning trees, and fewer logistic candidates, each fitted on a stratified
subsample during selection; on a small one (under ``SMALL_HISTORY``) only Platt calibration,
whose two parameters 100 outcomes can carry. Inner fits run on ``n_jobs`` threads (LightGBM
and the BLAS calls release the GIL; each fit is single-threaded, so results do not depend on
it). ``fit(progress=...)`` reports each stage and how many fits are left.

Small history: ``fit(prior=...)`` takes the scorecard's probability per lead. Its logit joins
the blend as one more candidate, ``"scorecard"``, so the rating starts as the scorecard's
(recalibrated on the team's outcomes) and the learned candidates take its share as far as
they beat it out of fold: a shrinkage toward the prior whose strength the team's own history
sets, not a constant. ``trust_`` states how far the rating can be trusted at this amount of
history (a bootstrap interval of the out-of-fold ROC-AUC and the rating's margin in points).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from functools import partial
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold

from leadsieve.engine.calibrate import (
    CALIBRATION_KINDS,
    Calibrator,
    PlattCalibrator,
    calibrator_from_dict,
    choose_calibrator,
    cross_validated_predictions,
    log_loss,
)
from leadsieve.engine.exceptions import InvalidInput, NotFitted
from leadsieve.engine.explain import explain_model
from leadsieve.engine.features import FeatureEncoder
from leadsieve.engine.types import ENGINE_VERSION, FeatureSpec, Reason

BLEND_PARTS: tuple[str, ...] = ("linear", "trees")
# The blend's name for the LightGBM candidate in ``greedy_blend`` and ``selection_``.
TREES = "lightgbm"
# LightGBM tree shapes tried, as (num_leaves, min_child_samples): the middle one, a smaller and
# more regularised one, a larger one. Inner cross-validation keeps one (lowest log-loss).
GBM_SHAPES: tuple[tuple[int, int], ...] = ((15, 40), (7, 80), (31, 20))
# The blend's name for the scorecard's prior (``fit(prior=...)``).
PRIOR = "scorecard"
# Size tiers of the search (``plan_search``). From LARGE_HISTORY closed leads: at most
# LARGE_FOLDS inner folds, trees at LARGE_LEARNING_RATE (about a third of the rounds), the
# least regularised logistic candidate on single columns and the most regularised one with
# pairs only, fitted on at most
# SELECTION_ROWS rows during selection. Under SMALL_HISTORY: Platt calibration only.
LARGE_HISTORY = 20_000
LARGE_FOLDS = 3
LARGE_LEARNING_RATE = 0.1
LARGE_EARLY_STOPPING = 30
SELECTION_ROWS = 15_000
SMALL_HISTORY = 1_000
# ``trust_``: bootstrap resamples of the out-of-fold AUC, the interval's level, and how many
# equal-frequency bins the rating margin averages over.
TRUST_RESAMPLES = 200
TRUST_LEVEL = 0.9
TRUST_BINS = 5

Progress = Callable[[str, int], None]
"""``progress(stage, fits_left)``: what ``fit`` is doing and how many model fits remain."""


@dataclass(frozen=True)
class SearchPlan:
    """What ``fit`` will try on a history of this size (``plan_search``)."""

    n_folds: int
    lr_keys: tuple[tuple[bool, float], ...]
    gbm_shapes: tuple[tuple[int, int], ...]
    learning_rate: float
    early_stopping: int
    calibrations: tuple[str, ...]
    selection_rows: int

    @property
    def n_fits(self) -> int:
        """Model fits of the whole ``fit``: inner folds, then one refit per part at most."""
        per_fold = len(self.lr_keys) + len(self.gbm_shapes)
        return self.n_folds * per_fold + 1 + len(self.lr_keys)


@dataclass(frozen=True)
class ModelParams:
    """Constructor parameters of ``ConversionModel``; stored as given, validated in ``fit``."""

    random_state: int = 0
    n_inner_folds: int = 5
    blend_parts: tuple[str, ...] = BLEND_PARTS
    ensemble_steps: int = 20
    calibrations: tuple[str, ...] = CALIBRATION_KINDS
    lr_cs: tuple[float, ...] = (0.003, 0.01, 0.03, 0.1)
    gbm_learning_rate: float = 0.03
    gbm_shapes: tuple[tuple[int, int], ...] = GBM_SHAPES
    gbm_max_rounds: int = 1500
    gbm_early_stopping: int = 100
    gbm_n_seeds: int = 1
    lr_pairs: tuple[bool, ...] = (False, True)
    n_jobs: int = 2


def _lr_name(key: tuple[bool, float]) -> str:
    """``"0.1"`` or ``"0.1+pairs"``: a linear candidate's name in ``selection_``."""
    pairs, c = key
    return f"{c}+pairs" if pairs else str(c)


def greedy_blend(
    scores: dict[str, np.ndarray], y: np.ndarray, steps: int
) -> tuple[dict[str, int], list[float]]:
    """Greedy ensemble selection with replacement (Caruana et al. 2004) over out-of-fold logits.

    ``steps`` times, add the candidate whose inclusion gives the mean logit with the lowest
    log-loss after a Platt fit (ties go to the first name in sorted order). All steps count, as in
    auto-sklearn's ensemble selection, not only the best-scoring prefix as in Caruana's paper:
    once the loss flattens, later picks usually re-add the leading candidates, which smooths the
    weights, and the last loss may sit a little above the lowest. Returns the count per chosen
    candidate (the blend is the count-weighted mean of their logits) and the loss after each
    step.
    """
    names = sorted(scores)
    total = np.zeros(len(y))
    picked: list[str] = []
    losses: list[float] = []
    for step in range(1, steps + 1):
        trial = {}
        for name in names:
            z = (total + scores[name]) / step
            trial[name] = log_loss(y, PlattCalibrator().fit(z, y).predict(z))
        best = min(names, key=lambda n: trial[n])
        picked.append(best)
        losses.append(trial[best])
        total += scores[best]
    return dict(Counter(picked)), losses


def _prior_logit(prior: np.ndarray | pd.Series, n_rows: int) -> np.ndarray:
    """The scorecard's probabilities as logits (clipped away from 0 and 1)."""
    q = np.asarray(prior, dtype=float)
    if q.shape != (n_rows,) or not np.isfinite(q).all():
        raise InvalidInput("prior must hold one finite probability per lead row")
    q = np.clip(q, 1e-3, 1 - 1e-3)
    return np.asarray(np.log(q / (1 - q)))


def _mean_raw(boosters: list[lgb.Booster], x: np.ndarray) -> np.ndarray:
    """Average raw (log-odds) score of a bag of boosters."""
    scores = [b.predict(x, raw_score=True, num_threads=PREDICT_THREADS) for b in boosters]
    return np.asarray(np.mean(scores, axis=0))


def plan_search(params: ModelParams, n_rows: int, *, has_pairs: bool) -> SearchPlan:
    """The candidates, folds and calibrators ``fit`` tries on ``n_rows`` closed leads.

    Bounded by the history's size so the work does not grow as candidates × folds ×
    calibrators × rows: a large history gets fewer, cheaper candidates (its estimates need
    less regularisation to choose from and its trees converge in fewer, larger steps).
    """
    p = params
    variants = sorted({v and has_pairs for v in p.lr_pairs})
    keys = [(v, c) for v in variants for c in p.lr_cs]
    shapes = list(p.gbm_shapes)
    calibrations = tuple(p.calibrations)
    if n_rows >= LARGE_HISTORY:
        # Single columns need little regularisation with this many rows; pair features (many
        # sparse columns) still need the most: one candidate each.
        c_max, c_min = (max(p.lr_cs), min(p.lr_cs)) if p.lr_cs else (1.0, 1.0)
        keys = [(v, c_min if v else c_max) for v in variants] if keys else []
        shapes = sorted(shapes, key=lambda s: -s[0])[:2]
        return SearchPlan(
            n_folds=min(p.n_inner_folds, LARGE_FOLDS),
            lr_keys=tuple(dict.fromkeys(keys)),
            gbm_shapes=tuple(shapes),
            learning_rate=max(p.gbm_learning_rate, LARGE_LEARNING_RATE),
            early_stopping=min(p.gbm_early_stopping, LARGE_EARLY_STOPPING),
            calibrations=calibrations,
            selection_rows=SELECTION_ROWS,
        )
    if n_rows < SMALL_HISTORY and "sigmoid" in calibrations:
        calibrations = ("sigmoid",)
    return SearchPlan(
        n_folds=p.n_inner_folds,
        lr_keys=tuple(dict.fromkeys(keys)),
        gbm_shapes=tuple(shapes),
        learning_rate=p.gbm_learning_rate,
        early_stopping=p.gbm_early_stopping,
        calibrations=calibrations,
        selection_rows=n_rows,
    )


def _subsample(idx: np.ndarray, y: np.ndarray, n_max: int, seed: int) -> np.ndarray:
    """At most ``n_max`` of ``idx``, stratified by outcome, in their original order."""
    if len(idx) <= n_max:
        return idx
    rng = np.random.default_rng(seed)
    keep = []
    for outcome in (0, 1):
        rows = idx[y[idx] == outcome]
        k = round(n_max * len(rows) / len(idx))
        keep.append(rng.choice(rows, size=k, replace=False))
    return np.sort(np.concatenate(keep))


def trust_interval(y: np.ndarray, p: np.ndarray, seed: int) -> dict[str, float]:
    """How far ratings learned from this history can be trusted, from out-of-fold
    probabilities: the ROC-AUC with a bootstrap ``TRUST_LEVEL`` interval, and the rating's
    margin (the mean half-width, in rating points, of the Wilson interval of the observed
    conversion in ``TRUST_BINS`` equal-frequency bins: what one rating point is worth)."""
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(seed)
    n = len(y)
    aucs = []
    for _ in range(TRUST_RESAMPLES):
        rows = rng.integers(0, n, n)
        if 0 < y[rows].sum() < n:
            aucs.append(roc_auc_score(y[rows], p[rows]))
    tail = (1 - TRUST_LEVEL) / 2
    low, high = np.quantile(aucs, [tail, 1 - tail])
    z = 1.6449  # two-sided 90 %
    halves = []
    for rows in np.array_split(np.argsort(p, kind="stable"), TRUST_BINS):
        k, m = float(y[rows].sum()), len(rows)
        rate = k / m
        halves.append(z * np.sqrt(rate * (1 - rate) / m + z * z / (4 * m * m)) / (1 + z * z / m))
    return {
        "n_closed": float(n),
        "auc": round(float(roc_auc_score(y, p)), 4),
        "auc_low": round(float(low), 4),
        "auc_high": round(float(high), 4),
        "rating_margin_pts": round(100 * float(np.mean(halves)), 1),
    }


PREDICT_CHUNK = 100_000
# Prediction is deterministic whatever the thread count, unlike training; use both cores.
PREDICT_THREADS = 2


class ConversionModel:
    """Calibrated blend of logistic regression and LightGBM over a lead ``FeatureSpec``."""

    def __init__(
        self,
        *,
        random_state: int = 0,
        n_inner_folds: int = 5,
        blend_parts: tuple[str, ...] = BLEND_PARTS,
        ensemble_steps: int = 20,
        calibrations: tuple[str, ...] = CALIBRATION_KINDS,
        lr_cs: tuple[float, ...] = (0.003, 0.01, 0.03, 0.1),
        gbm_learning_rate: float = 0.03,
        gbm_shapes: tuple[tuple[int, int], ...] = GBM_SHAPES,
        gbm_max_rounds: int = 1500,
        gbm_early_stopping: int = 100,
        gbm_n_seeds: int = 1,
        lr_pairs: tuple[bool, ...] = (False, True),
        n_jobs: int = 2,
    ) -> None:
        self.params = ModelParams(
            random_state=random_state,
            n_inner_folds=n_inner_folds,
            blend_parts=tuple(blend_parts),
            ensemble_steps=ensemble_steps,
            calibrations=calibrations,
            lr_cs=lr_cs,
            gbm_learning_rate=gbm_learning_rate,
            gbm_shapes=tuple((int(n), int(m)) for n, m in gbm_shapes),
            gbm_max_rounds=gbm_max_rounds,
            gbm_early_stopping=gbm_early_stopping,
            gbm_n_seeds=gbm_n_seeds,
            lr_pairs=tuple(bool(v) for v in lr_pairs),
            n_jobs=n_jobs,
        )

    # -- fitting -------------------------------------------------------------------------------
    def _gbm_params(
        self, shape: tuple[int, int], seed_offset: int = 0, learning_rate: float | None = None
    ) -> dict[str, Any]:  # Any: LightGBM's params
        p = self.params
        bagged = p.gbm_n_seeds > 1
        return {
            "bagging_fraction": 0.8 if bagged else 1.0,
            "bagging_freq": 1 if bagged else 0,
            "objective": "binary",
            "learning_rate": learning_rate or p.gbm_learning_rate,
            "num_leaves": shape[0],
            "min_child_samples": shape[1],
            "feature_fraction": 0.8,
            "lambda_l2": 1.0,
            "cat_smooth": 20.0,
            "min_data_per_group": 50,
            "max_cat_to_onehot": 8,
            "seed": p.random_state + seed_offset,
            "deterministic": True,
            "force_row_wise": True,
            "num_threads": 1,
            "verbose": -1,
        }

    def _check_params(self, y: np.ndarray) -> None:
        p = self.params
        if p.n_inner_folds < 2:
            raise InvalidInput("n_inner_folds must be at least 2")
        if not p.blend_parts or not set(p.blend_parts) <= set(BLEND_PARTS):
            raise InvalidInput("blend_parts must name some of 'linear', 'trees'")
        if p.n_jobs < 1:
            raise InvalidInput("n_jobs must be at least 1")
        if p.ensemble_steps < 1:
            raise InvalidInput("ensemble_steps must be at least 1")
        if not set(p.calibrations) <= set(CALIBRATION_KINDS) or not p.calibrations:
            raise InvalidInput("calibrations must name some of 'isotonic', 'sigmoid', 'beta'")
        if not p.lr_pairs:
            raise InvalidInput("lr_pairs must hold False and/or True")
        if "linear" in p.blend_parts and (not p.lr_cs or min(p.lr_cs) <= 0):
            raise InvalidInput("lr_cs must hold positive values when the blend has a linear part")
        if set(np.unique(y).tolist()) != {0, 1}:
            raise InvalidInput("outcomes must hold both 0 (lost) and 1 (won)")
        if min(np.bincount(y)) < p.n_inner_folds:
            raise InvalidInput("too few won or lost leads for the inner cross-validation")

    def fit(
        self,
        leads: pd.DataFrame,
        outcomes: np.ndarray | pd.Series,
        *,
        feature_spec: FeatureSpec,
        prior: np.ndarray | None = None,
        progress: Progress | None = None,
    ) -> ConversionModel:
        """Learn from leads and their outcomes (1 won, 0 lost, aligned with the rows).

        ``prior``: the scorecard's probability per lead, a candidate of the blend (module
        text); a model that keeps it needs the same prior to predict. ``progress`` is called
        with each stage and the number of fits left.
        """
        y = np.asarray(outcomes).astype(int)
        if len(y) != len(leads):
            raise InvalidInput("outcomes must have one value per lead row")
        self._check_params(y)
        z_prior = None if prior is None else _prior_logit(prior, len(y))
        p = self.params
        report = progress or (lambda stage, fits_left: None)
        report("encoding the columns", 0)
        encoder = FeatureEncoder(spec=feature_spec, random_state=p.random_state)
        x_lin = encoder.fit_linear(leads, y)
        x_tree, sources, categorical = encoder.tree_matrix(leads, oof_y=y)
        plan = plan_search(p, len(y), has_pairs=bool(encoder.pairs_))
        folds = list(
            StratifiedKFold(plan.n_folds, shuffle=True, random_state=p.random_state).split(x_lin, y)
        )
        # Linear candidates: (with pair features?, C). Pair features are the last columns of
        # the linear matrix, so the candidate without them is a slice of the same matrix.
        widths = {False: encoder.n_single_linear, True: x_lin.shape[1]}
        lr_keys = list(plan.lr_keys)
        oof_lr = {key: np.empty(len(y)) for key in lr_keys}
        oof_gbm = {shape: np.empty(len(y)) for shape in plan.gbm_shapes}
        rounds: dict[tuple[int, int], list[int]] = {shape: [] for shape in plan.gbm_shapes}
        fits_left = plan.n_fits

        def linear_job(fold: int, key: tuple[bool, float]) -> None:
            fit_idx, use_idx = folds[fold]
            rows = _subsample(fit_idx, y, plan.selection_rows, p.random_state + fold)
            x = x_lin[:, : widths[key[0]]]
            lr = LogisticRegression(C=key[1], max_iter=2000).fit(x[rows], y[rows])
            oof_lr[key][use_idx] = lr.decision_function(x[use_idx])

        def trees_job(fold: int, shape: tuple[int, int]) -> None:
            fit_idx, use_idx = folds[fold]
            boosters = self._train_gbm(
                x_tree[fit_idx],
                y[fit_idx],
                categorical,
                shape,
                plan,
                valid=(x_tree[use_idx], y[use_idx]),
            )
            rounds[shape].append(boosters[0].current_iteration())
            oof_gbm[shape][use_idx] = _mean_raw(boosters, x_tree[use_idx])

        jobs: list[Callable[[], None]] = [
            partial(linear_job, f, k) for f in range(len(folds)) for k in lr_keys
        ]
        jobs += [partial(trees_job, f, s) for f in range(len(folds)) for s in oof_gbm]
        report(f"cross-validating {len(jobs)} candidate fits on {len(folds)} folds", fits_left)
        with ThreadPoolExecutor(max_workers=p.n_jobs) as pool:
            for done in pool.map(lambda job: job(), jobs):
                fits_left -= 1
                report("cross-validating candidates", fits_left)
                del done
        # The order in which threads finish does not matter: each writes its own rows, and
        # rounds are averaged.
        lr_losses = {_lr_name(k): log_loss(y, 1 / (1 + np.exp(-z))) for k, z in oof_lr.items()}
        gbm_losses = {s: log_loss(y, 1 / (1 + np.exp(-z))) for s, z in oof_gbm.items()}

        # The blend: greedy selection over the logistic candidates, the LightGBM shape kept
        # and the scorecard's prior. Its counts weight the parts; the logistic shares make one
        # linear part.
        report("choosing the blend and its calibration", fits_left)
        candidates: dict[str, np.ndarray] = {}
        if "linear" in p.blend_parts:
            candidates.update({_lr_name(key): oof_lr[key] for key in lr_keys})
        best_shape = min(gbm_losses, key=lambda s: (gbm_losses[s], s))
        if "trees" in p.blend_parts:
            candidates[TREES] = oof_gbm[best_shape]
        if z_prior is not None:
            candidates[PRIOR] = z_prior
        counts, ensemble_losses = greedy_blend(candidates, y, p.ensemble_steps)
        n_picked = sum(counts.values())
        z_oof = np.average(
            np.column_stack([candidates[name] for name in counts]),
            axis=1,
            weights=list(counts.values()),
        )
        calibrator, cal_losses = choose_calibrator(
            z_oof, y, kinds=plan.calibrations, random_state=p.random_state
        )
        p_oof = cross_validated_predictions(calibrator.kind, z_oof, y, p.random_state)

        self.encoder_ = encoder
        self.blend_weight_ = counts.get(TREES, 0) / n_picked
        self.prior_weight_ = counts.get(PRIOR, 0) / n_picked
        n_linear = n_picked - counts.get(TREES, 0) - counts.get(PRIOR, 0)
        self.gbm_shape_ = best_shape
        self.n_rounds_ = max(1, int(np.mean(rounds[best_shape]) * 1.1))
        # The linear candidates share one matrix (pair features are its last columns, zero for
        # a candidate without them), so their mix is the mix of their coefficients.
        self.linear_mix_: dict[str, float] = {}
        self.lr_coef_ = np.zeros(x_lin.shape[1])
        self.lr_intercept_ = 0.0
        report("refitting the chosen models on every closed lead", fits_left)
        for key in lr_keys:
            name = _lr_name(key)
            if name not in counts:
                continue
            share = self.linear_mix_[name] = counts[name] / n_linear
            pairs, c = key
            width = widths[pairs]
            lr = LogisticRegression(C=c, max_iter=2000).fit(x_lin[:, :width], y)
            self.lr_coef_[:width] += share * lr.coef_[0]
            self.lr_intercept_ += share * float(lr.intercept_[0])
            fits_left -= 1
            report("refitting the chosen models on every closed lead", fits_left)
        self.boosters_ = self._train_gbm(
            x_tree, y, categorical, self.gbm_shape_, plan, n_rounds=self.n_rounds_
        )
        self.tree_sources_ = sources
        self.calibrator_: Calibrator = calibrator
        self.trust_ = trust_interval(y, p_oof, p.random_state)
        self.selection_ = {
            "plan": {
                "n_folds": plan.n_folds,
                "n_candidates": len(candidates),
                "n_fits": plan.n_fits,
                "learning_rate": plan.learning_rate,
                "selection_rows": min(plan.selection_rows, len(y)),
            },
            "lr_losses": lr_losses,
            "gbm_losses": {f"{k[0]}/{k[1]}": v for k, v in gbm_losses.items()},
            "blend": counts,
            "blend_losses": ensemble_losses,
            "calibration_losses": cal_losses,
        }
        report("done", 0)
        return self

    def _train_gbm(
        self,
        x: np.ndarray,
        y: np.ndarray,
        categorical: list[int],
        shape: tuple[int, int],
        plan: SearchPlan,
        *,
        valid: tuple[np.ndarray, np.ndarray] | None = None,
        n_rounds: int | None = None,
    ) -> list[lgb.Booster]:
        """``gbm_n_seeds`` boosters (seed-bagged when more than one; their raw scores are
        averaged). With ``valid``, the first is early-stopped on it and the others reuse its
        number of rounds; otherwise all train ``n_rounds`` rounds."""
        p = self.params
        rate = plan.learning_rate
        train = lgb.Dataset(x, y, categorical_feature=categorical, free_raw_data=False)
        if valid is not None:
            valid_set = lgb.Dataset(valid[0], valid[1], reference=train)
            first = lgb.train(
                self._gbm_params(shape, learning_rate=rate),
                train,
                num_boost_round=p.gbm_max_rounds,
                valid_sets=[valid_set],
                callbacks=[lgb.early_stopping(plan.early_stopping, verbose=False)],
            )
            n_rounds = first.best_iteration or p.gbm_max_rounds
            first = lgb.Booster(model_str=first.model_to_string(num_iteration=n_rounds))
            boosters = [first]
        else:
            boosters = []
        while len(boosters) < max(1, p.gbm_n_seeds):
            params = self._gbm_params(shape, seed_offset=len(boosters), learning_rate=rate)
            boosters.append(lgb.train(params, train, num_boost_round=n_rounds or 100))
        return boosters

    # -- prediction ----------------------------------------------------------------------------
    def _check_fitted(self) -> None:
        if not hasattr(self, "boosters_"):
            raise NotFitted("ConversionModel.fit (or from_dict) must run before predicting")

    def _parts(self, leads: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """Linear contributions per column and the tree matrix."""
        factorized = self.encoder_.factorize(leads)
        linear = self.encoder_.linear_contributions(leads, self.lr_coef_, factorized=factorized)
        x_tree, _, _ = self.encoder_.tree_matrix(leads, factorized=factorized)
        return linear, x_tree

    @property
    def linear_weight_(self) -> float:
        """The linear part's share of the blend (what trees and the prior leave)."""
        return max(0.0, 1.0 - self.blend_weight_ - self.prior_weight_)

    def _blended_logit(self, leads: pd.DataFrame, z_prior: np.ndarray | None) -> np.ndarray:
        """The blended logit alone: a part whose blend weight is 0 is not computed at all (a
        pure logistic-regression blend never builds the tree matrix nor walks the trees)."""
        w = self.blend_weight_
        factorized = self.encoder_.factorize(leads)
        z = np.zeros(len(leads))
        if self.linear_weight_ > 0:
            linear = self.encoder_.linear_contributions(leads, self.lr_coef_, factorized=factorized)
            z += self.linear_weight_ * (linear.sum(axis=1) + self.lr_intercept_)
        if w > 0:
            x_tree, _, _ = self.encoder_.tree_matrix(leads, factorized=factorized)
            z += w * _mean_raw(self.boosters_, x_tree)
        if z_prior is not None:
            z += self.prior_weight_ * z_prior
        return z

    def decision_function(
        self, leads: pd.DataFrame, *, prior: np.ndarray | pd.Series | None = None
    ) -> np.ndarray:
        """Blended score logit before calibration (what the calibrator maps).

        The linear part is summed from per-value lookups (``linear_contributions``), never a
        dense one-hot matrix; rows still go ``PREDICT_CHUNK`` at a time to bound the memory of
        the tree matrix. (A loop over chunks, not over leads.) A part with blend weight 0 is
        skipped; per-column contributions (tree SHAP) are only computed by ``contributions``.
        ``prior`` (the scorecard's probabilities) is required when the blend kept it.
        """
        self._check_fitted()
        z_prior = None
        if self.prior_weight_ > 0:
            if prior is None:
                raise InvalidInput("this model blends the scorecard's prior: pass prior=")
            z_prior = _prior_logit(np.asarray(prior, dtype=float), len(leads))
        parts = [
            self._blended_logit(
                leads.iloc[start : start + PREDICT_CHUNK],
                None if z_prior is None else z_prior[start : start + PREDICT_CHUNK],
            )
            for start in range(0, len(leads), PREDICT_CHUNK)
        ]
        return np.concatenate(parts) if parts else np.empty(0)

    @property
    def uses_prior(self) -> bool:
        """Whether predicting needs the scorecard's probabilities (``prior=``)."""
        self._check_fitted()
        return self.prior_weight_ > 0

    def predict_proba(
        self, leads: pd.DataFrame, *, prior: np.ndarray | pd.Series | None = None
    ) -> np.ndarray:
        """Calibrated probability that each lead closes, one float per row."""
        self._check_fitted()
        return self.calibrator_.predict(self.decision_function(leads, prior=prior))

    def contributions(self, leads: pd.DataFrame) -> pd.DataFrame:
        """Per lead and model column, the blended logit contribution (rows × columns): the
        usable columns of the spec, then the derived ``ANSWERS`` column when the model has it.

        LightGBM's tree SHAP (``pred_contrib``) for the tree part, ``coef * x`` on standardised
        features for the linear part (so a training-average lead gets about zero), summed back
        to the source column and blended with the model's own weight.
        """
        self._check_fitted()
        per_column, x_tree = self._parts(leads)
        names = self.encoder_.columns
        linear = pd.DataFrame(per_column, columns=names)
        w = self.blend_weight_
        if w == 0:
            return (self.linear_weight_ * linear).fillna(0.0)
        shap = np.mean([b.predict(x_tree, pred_contrib=True) for b in self.boosters_], axis=0)
        shap = shap[:, :-1]
        tree = pd.DataFrame(shap, columns=self.tree_sources_)
        tree = tree.T.groupby(level=0, sort=False).sum().T.reindex(columns=names)
        return (w * tree + self.linear_weight_ * linear).fillna(0.0)

    def explain(
        self, leads: pd.DataFrame, top: int = 3, *, prior: np.ndarray | None = None
    ) -> list[list[Reason]]:
        """Per lead: the top factors raising and lowering its rating, in plain words."""
        self._check_fitted()
        return explain_model(self, leads, top=top, prior=prior)

    # -- persistence ---------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:  # Any: JSON values of mixed types
        """JSON-ready state: parameters, encoders, LR coefficients, LightGBM text, calibrator."""
        self._check_fitted()
        return {
            "engine_version": ENGINE_VERSION,
            "params": {
                k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self.params).items()
            },
            "encoder": self.encoder_.to_dict(),
            "linear_mix": self.linear_mix_,
            "lr_coef": self.lr_coef_.tolist(),
            "lr_intercept": self.lr_intercept_,
            "blend_weight": self.blend_weight_,
            "prior_weight": self.prior_weight_,
            "trust": self.trust_,
            "n_rounds": self.n_rounds_,
            "gbm_shape": list(self.gbm_shape_),
            "boosters": [b.model_to_string() for b in self.boosters_],
            "tree_sources": self.tree_sources_,
            "calibrator": self.calibrator_.to_dict(),
            "selection": self.selection_,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ConversionModel:  # Any: parsed JSON
        """Rebuild a fitted model from ``to_dict`` output (also after a JSON round trip)."""
        params: dict[str, Any] = {  # Any: parameter values of mixed types
            k: tuple(v) if isinstance(v, list) else v for k, v in data["params"].items()
        }
        if "gbm_num_leaves" in params:  # stored before tree shapes were chosen by CV
            shape = (params.pop("gbm_num_leaves"), params.pop("gbm_min_child_samples"))
            params["gbm_shapes"] = (shape,)
        if "blend_weights" in params:  # stored before the blend was chosen greedily
            weights = params.pop("blend_weights")
            params["blend_parts"] = tuple(
                part
                for part, used in (("linear", min(weights) < 1), ("trees", max(weights) > 0))
                if used
            )
        model = cls(**params)
        model.encoder_ = FeatureEncoder.from_dict(data["encoder"])
        if "linear_mix" in data:
            model.linear_mix_ = {k: float(v) for k, v in data["linear_mix"].items()}
        else:  # stored before the linear part could mix candidates: one C, pairs or not
            key = (bool(data.get("lr_pairs", False)), data["lr_c"])
            model.linear_mix_ = {_lr_name(key): 1.0}
        model.lr_coef_ = np.asarray(data["lr_coef"], dtype=float)
        model.lr_intercept_ = float(data["lr_intercept"])
        model.blend_weight_ = float(data["blend_weight"])
        model.prior_weight_ = float(data.get("prior_weight", 0.0))  # none before the prior
        model.trust_ = dict(data.get("trust", {}))
        model.n_rounds_ = int(data["n_rounds"])
        leaves, min_child = data.get("gbm_shape", model.params.gbm_shapes[0])
        model.gbm_shape_ = (int(leaves), int(min_child))
        model.boosters_ = [lgb.Booster(model_str=text) for text in data["boosters"]]
        model.tree_sources_ = list(data["tree_sources"])
        model.calibrator_ = calibrator_from_dict(data["calibrator"])
        model.selection_ = data["selection"]
        return model

    def to_json(self) -> str:
        """``to_dict`` as a JSON string (what the Django adapter stores)."""
        return json.dumps(self.to_dict())
