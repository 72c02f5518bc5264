"""The time-to-decision model: survival on generated histories whose hazard we know."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from leadsieve.engine import (
    FeatureColumn,
    FeatureSpec,
    InvalidInput,
    NotFitted,
    TimeToCloseModel,
    calibration_at,
    concordance_index,
    kaplan_meier,
)
from leadsieve.engine.time_to_close import survival_at

SPEC = FeatureSpec(
    columns=(
        FeatureColumn("source", "categorical"),
        FeatureColumn("budget", "numeric"),
        FeatureColumn("consent", "bool"),
        FeatureColumn("after_call", "categorical", post_contact=True),
    )
)
BASE_RATE = 1 / 60  # decisions per day for the reference lead
SOURCE_EFFECT = {"referral": 1.0, "web": 0.0, "ads": -1.0}
CONSENT_EFFECT = 0.5


def make_history(
    n: int, seed: int, *, follow_up: float = 300.0
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, np.ndarray]:
    """Leads with an exponential time to decision, log-hazard = source + consent effects;
    censored uniformly over ``follow_up`` days. Returns leads, durations, decided, true risk."""
    rng = np.random.default_rng(seed)
    source = rng.choice(list(SOURCE_EFFECT), size=n)
    consent = rng.random(n) < 0.5
    true_risk = np.array([SOURCE_EFFECT[s] for s in source]) + CONSENT_EFFECT * consent
    decision = rng.exponential(1.0 / (BASE_RATE * np.exp(true_risk)))
    censored_at = rng.uniform(0.0, follow_up, size=n)
    leads = pd.DataFrame(
        {
            "source": source.astype(object),
            "budget": rng.lognormal(8.0, 1.0, size=n),  # no effect on the hazard
            "consent": consent,
            "after_call": rng.choice(["x", "y"], size=n).astype(object),
        }
    )
    return leads, np.minimum(decision, censored_at), decision <= censored_at, true_risk


@pytest.fixture(scope="module")
def fitted() -> TimeToCloseModel:
    leads, days, decided, _ = make_history(4000, seed=1)
    return TimeToCloseModel(random_state=0).fit(leads, days, decided, feature_spec=SPEC)


def brute_force_cindex(t: np.ndarray, d: np.ndarray, r: np.ndarray) -> float:
    """Harrell's C by the definition, one pair at a time."""
    good = total = 0.0
    for i in range(len(t)):
        for j in range(len(t)):
            if d[i] and t[i] < t[j]:
                total += 1
                good += 1.0 if r[i] > r[j] else 0.5 if r[i] == r[j] else 0.0
    return good / total


# -- failure paths first ---------------------------------------------------------------------
def test_it_refuses_to_predict_before_fit() -> None:
    leads, _, _, _ = make_history(10, seed=0)
    with pytest.raises(NotFitted):
        TimeToCloseModel().predict_decision_proba(leads, [30])
    with pytest.raises(NotFitted):
        TimeToCloseModel().to_dict()


@pytest.mark.parametrize(
    "change, message",
    [
        ({"days": np.full(50, -1.0)}, "not negative"),
        ({"days": np.full(50, np.nan)}, "not negative"),
        ({"decided": np.zeros(50, dtype=bool)}, "two decided"),
        ({"days": np.ones(3)}, "one row each"),
        ({"cuts_days": (1.0, 7.0)}, "start at 0"),
        ({"cuts_days": (0.0, 7.0, 7.0)}, "start at 0"),
    ],
)
def test_it_rejects_histories_it_cannot_learn_from(change: dict[str, object], message: str) -> None:
    leads, days, decided, _ = make_history(50, seed=0)
    days = change.get("days", days)  # type: ignore[assignment]
    decided = change.get("decided", decided)  # type: ignore[assignment]
    model = TimeToCloseModel(cuts_days=change.get("cuts_days", (0.0, 30.0)))  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match=message):
        model.fit(leads, days, decided, feature_spec=SPEC)


