"""Calibration: turn a model's scores into probabilities that mean what they say.

A rating of 70 must mean that about 70 % of such leads closed (PRODUCT.md step 4), so the
conversion model always ends in a calibrator fitted on out-of-fold scores of the training data.
The candidates are compared by cross-validated log-loss and the best one is kept:

* Platt (sigmoid): ``p = 1 / (1 + exp(-(a*z + b)))`` on the score logit ``z``; two parameters,
  robust on small histories;
* beta (Kull et al., 2017): ``logit p = a*ln(s) - b*ln(1 - s) + c`` with ``s = sigmoid(z)``,
  ``a, b >= 0``; three parameters, so it can bend the two tails apart where Platt's line cannot
  (on Olist's two-column problem it is picked in most folds), and still monotone;
* isotonic: a monotone step function (stored as its breakpoints, interpolated linearly); more
  flexible when there are thousands of outcomes.

Each stores plain floats, so they serialise to JSON.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold

from leadsieve.engine.types import RatingMap

PROBABILITY_EPS = 1e-3
CALIBRATION_FOLDS = 5


def log_loss(y: np.ndarray, p: np.ndarray) -> float:
    """Mean negative log-likelihood with probabilities clipped away from 0 and 1."""
    q = np.clip(np.asarray(p, dtype=float), 1e-15, 1 - 1e-15)
    y = np.asarray(y, dtype=float)
    return float(-np.mean(y * np.log(q) + (1 - y) * np.log(1 - q)))


class PlattCalibrator:
    """Logistic map of the score logit; monotone increasing when ``a > 0``."""

    kind = "sigmoid"

    def __init__(self, a: float = 1.0, b: float = 0.0) -> None:
        self.a = a
        self.b = b

    def fit(self, z: np.ndarray, y: np.ndarray) -> PlattCalibrator:
        model = LogisticRegression(C=1e6, max_iter=1000).fit(z.reshape(-1, 1), y)
        self.a = float(model.coef_[0, 0])
        self.b = float(model.intercept_[0])
        return self

    def predict(self, z: np.ndarray) -> np.ndarray:
        p = 1.0 / (1.0 + np.exp(-(self.a * np.asarray(z, dtype=float) + self.b)))
        return np.clip(p, PROBABILITY_EPS, 1 - PROBABILITY_EPS)

    def to_dict(self) -> dict[str, Any]:  # Any: JSON values of mixed types
        return {"kind": self.kind, "a": self.a, "b": self.b}


class IsotonicCalibrator:
    """Monotone non-decreasing step map, kept as breakpoints and interpolated between them."""

    kind = "isotonic"

    def __init__(self, x: list[float] | None = None, y: list[float] | None = None) -> None:
        self.x = x or [0.0]
        self.y = y or [0.5]

    def fit(self, z: np.ndarray, y: np.ndarray) -> IsotonicCalibrator:
        model = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(z, y)
        self.x = [float(v) for v in model.X_thresholds_]
        self.y = [float(v) for v in model.y_thresholds_]
        return self

    def predict(self, z: np.ndarray) -> np.ndarray:
        p = np.interp(np.asarray(z, dtype=float), self.x, self.y)
        return np.asarray(np.clip(p, PROBABILITY_EPS, 1 - PROBABILITY_EPS))

    def to_dict(self) -> dict[str, Any]:  # Any: JSON values of mixed types
        return {"kind": self.kind, "x": self.x, "y": self.y}


def _beta_features(z: np.ndarray) -> np.ndarray:
    """``[ln s, -ln(1 - s)]`` with ``s = sigmoid(z)``, computed without overflow."""
    z = np.asarray(z, dtype=float)
    return np.column_stack([-np.logaddexp(0.0, -z), np.logaddexp(0.0, z)])


class BetaCalibrator:
    """Beta calibration of the score: ``logit p = a*ln(s) - b*ln(1 - s) + c``, ``s = sigmoid(z)``.

    Both ``a`` and ``b`` are kept non-negative (a negative one is dropped and the other refitted,
    as the method's authors do), so the map is monotone non-decreasing in ``z``. With ``a = b``
    it is Platt's map; otherwise the low and high tails get their own slopes.
    """

    kind = "beta"

    def __init__(self, a: float = 1.0, b: float = 1.0, c: float = 0.0) -> None:
        self.a = a
        self.b = b
        self.c = c

    def fit(self, z: np.ndarray, y: np.ndarray) -> BetaCalibrator:
        features = _beta_features(z)
        weights = np.zeros(2)
        keep = [0, 1]
        while keep:
            model = LogisticRegression(C=1e6, max_iter=1000).fit(features[:, keep], y)
            coef = model.coef_[0]
            if (coef >= 0).all():
                weights[keep] = coef
                self.c = float(model.intercept_[0])
                break
            keep = [k for k, v in zip(keep, coef, strict=True) if v >= 0]
        else:  # no informative direction at all: the base rate
            self.c = float(np.log(np.mean(y) / (1 - np.mean(y))))
        self.a, self.b = (float(v) for v in weights)
        return self

    def predict(self, z: np.ndarray) -> np.ndarray:
        logit = _beta_features(z) @ np.array([self.a, self.b]) + self.c
        p = 1.0 / (1.0 + np.exp(-logit))
        return np.asarray(np.clip(p, PROBABILITY_EPS, 1 - PROBABILITY_EPS))

    def to_dict(self) -> dict[str, Any]:  # Any: JSON values of mixed types
        return {"kind": self.kind, "a": self.a, "b": self.b, "c": self.c}


Calibrator = PlattCalibrator | IsotonicCalibrator | BetaCalibrator
# The stored ``kind`` names the class that rebuilds a calibrator.
CALIBRATORS: dict[str, type[Calibrator]] = {
    cls.kind: cls for cls in (IsotonicCalibrator, PlattCalibrator, BetaCalibrator)
}
CALIBRATION_KINDS = tuple(CALIBRATORS)


def calibrator_from_dict(data: dict[str, Any]) -> Calibrator:  # Any: parsed JSON
    """Rebuild a calibrator stored by ``to_dict``."""
    return CALIBRATORS[data["kind"]](**{k: v for k, v in data.items() if k != "kind"})


def make_calibrator(kind: str) -> Calibrator:
    """An unfitted calibrator of the named kind (one of ``CALIBRATION_KINDS``)."""
    return CALIBRATORS[kind]()


def cross_validated_predictions(
    kind: str, z: np.ndarray, y: np.ndarray, random_state: int
) -> np.ndarray:
    """Probabilities from a calibrator of ``kind`` fitted on 4/5 of the scores, for the rest."""
    folds = StratifiedKFold(CALIBRATION_FOLDS, shuffle=True, random_state=random_state)
    p = np.empty(len(z))
    for fit_idx, use_idx in folds.split(z, y):
        p[use_idx] = make_calibrator(kind).fit(z[fit_idx], y[fit_idx]).predict(z[use_idx])
    return p


def cross_validated_loss(kind: str, z: np.ndarray, y: np.ndarray, random_state: int) -> float:
    """Log-loss of a calibrator of ``kind`` fitted on 4/5 of the scores, judged on the rest."""
    return log_loss(y, cross_validated_predictions(kind, z, y, random_state))


def choose_calibrator(
    z: np.ndarray, y: np.ndarray, *, kinds: tuple[str, ...], random_state: int
) -> tuple[Calibrator, dict[str, float]]:
    """Fit the calibrator kind with the lowest cross-validated log-loss on all the scores."""
    losses = {kind: cross_validated_loss(kind, z, y, random_state) for kind in kinds}
    best = min(kinds, key=lambda k: (losses[k], k))
    return make_calibrator(best).fit(z, y), losses


def fit_rating_map(scores: pd.DataFrame, outcomes: np.ndarray) -> RatingMap:
    """Refit the scorecard→probability mapping on a team's backtest (scores + won/lost).

    A logistic regression of the outcome on fit, interest and readiness points; negative
    weights are clipped to zero so the mapping stays monotone in every dimension (more points
    never lower the rating), and the intercept is refitted after clipping.
    """
    columns = ["fit_points", "interest_points", "readiness_points"]
    keep = scores["status"].to_numpy() != "disqualified"
    x = scores.loc[keep, columns].to_numpy(dtype=float)
    y = np.asarray(outcomes, dtype=float)[keep]
    weights = np.clip(LogisticRegression(C=1.0, max_iter=1000).fit(x, y).coef_[0], 0.0, None)
    offset = x @ weights
    intercept = PlattCalibrator().fit(offset, y)
    disqualified_rate = (
        float(np.mean(np.asarray(outcomes, dtype=float)[~keep])) if (~keep).any() else 0.01
    )
    return RatingMap(
        intercept=intercept.b,
        fit=float(weights[0] * intercept.a),
        interest=float(weights[1] * intercept.a),
        readiness=float(weights[2] * intercept.a),
        disqualified_p=float(np.clip(disqualified_rate, 0.01, 0.99)),
    )
