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
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict, dataclass
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


def _mean_raw(boosters: list[lgb.Booster], x: np.ndarray) -> np.ndarray:
    """Average raw (log-odds) score of a bag of boosters."""
    scores = [b.predict(x, raw_score=True, num_threads=PREDICT_THREADS) for b in boosters]
    return np.asarray(np.mean(scores, axis=0))


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
        )

    # -- fitting -------------------------------------------------------------------------------
    def _gbm_params(
        self, shape: tuple[int, int], seed_offset: int = 0
    ) -> dict[str, Any]:  # Any: LightGBM's params
        p = self.params
        bagged = p.gbm_n_seeds > 1
        return {
            "bagging_fraction": 0.8 if bagged else 1.0,
            "bagging_freq": 1 if bagged else 0,
            "objective": "binary",
            "learning_rate": p.gbm_learning_rate,
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
        self, leads: pd.DataFrame, outcomes: np.ndarray | pd.Series, *, feature_spec: FeatureSpec
    ) -> ConversionModel:
        """Learn from leads and their outcomes (1 won, 0 lost, aligned with the rows)."""
        y = np.asarray(outcomes).astype(int)
        if len(y) != len(leads):
            raise InvalidInput("outcomes must have one value per lead row")
        self._check_params(y)
        p = self.params
        encoder = FeatureEncoder(spec=feature_spec, random_state=p.random_state).fit(leads, y)
        x_lin = encoder.linear_matrix(leads, oof_y=y)
        x_tree, sources, categorical = encoder.tree_matrix(leads, oof_y=y)

        folds = list(
            StratifiedKFold(p.n_inner_folds, shuffle=True, random_state=p.random_state).split(
                x_lin, y
            )
        )
        # Linear candidates: (with pair features?, C). Pair features are the last columns of
        # the linear matrix, so the candidate without them is a slice of the same matrix.
        widths = {False: encoder.n_single_linear, True: x_lin.shape[1]}
        variants = sorted({v and bool(encoder.pairs_) for v in p.lr_pairs})
        lr_keys = list(dict.fromkeys((v, c) for v in variants for c in p.lr_cs))
        oof_lr = {key: np.empty(len(y)) for key in lr_keys}
        oof_gbm = {shape: np.empty(len(y)) for shape in p.gbm_shapes}
        rounds: dict[tuple[int, int], list[int]] = {shape: [] for shape in p.gbm_shapes}
        for fit_idx, use_idx in folds:
            for pairs, c in lr_keys:
                x = x_lin[:, : widths[pairs]]
                lr = LogisticRegression(C=c, max_iter=2000).fit(x[fit_idx], y[fit_idx])
                oof_lr[(pairs, c)][use_idx] = lr.decision_function(x[use_idx])
            for shape in p.gbm_shapes:
                boosters = self._train_gbm(
                    x_tree[fit_idx],
                    y[fit_idx],
                    categorical,
                    shape,
                    valid=(x_tree[use_idx], y[use_idx]),
                )
                rounds[shape].append(boosters[0].current_iteration())
                oof_gbm[shape][use_idx] = _mean_raw(boosters, x_tree[use_idx])
        lr_losses = {_lr_name(k): log_loss(y, 1 / (1 + np.exp(-z))) for k, z in oof_lr.items()}
        gbm_losses = {s: log_loss(y, 1 / (1 + np.exp(-z))) for s, z in oof_gbm.items()}
        best_shape = min(p.gbm_shapes, key=lambda s: (gbm_losses[s], s))

        # The blend: greedy selection over the logistic candidates and the LightGBM shape kept.
        # Its counts weight the parts; the logistic shares make one linear part.
        candidates: dict[str, np.ndarray] = {}
        if "linear" in p.blend_parts:
            candidates.update({_lr_name(key): oof_lr[key] for key in lr_keys})
        if "trees" in p.blend_parts:
            candidates[TREES] = oof_gbm[best_shape]
        counts, ensemble_losses = greedy_blend(candidates, y, p.ensemble_steps)
        n_picked = sum(counts.values())
        z_oof = np.average(
            np.column_stack([candidates[name] for name in counts]),
            axis=1,
            weights=list(counts.values()),
        )
        calibrator, cal_losses = choose_calibrator(
            z_oof, y, kinds=p.calibrations, random_state=p.random_state
        )

        self.encoder_ = encoder
        self.blend_weight_ = counts.get(TREES, 0) / n_picked
        n_linear = n_picked - counts.get(TREES, 0)
        self.gbm_shape_ = best_shape
        self.n_rounds_ = max(1, int(np.mean(rounds[best_shape]) * 1.1))
        # The linear candidates share one matrix (pair features are its last columns, zero for
        # a candidate without them), so their mix is the mix of their coefficients.
        self.linear_mix_: dict[str, float] = {}
        self.lr_coef_ = np.zeros(x_lin.shape[1])
        self.lr_intercept_ = 0.0
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
        self.boosters_ = self._train_gbm(
            x_tree, y, categorical, best_shape, n_rounds=self.n_rounds_
        )
        self.tree_sources_ = sources
        self.calibrator_: Calibrator = calibrator
        self.selection_ = {
            "lr_losses": lr_losses,
            "gbm_losses": {f"{k[0]}/{k[1]}": v for k, v in gbm_losses.items()},
            "blend": counts,
            "blend_losses": ensemble_losses,
            "calibration_losses": cal_losses,
        }
        return self

    def _train_gbm(
        self,
        x: np.ndarray,
        y: np.ndarray,
        categorical: list[int],
        shape: tuple[int, int],
        *,
        valid: tuple[np.ndarray, np.ndarray] | None = None,
        n_rounds: int | None = None,
    ) -> list[lgb.Booster]:
        """``gbm_n_seeds`` boosters (seed-bagged when more than one; their raw scores are
        averaged). With ``valid``, the first is early-stopped on it and the others reuse its
        number of rounds; otherwise all train ``n_rounds`` rounds."""
        p = self.params
        train = lgb.Dataset(x, y, categorical_feature=categorical, free_raw_data=False)
        if valid is not None:
            valid_set = lgb.Dataset(valid[0], valid[1], reference=train)
            first = lgb.train(
                self._gbm_params(shape),
                train,
                num_boost_round=p.gbm_max_rounds,
                valid_sets=[valid_set],
                callbacks=[lgb.early_stopping(p.gbm_early_stopping, verbose=False)],
            )
            n_rounds = first.best_iteration or p.gbm_max_rounds
            first = lgb.Booster(model_str=first.model_to_string(num_iteration=n_rounds))
            boosters = [first]
        else:
            boosters = []
        while len(boosters) < max(1, p.gbm_n_seeds):
            params = self._gbm_params(shape, seed_offset=len(boosters))
            boosters.append(lgb.train(params, train, num_boost_round=n_rounds or 100))
        return boosters

    # -- prediction ----------------------------------------------------------------------------
    def _check_fitted(self) -> None:
        if not hasattr(self, "boosters_"):
            raise NotFitted("ConversionModel.fit (or from_dict) must run before predicting")

    def _parts(self, leads: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Linear contributions per column, the tree matrix, and the blended logit."""
        factorized = self.encoder_.factorize(leads)
        linear = self.encoder_.linear_contributions(leads, self.lr_coef_, factorized=factorized)
        x_tree, _, _ = self.encoder_.tree_matrix(leads, factorized=factorized)
        z_lr = linear.sum(axis=1) + self.lr_intercept_
        z_gbm = _mean_raw(self.boosters_, x_tree)
        return linear, x_tree, self.blend_weight_ * z_gbm + (1 - self.blend_weight_) * z_lr

    def _blended_logit(self, leads: pd.DataFrame) -> np.ndarray:
        """The blended logit alone: a part whose blend weight is 0 is not computed at all (a
        pure logistic-regression blend never builds the tree matrix nor walks the trees)."""
        w = self.blend_weight_
        factorized = self.encoder_.factorize(leads)
        z = np.zeros(len(leads))
        if w < 1:
            linear = self.encoder_.linear_contributions(leads, self.lr_coef_, factorized=factorized)
            z += (1 - w) * (linear.sum(axis=1) + self.lr_intercept_)
        if w > 0:
            x_tree, _, _ = self.encoder_.tree_matrix(leads, factorized=factorized)
            z += w * _mean_raw(self.boosters_, x_tree)
        return z

    def decision_function(self, leads: pd.DataFrame) -> np.ndarray:
        """Blended score logit before calibration (what the calibrator maps).

        The linear part is summed from per-value lookups (``linear_contributions``), never a
        dense one-hot matrix; rows still go ``PREDICT_CHUNK`` at a time to bound the memory of
        the tree matrix. (A loop over chunks, not over leads.) A part with blend weight 0 is
        skipped; per-column contributions (tree SHAP) are only computed by ``contributions``.
        """
        self._check_fitted()
        parts = [
            self._blended_logit(leads.iloc[start : start + PREDICT_CHUNK])
            for start in range(0, len(leads), PREDICT_CHUNK)
        ]
        return np.concatenate(parts) if parts else np.empty(0)

    def predict_proba(self, leads: pd.DataFrame) -> np.ndarray:
        """Calibrated probability that each lead closes, one float per row."""
        self._check_fitted()
        return self.calibrator_.predict(self.decision_function(leads))

    def contributions(self, leads: pd.DataFrame) -> pd.DataFrame:
        """Per lead and model column, the blended logit contribution (rows × columns): the
        usable columns of the spec, then the derived ``ANSWERS`` column when the model has it.

        LightGBM's tree SHAP (``pred_contrib``) for the tree part, ``coef * x`` on standardised
        features for the linear part (so a training-average lead gets about zero), summed back
        to the source column and blended with the model's own weight.
        """
        self._check_fitted()
        per_column, x_tree, _ = self._parts(leads)
        names = self.encoder_.columns
        linear = pd.DataFrame(per_column, columns=names)
        shap = np.mean([b.predict(x_tree, pred_contrib=True) for b in self.boosters_], axis=0)
        shap = shap[:, :-1]
        tree = pd.DataFrame(shap, columns=self.tree_sources_)
        tree = tree.T.groupby(level=0, sort=False).sum().T.reindex(columns=names)
        w = self.blend_weight_
        return (w * tree + (1 - w) * linear).fillna(0.0)

    def explain(self, leads: pd.DataFrame, top: int = 3) -> list[list[Reason]]:
        """Per lead: the top factors raising and lowering its rating, in plain words."""
        self._check_fitted()
        return explain_model(self, leads, top=top)

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