def test_it_rejects_a_stored_artefact_of_another_kind() -> None:
    with pytest.raises(InvalidInput, match="not a time-to-close model"):
        TimeToCloseModel.from_dict({"kind": "conversion"})


def test_the_concordance_needs_a_comparable_pair() -> None:
    with pytest.raises(InvalidInput, match="no comparable pair"):
        concordance_index(np.array([5.0, 5.0]), np.array([True, True]), np.array([1.0, 2.0]))


# -- the estimator contract ------------------------------------------------------------------
def test_fit_returns_the_model_and_learns_only_then() -> None:
    leads, days, decided, _ = make_history(300, seed=2)
    model = TimeToCloseModel(l2_grid=(5.0,))
    assert not hasattr(model, "coef_")
    assert model.fit(leads, days, decided, feature_spec=SPEC) is model
    assert model.l2_ == 5.0
    assert model.n_rows_ == 300 and model.n_decided_ == int(decided.sum())


def test_it_round_trips_through_json_and_predicts_identically(fitted: TimeToCloseModel) -> None:
    leads, _, _, _ = make_history(200, seed=3)
    again = TimeToCloseModel.from_json(fitted.to_json())
    assert again.to_dict() == fitted.to_dict()
    assert json.loads(again.to_json()) == json.loads(fitted.to_json())
    ages = np.linspace(0, 200, len(leads))
    np.testing.assert_array_equal(
        again.predict_decision_proba(leads, [30, 90, 180], age_days=ages),
        fitted.predict_decision_proba(leads, [30, 90, 180], age_days=ages),
    )
    np.testing.assert_array_equal(
        again.predict_median_days(leads, age_days=ages),
        fitted.predict_median_days(leads, age_days=ages),
    )


def test_same_input_gives_the_same_model() -> None:
    leads, days, decided, _ = make_history(500, seed=4)
    first = TimeToCloseModel(random_state=3).fit(leads, days, decided, feature_spec=SPEC)
    second = TimeToCloseModel(random_state=3).fit(leads, days, decided, feature_spec=SPEC)
    assert first.to_json() == second.to_json()


def test_it_never_learns_from_post_contact_columns(fitted: TimeToCloseModel) -> None:
    assert [e.name for e in fitted.encodings_] == ["source", "budget", "consent"]


def test_importing_it_leaves_django_unimported() -> None:
    code = "import sys, leadsieve.engine.time_to_close; print('django' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# -- it learns the hazard it was given -------------------------------------------------------
def test_it_ranks_leads_nearly_as_well_as_the_true_hazard(fitted: TimeToCloseModel) -> None:
    leads, days, decided, true_risk = make_history(3000, seed=5)
    ours = concordance_index(days, decided, fitted.risk_score(leads))
    best = concordance_index(days, decided, true_risk)
    assert best > 0.65
    assert ours >= best - 0.01


def test_it_recovers_the_effects_it_was_generated_with(fitted: TimeToCloseModel) -> None:
    leads = pd.DataFrame(
        {
            "source": ["referral", "web", "ads", "web"],
            "budget": [3000.0] * 4,
            "consent": [0, 0, 0, 1],
        }
    )
    risk = fitted.risk_score(leads)
    assert risk[0] - risk[1] == pytest.approx(1.0, abs=0.15)
    assert risk[1] - risk[2] == pytest.approx(1.0, abs=0.15)
    assert risk[3] - risk[1] == pytest.approx(CONSENT_EFFECT, abs=0.15)


def test_its_probabilities_match_the_true_ones(fitted: TimeToCloseModel) -> None:
    leads = pd.DataFrame({"source": ["referral", "web", "ads"], "consent": [True, False, False]})
    rate = BASE_RATE * np.exp([1.0 + CONSENT_EFFECT, 0.0, -1.0])
    expected = 1.0 - np.exp(-np.outer(rate, [30, 90, 180]))
    got = fitted.predict_decision_proba(leads, [30, 90, 180])
    np.testing.assert_allclose(got, expected, atol=0.04)


