"""LeadSieve's scoring engine: scorecards, conversion model, backtests. No Django here.

The Django adapter (``leadsieve.scoring``) turns ``Lead`` rows into frames, calls this API and
stores the results; everything below is plain pandas/numpy/scikit-learn/LightGBM so it can be
tested, benchmarked and reasoned about without a database. See ``docs/engine.md``.
"""

from __future__ import annotations

from leadsieve.engine.backtest import (
    backtest_report,
    calibration_svg,
    classification_metrics,
    expected_calibration_error,
    lift_by_decile,
    max_band_gap,
    rating_bands,
    report_csv,
)
from leadsieve.engine.calibrate import fit_rating_map
from leadsieve.engine.defaults import default_scorecard
from leadsieve.engine.exceptions import EngineError, InvalidInput, InvalidScorecard, NotFitted
from leadsieve.engine.explain import explain_model
from leadsieve.engine.leakage import LeakageFinding, leakage_report
from leadsieve.engine.model import ConversionModel, ModelParams, rating
from leadsieve.engine.scorecard import SCORE_COLUMNS, Scorecard
from leadsieve.engine.types import (
    ENGINE_VERSION,
    ActivityCondition,
    Cap,
    Criterion,
    FeatureColumn,
    FeatureSpec,
    GradeBands,
    HorizonRule,
    InterestRule,
    RatingMap,
    Reason,
    ScoreDict,
    StatusRule,
)

__all__ = [
    "ENGINE_VERSION",
    "SCORE_COLUMNS",
    "ActivityCondition",
    "Cap",
    "ConversionModel",
    "Criterion",
    "EngineError",
    "FeatureColumn",
    "FeatureSpec",
    "GradeBands",
    "HorizonRule",
    "InterestRule",
    "InvalidInput",
    "InvalidScorecard",
    "LeakageFinding",
    "ModelParams",
    "NotFitted",
    "RatingMap",
    "Reason",
    "ScoreDict",
    "Scorecard",
    "StatusRule",
    "backtest_report",
    "calibration_svg",
    "classification_metrics",
    "default_scorecard",
    "expected_calibration_error",
    "explain_model",
    "fit_rating_map",
    "leakage_report",
    "lift_by_decile",
    "max_band_gap",
    "rating",
    "rating_bands",
    "report_csv",
]
