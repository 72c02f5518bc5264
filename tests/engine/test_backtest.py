"""Backtest metrics: definitions, tables, CSV and SVG output, and the rating-map fit."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from leadsieve.engine import (
    RatingMap,
    backtest_report,
    calibration_svg,
    classification_metrics,
    expected_calibration_error,
    fit_rating_map,
    lift_by_decile,
    max_band_gap,
    rating_bands,
    report_csv,
)
from leadsieve.engine.backtest import threshold_precision_recall
from leadsieve.engine.calibrate import (
    BetaCalibrator,
    IsotonicCalibrator,
    PlattCalibrator,
    calibrator_from_dict,
    choose_calibrator,
    log_loss,
)


def calibrated_sample(n: int = 5000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    p = rng.uniform(0.01, 0.99, n)
    return (rng.random(n) < p).astype(int), p


def test_ece_is_zero_for_exact_bin_rates_and_large_for_a_constant_lie() -> None:
    y = np.array([0, 1] * 50)
    assert expected_calibration_error(y, np.full(100, 0.5)) == pytest.approx(0.0)
    assert expected_calibration_error(y, np.full(100, 0.9)) == pytest.approx(0.4)


def test_classification_metrics_of_a_calibrated_sample() -> None:
    y, p = calibrated_sample()
    m = classification_metrics(y, p)
    assert set(m) == {"roc_auc", "pr_auc", "log_loss", "brier", "ece"}
    assert 0.7 < m["roc_auc"] < 0.9 and m["ece"] < 0.03


def test_rating_bands_hold_counts_and_gaps() -> None:
    y, p = calibrated_sample(20_000)
    bands = rating_bands(y, p)
    assert list(bands.index)[:2] == ["1-10", "11-20"] and len(bands) == 10
    assert bands["n"].sum() == 20_000
    assert max_band_gap(y, p) < 3
    assert max_band_gap(y[:5], p[:5]) == 0.0  # no band holds 100 leads


def test_lift_threshold_and_report() -> None:
    y, p = calibrated_sample()
    lift = lift_by_decile(y, p)
    assert lift.loc[1, "lift"] > 1.5 > lift.loc[10, "lift"]
    pr = threshold_precision_recall(y, p > 0.5)
    assert 0.6 < pr["precision"] < 0.9 and 0.6 < pr["recall"] < 0.9
    assert threshold_precision_recall(np.zeros(3), np.zeros(3, dtype=bool))["precision"] == 0.0
    grades = np.where(p > 0.5, "A", "D")
    report = backtest_report(y, p, fit_grade=grades, qualified=p > 0.5)
    assert report["by_fit_grade"].loc["A", "conversion"] > 0.6  # type: ignore[index]
    csv = report_csv(report)
    assert csv.startswith("metric,value\nroc_auc,")
    assert "mql_threshold.precision" in csv and "# rating_bands" in csv


def test_calibration_svg_is_an_svg_document() -> None:
    y, p = calibrated_sample(500)
    svg = calibration_svg(y, p, title="Test")
    assert "<svg" in svg and "</svg>" in svg


def test_calibrators_are_monotone_and_round_trip() -> None:
    rng = np.random.default_rng(0)
    z = rng.normal(size=2000)
    y = (rng.random(2000) < 1 / (1 + np.exp(-2 * z))).astype(int)
    kinds = ("isotonic", "sigmoid", "beta")
    best, losses = choose_calibrator(z, y, kinds=kinds, random_state=0)
    assert set(losses) == set(kinds)
    grid = np.linspace(-3, 3, 50)
    fitted = (PlattCalibrator(), IsotonicCalibrator(), BetaCalibrator())
    for cal in (*(c.fit(z, y) for c in fitted), best):
        p = cal.predict(grid)
        assert (np.diff(p) >= -1e-12).all()
        again = calibrator_from_dict(cal.to_dict())
        np.testing.assert_allclose(again.predict(grid), p)


def test_beta_calibrator_stays_monotone_when_the_scores_point_the_wrong_way() -> None:
    rng = np.random.default_rng(1)
    z = rng.normal(size=2000)
    y = (rng.random(2000) < 1 / (1 + np.exp(2 * z))).astype(int)  # higher score, fewer wins
    cal = BetaCalibrator().fit(z, y)
    assert cal.a >= 0 and cal.b >= 0
    p = cal.predict(np.linspace(-3, 3, 50))
    assert (np.diff(p) >= -1e-12).all()


def test_beta_calibrator_bends_the_tails_apart_where_platt_cannot() -> None:
    rng = np.random.default_rng(2)
    z = rng.normal(size=20_000)
    s = 1 / (1 + np.exp(-z))
    truth = 1 / (1 + np.exp(-(2.0 * np.log(s) - 0.5 * np.log(1 - s) + 0.3)))
    y = (rng.random(len(z)) < truth).astype(int)
    beta, platt = BetaCalibrator().fit(z, y), PlattCalibrator().fit(z, y)
    assert beta.a == pytest.approx(2.0, abs=0.25) and beta.b == pytest.approx(0.5, abs=0.25)
    assert log_loss(y, beta.predict(z)) < log_loss(y, platt.predict(z))


def test_fit_rating_map_learns_a_monotone_mapping_from_a_backtest() -> None:
    rng = np.random.default_rng(0)
    n = 3000
    scores = pd.DataFrame(
        {
            "fit_points": rng.uniform(0, 60, n),
            "interest_points": rng.uniform(0, 40, n),
            "readiness_points": rng.uniform(0, 40, n),
            "status": np.where(rng.random(n) < 0.05, "disqualified", "new"),
        }
    )
    z = -3 + 0.05 * scores["fit_points"] + 0.04 * scores["readiness_points"]
    y = (rng.random(n) < 1 / (1 + np.exp(-z))).astype(int)
    y[scores["status"].to_numpy() == "disqualified"] = 0
    fitted = fit_rating_map(scores, y)
    assert isinstance(fitted, RatingMap)
    assert fitted.fit == pytest.approx(0.05, abs=0.015)
    assert fitted.readiness == pytest.approx(0.04, abs=0.015)
    assert fitted.interest >= 0
    assert fitted.disqualified_p == pytest.approx(0.01)
