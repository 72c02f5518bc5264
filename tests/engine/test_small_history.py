"""Small history and a bounded search (issue #20): the scorecard's prior in the blend, its
calibration from 100 closed leads, the search plan by history size, progress and trust."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from leadsieve.engine.backtest import expected_calibration_error
from leadsieve.engine.exceptions import InvalidInput
from leadsieve.engine.model import (
    LARGE_HISTORY,
    PRIOR,
    ConversionModel,
    ModelParams,
    plan_search,
    trust_interval,
)
from leadsieve.engine.types import FeatureColumn, FeatureSpec
from tests.engine.factories import FAST_MODEL

SPEC = FeatureSpec(
    columns=(
        FeatureColumn("custom__visits", "numeric"),
        FeatureColumn("custom__minutes", "numeric"),
        FeatureColumn("custom__industry", "categorical"),
        FeatureColumn("custom__size", "categorical"),
    )
)


def history(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Leads, outcomes (about 30 % won) and a scorecard-like prior: the probability a rough
    rule would give (it knows the industry and the visits, not the minutes nor the size, and
    its scale is off), as a team's scorecard before any training."""
    rng = np.random.default_rng(seed)
    visits = rng.poisson(3, n).astype(float)
    minutes = rng.lognormal(2, 1, n)
    industry = rng.integers(0, 6, n)
    size = rng.integers(0, 4, n)
    industry_effect = np.array([-1.0, -0.5, 0.0, 0.3, 0.6, 1.0])
    z = -1.2 + 0.3 * (visits - 3) + 0.4 * (np.log(minutes) - 2) + industry_effect[industry]
    z = z + np.array([-0.4, 0.0, 0.2, 0.4])[size]
    y = (rng.random(n) < 1 / (1 + np.exp(-z))).astype(int)
    prior_logit = 0.5 + 0.5 * (0.3 * (visits - 3) + industry_effect[industry])
    leads = pd.DataFrame(
        {
            "id": np.arange(1, n + 1),
            "custom__visits": visits,
            "custom__minutes": minutes,
            "custom__industry": [f"i{v}" for v in industry],
            "custom__size": [f"s{v}" for v in size],
        }
    )
    return leads, y, 1 / (1 + np.exp(-prior_logit))


def test_it_refuses_a_prior_that_is_not_one_probability_per_lead() -> None:
    leads, y, prior = history(200, 0)
    with pytest.raises(InvalidInput, match="one finite probability per lead"):
        ConversionModel(**FAST_MODEL).fit(leads, y, feature_spec=SPEC, prior=prior[:-1])
    with pytest.raises(InvalidInput, match="one finite probability per lead"):
        ConversionModel(**FAST_MODEL).fit(
            leads, y, feature_spec=SPEC, prior=np.where(y == 1, np.nan, prior)
        )


def test_a_model_that_kept_the_prior_refuses_to_predict_without_it() -> None:
    leads, y, prior = history(100, 1)
    model = ConversionModel(**FAST_MODEL).fit(leads, y, feature_spec=SPEC, prior=prior)
    assert model.uses_prior, model.selection_["blend"]
    with pytest.raises(InvalidInput, match="pass prior="):
        model.predict_proba(leads)


def test_a_model_from_100_closed_leads_is_calibrated() -> None:
    """Over six draws of 100 closed leads (each scored on 20,000 others): ECE is a noisy
    figure at this size (0.02 to 0.08 here: 100 outcomes leave a base-rate error of about
    ±0.045 alone), so each draw is held to its own history's base rate and a loose bound,
    and the mean over draws to the issue's 0.05."""
    eces = []
    for seed in range(6):
        leads, y, prior = history(20_100, seed)
        train, test = slice(0, 100), slice(100, None)
        assert min(y[train].sum(), (1 - y[train]).sum()) >= 10
        model = ConversionModel(**FAST_MODEL).fit(
            leads.iloc[train], y[train], feature_spec=SPEC, prior=prior[train]
        )
        p = model.predict_proba(leads.iloc[test].reset_index(drop=True), prior=prior[test])
        # The scorecard's own probabilities are far off (its scale is wrong) ...
        assert expected_calibration_error(y[test], prior[test]) > 0.3
        # ... the model's follow its 100 outcomes: their base rate, and the range.
        assert abs(p.mean() - y[train].mean()) < 0.07
        eces.append(expected_calibration_error(y[test], p))
        assert eces[-1] < 0.1
        assert model.calibrator_.kind == "sigmoid"  # the only one 100 outcomes can carry
    assert np.mean(eces) < 0.05