def test_it_is_calibrated_at_90_days_on_new_leads(fitted: TimeToCloseModel) -> None:
    leads, days, decided, _ = make_history(3000, seed=6)
    p90 = fitted.predict_decision_proba(leads, [90])[:, 0]
    groups, gap = calibration_at(90, days, decided, p90)
    assert len(groups) == 10 and sum(g.n for g in groups) == 3000
    assert gap < 0.04
    # The Kaplan–Meier baseline (one probability for all) in the model's deciles does worse.
    km_days, km_survival = kaplan_meier(days, decided)
    km90 = 1 - survival_at(km_days, km_survival, np.array([90.0]))[0]
    _, gap_km = calibration_at(90, days, decided, np.full(len(days), km90), rank_by=p90)
    assert gap_km > 3 * gap
    km_days, km_survival = kaplan_meier(days, decided)
    assert p90.mean() == pytest.approx(
        1 - survival_at(km_days, km_survival, np.array([90]))[0], abs=0.03
    )


def test_an_unknown_level_or_a_missing_column_counts_as_a_blank(
    fitted: TimeToCloseModel,
) -> None:
    unseen = pd.DataFrame({"source": ["never seen"], "budget": [None], "consent": [None]})
    nothing = pd.DataFrame({"other": [1]})
    assert fitted.risk_score(unseen)[0] == pytest.approx(fitted.risk_score(nothing)[0])


def test_scoring_without_the_design_matrix_gives_the_design_matrix_scores(
    fitted: TimeToCloseModel,
) -> None:
    from leadsieve.engine.time_to_close import _design

    leads, _, _, _ = make_history(500, seed=11)
    leads.loc[::7, "budget"] = None
    leads.loc[::5, "source"] = None
    leads["consent"] = leads["consent"].astype(object)
    leads.loc[::3, "consent"] = None
    expected = _design(leads, fitted.encodings_) @ fitted.coef_
    np.testing.assert_allclose(fitted.risk_score(leads), expected, rtol=1e-12, atol=1e-12)
    small = leads.iloc[:10].copy()  # scored value by value
    small.loc[1, "source"] = "  web "
    small.loc[2, "source"] = float("nan")
    small.loc[4, "source"] = ""
    big = pd.concat([small] * 2, ignore_index=True)  # scored through pandas' factorize
    np.testing.assert_allclose(fitted.risk_score(small), fitted.risk_score(big)[:10], atol=1e-12)
    np.testing.assert_allclose(fitted.risk_score(leads.iloc[3:4]), expected[3:4], atol=1e-12)


def test_a_column_blank_in_all_training_rows_adds_only_its_missing_flag() -> None:
    leads, days, decided, _ = make_history(300, seed=10)
    leads["budget"] = None
    model = TimeToCloseModel(l2_grid=(1.0,)).fit(leads, days, decided, feature_spec=SPEC)
    budget = next(e for e in model.encodings_ if e.name == "budget")
    assert (budget.center, budget.scale) == (0.0, 1.0)
    n_source = len(model.encodings_[0].levels)
    assert model.coef_[n_source] == 0.0  # the value itself: nothing to learn from
    assert np.isfinite(model.risk_score(leads.iloc[:1].assign(budget=5000.0))).all()


# -- survival arithmetic ---------------------------------------------------------------------
def constant_hazard_model(rate: float, max_days: float = 400.0) -> TimeToCloseModel:
    """A fitted model of a constant hazard and no covariates, built by hand."""
    leads, days, decided, _ = make_history(100, seed=7)
    model = TimeToCloseModel(cuts_days=(0.0, 30.0, 90.0), l2_grid=(1.0,)).fit(
        leads, days, decided, feature_spec=FeatureSpec()
    )
    data = model.to_dict()
    data["log_hazard"] = [math.log(rate)] * 3
    data["max_days"] = max_days
    return TimeToCloseModel.from_dict(data)


