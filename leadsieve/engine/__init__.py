"""LeadSieve's scoring engine: scorecards, conversion model, backtests. No Django here.

The Django adapter (``leadsieve.scoring``) turns ``Lead`` rows into frames, calls this API and
stores the results; everything below is plain pandas/numpy/scikit-learn/LightGBM so it can be
tested, benchmarked and reasoned about without a database. See ``docs/engine.md``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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
    from leadsieve.engine.model import ConversionModel, ModelParams
    from leadsieve.engine.ratings import rating
    from leadsieve.engine.scorecard import SCORE_COLUMNS, Scorecard
    from leadsieve.engine.time_to_close import (
        TimeToCloseModel,
        calibration_at,
        concordance_index,
        kaplan_meier,
    )
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

# Where each public name lives. Loaded on first use (PEP 562): the web and the import
# need the scorecard, not scikit-learn and LightGBM, which take seconds to import.
_EXPORTS: dict[str, str] = {
    "backtest_report": "leadsieve.engine.backtest",
    "calibration_svg": "leadsieve.engine.backtest",
    "classification_metrics": "leadsieve.engine.backtest",
    "expected_calibration_error": "leadsieve.engine.backtest",
    "lift_by_decile": "leadsieve.engine.backtest",
    "max_band_gap": "leadsieve.engine.backtest",
    "rating_bands": "leadsieve.engine.backtest",
    "report_csv": "leadsieve.engine.backtest",
    "fit_rating_map": "leadsieve.engine.calibrate",
    "default_scorecard": "leadsieve.engine.defaults",
    "EngineError": "leadsieve.engine.exceptions",
    "InvalidInput": "leadsieve.engine.exceptions",
    "InvalidScorecard": "leadsieve.engine.exceptions",
    "NotFitted": "leadsieve.engine.exceptions",
    "explain_model": "leadsieve.engine.explain",
    "LeakageFinding": "leadsieve.engine.leakage",
    "leakage_report": "leadsieve.engine.leakage",
    "ConversionModel": "leadsieve.engine.model",
    "ModelParams": "leadsieve.engine.model",
    "rating": "leadsieve.engine.ratings",
    "SCORE_COLUMNS": "leadsieve.engine.scorecard",
    "Scorecard": "leadsieve.engine.scorecard",
    "TimeToCloseModel": "leadsieve.engine.time_to_close",
    "calibration_at": "leadsieve.engine.time_to_close",
    "concordance_index": "leadsieve.engine.time_to_close",
    "kaplan_meier": "leadsieve.engine.time_to_close",
    "ActivityCondition": "leadsieve.engine.types",
    "Cap": "leadsieve.engine.types",
    "Criterion": "leadsieve.engine.types",
    "ENGINE_VERSION": "leadsieve.engine.types",
    "FeatureColumn": "leadsieve.engine.types",
    "FeatureSpec": "leadsieve.engine.types",
    "GradeBands": "leadsieve.engine.types",
    "HorizonRule": "leadsieve.engine.types",
    "InterestRule": "leadsieve.engine.types",
    "RatingMap": "leadsieve.engine.types",
    "Reason": "leadsieve.engine.types",
    "ScoreDict": "leadsieve.engine.types",
    "StatusRule": "leadsieve.engine.types",
}

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
    "TimeToCloseModel",
    "backtest_report",
    "calibration_at",
    "calibration_svg",
    "classification_metrics",
    "concordance_index",
    "default_scorecard",
    "expected_calibration_error",
    "explain_model",
    "fit_rating_map",
    "kaplan_meier",
    "leakage_report",
    "lift_by_decile",
    "max_band_gap",
    "rating",
    "rating_bands",
    "report_csv",
]


def __getattr__(name: str) -> Any:  # Any: whatever the engine exports under that name
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