def test_the_prior_weighs_less_as_history_grows() -> None:
    leads, y, prior = history(4000, 3)
    small = ConversionModel(**FAST_MODEL).fit(
        leads.iloc[:100], y[:100], feature_spec=SPEC, prior=prior[:100]
    )
    large = ConversionModel(**FAST_MODEL).fit(leads, y, feature_spec=SPEC, prior=prior)
    assert small.prior_weight_ > large.prior_weight_
    assert small.selection_["blend"].get(PRIOR, 0) > 0


def test_the_prior_weight_and_trust_round_trip_through_json() -> None:
    leads, y, prior = history(300, 4)
    model = ConversionModel(**FAST_MODEL).fit(leads, y, feature_spec=SPEC, prior=prior)
    again = ConversionModel.from_dict(model.to_dict())
    assert again.prior_weight_ == model.prior_weight_
    assert again.trust_ == model.trust_
    np.testing.assert_allclose(
        again.predict_proba(leads, prior=prior), model.predict_proba(leads, prior=prior)
    )


def test_trust_is_an_interval_that_narrows_with_history() -> None:
    rng = np.random.default_rng(0)
    p = rng.random(20_000)
    y = (rng.random(20_000) < p).astype(int)
    few, many = trust_interval(y[:100], p[:100], 0), trust_interval(y, p, 0)
    for trust in (few, many):
        assert trust["auc_low"] <= trust["auc"] <= trust["auc_high"]
    assert few["auc_high"] - few["auc_low"] > 3 * (many["auc_high"] - many["auc_low"])
    assert few["rating_margin_pts"] > 3 * many["rating_margin_pts"]


def test_the_search_is_bounded_on_a_large_history() -> None:
    params = ModelParams()
    full = plan_search(params, 5_000, has_pairs=True)
    large = plan_search(params, LARGE_HISTORY, has_pairs=True)
    small = plan_search(params, 100, has_pairs=True)
    assert full.n_fits == 5 * (8 + 3) + 1 + 8
    assert large.n_fits <= 15
    assert large.n_folds == 3 and large.selection_rows < LARGE_HISTORY
    assert plan_search(params, 1_000_000, has_pairs=True).n_fits == large.n_fits
    assert small.calibrations == ("sigmoid",)
    assert full.calibrations == params.calibrations


def test_fit_reports_each_stage_and_the_fits_left_down_to_zero() -> None:
    leads, y, _ = history(300, 5)
    reports: list[tuple[str, int]] = []
    model = ConversionModel(**FAST_MODEL).fit(
        leads, y, feature_spec=SPEC, progress=lambda stage, left: reports.append((stage, left))
    )
    lefts = [left for _, left in reports if left]
    assert lefts == sorted(lefts, reverse=True)
    assert max(lefts) == model.selection_["plan"]["n_fits"]
    assert reports[-1] == ("done", 0)
    assert {"encoding the columns", "cross-validating candidates"} <= {s for s, _ in reports}


def test_threads_do_not_change_the_model() -> None:
    leads, y, prior = history(400, 6)
    one = ConversionModel(**{**FAST_MODEL, "n_jobs": 1}).fit(
        leads, y, feature_spec=SPEC, prior=prior
    )
    two = ConversionModel(**{**FAST_MODEL, "n_jobs": 2}).fit(
        leads, y, feature_spec=SPEC, prior=prior
    )
    np.testing.assert_array_equal(
        one.predict_proba(leads, prior=prior), two.predict_proba(leads, prior=prior)
    )