def test_a_constant_hazard_gives_the_exponential_law_at_every_age() -> None:
    model = constant_hazard_model(0.01)
    leads = pd.DataFrame(index=range(3))
    ages = np.array([0.0, 45.0, 200.0])
    got = model.predict_decision_proba(leads, [30, 90, 180], age_days=ages)
    np.testing.assert_allclose(got, np.tile(1 - np.exp(-0.01 * np.array([30, 90, 180])), (3, 1)))
    medians = model.predict_median_days(leads.iloc[:2], age_days=ages[:2])
    np.testing.assert_allclose(medians, [math.log(2) / 0.01] * 2)


def test_the_median_is_infinite_beyond_the_history_seen() -> None:
    model = constant_hazard_model(0.01, max_days=100.0)  # the median, 69 days, then 69 more
    leads = pd.DataFrame(index=range(2))
    medians = model.predict_median_days(leads, age_days=np.array([0.0, 40.0]))
    assert medians[0] == pytest.approx(math.log(2) / 0.01)
    assert medians[1] == math.inf


def test_kaplan_meier_matches_a_hand_computed_curve() -> None:
    # times 1,2,2,3,4 ; decided at 1, one of the 2s, 4; censored at the other 2 and at 3
    days, survival = kaplan_meier(
        np.array([1.0, 2.0, 2.0, 3.0, 4.0]), np.array([True, True, False, False, True])
    )
    np.testing.assert_array_equal(days, [1.0, 2.0, 4.0])
    np.testing.assert_allclose(survival, [4 / 5, 4 / 5 * 3 / 4, 4 / 5 * 3 / 4 * 0])
    np.testing.assert_allclose(
        survival_at(days, survival, np.array([0.5, 1.0, 3.0, 9.0])), [1.0, 0.8, 0.6, 0.0]
    )


def test_kaplan_meier_follows_the_exponential_law() -> None:
    rng = np.random.default_rng(8)
    decision = rng.exponential(50.0, size=20000)
    censored_at = rng.uniform(0, 200, size=20000)
    days, survival = kaplan_meier(np.minimum(decision, censored_at), decision <= censored_at)
    at = np.array([10.0, 50.0, 100.0])
    np.testing.assert_allclose(survival_at(days, survival, at), np.exp(-at / 50.0), atol=0.015)


def test_the_concordance_is_harrells_by_the_definition() -> None:
    rng = np.random.default_rng(9)
    t = rng.integers(1, 20, size=120).astype(float)  # ties in time
    d = rng.random(120) < 0.6
    r = rng.integers(0, 5, size=120).astype(float)  # ties in risk
    assert concordance_index(t, d, r, chunk=7) == pytest.approx(brute_force_cindex(t, d, r))
    assert concordance_index(t, d, -t) == 1.0


def test_the_horizon_is_short_when_a_decision_within_90_days_is_even_odds_or_better() -> None:
    from leadsieve.engine.time_to_close import decision_horizon

    model = constant_hazard_model(math.log(2) / 89.5)  # just over 50 % within 90 days
    leads = pd.DataFrame(index=range(2))
    horizon, reason = decision_horizon(model, leads, age_days=0.0)
    assert list(horizon.texts()) == ["short", "short"]
    assert reason.texts()[0].startswith("likely to decide within 90 days (50–60 %, learned from")
    horizon, reason = decision_horizon(model, leads, age_days=0.0, at_least=0.51)
    assert list(horizon.texts()) == ["long", "long"]
    assert reason.texts()[0].startswith("not likely to decide within 90 days (50–60 %")
    horizon, _ = decision_horizon(model, leads, age_days=0.0, within_days=30)
    assert list(horizon.texts()) == ["long", "long"]
