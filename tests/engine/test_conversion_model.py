"""ConversionModel conformance: fit/predict/explain/persist, on a small synthetic history."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from leadsieve.engine import (
    ENGINE_VERSION,
    ConversionModel,
    FeatureColumn,
    FeatureSpec,
    InvalidInput,
    NotFitted,
    rating,
)
from leadsieve.engine.features import (
    FeatureEncoder,
    spline_basis,
    spline_knots,
)
from leadsieve.engine.model import TREES, _lr_name, greedy_blend

from .factories import FAST_MODEL, dense_linear_contributions

SPEC = FeatureSpec(
    columns=(
        FeatureColumn("source", "categorical"),
        FeatureColumn("company__size", "numeric"),
        FeatureColumn("consent", "bool"),
        FeatureColumn("custom__page", "categorical"),
        FeatureColumn("custom__tags", "categorical", post_contact=True),
    )
)


def history(n: int = 600, seed: int = 1) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    source = rng.choice(["web", "referral", "event", "ads"], n)
    size = np.exp(rng.normal(4, 1.5, n))
    size[rng.random(n) < 0.1] = np.nan
    consent = rng.random(n) < 0.6
    page = rng.choice([f"p{i}" for i in range(12)], n)
    z = (
        -1.0
        + 1.5 * (source == "referral")
        - 1.0 * (source == "ads")
        + 0.4 * np.nan_to_num(np.log(size) - 4)
        + 0.5 * consent
    )
    y = (rng.random(n) < 1 / (1 + np.exp(-z))).astype(int)
    leads = pd.DataFrame(
        {
            "id": np.arange(1, n + 1),
            "source": source,
            "company__size": size,
            "consent": pd.Series(consent, dtype=object).where(rng.random(n) > 0.05, None),
            "custom__page": page,
            "custom__tags": np.where(y == 1, "closed", "lost"),
        }
    )
    return leads, y


@pytest.fixture(scope="module")
def fitted() -> tuple[ConversionModel, pd.DataFrame, np.ndarray]:
    leads, y = history()
    return ConversionModel(**FAST_MODEL).fit(leads, y, feature_spec=SPEC), leads, y


def test_it_refuses_to_predict_before_fit() -> None:
    leads, _ = history(20)
    model = ConversionModel()
    for call in (model.predict_proba, model.explain, model.decision_function):
        with pytest.raises(NotFitted):
            call(leads)
    with pytest.raises(NotFitted):
        model.to_dict()
    with pytest.raises(NotFitted):
        FeatureEncoder(spec=SPEC).linear_sources()


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"n_inner_folds": 1}, "n_inner_folds"),
        ({"blend_parts": ("magic",)}, "blend_parts"),
        ({"blend_parts": ()}, "blend_parts"),
        ({"ensemble_steps": 0}, "ensemble_steps"),
        ({"lr_cs": ()}, "lr_cs"),
        ({"lr_cs": (0.1, 0.0)}, "lr_cs"),
        ({"calibrations": ("magic",)}, "calibrations"),
        ({"lr_pairs": ()}, "lr_pairs"),
    ],
)
def test_it_validates_parameters_in_fit(params: dict[str, object], message: str) -> None:
    leads, y = history(60)
    with pytest.raises(InvalidInput, match=message):
        ConversionModel(**params).fit(leads, y, feature_spec=SPEC)  # type: ignore[arg-type]


def test_it_rejects_bad_outcomes_and_missing_columns() -> None:
    leads, y = history(60)
    with pytest.raises(InvalidInput, match="both 0"):
        ConversionModel().fit(leads, np.zeros(60, dtype=int), feature_spec=SPEC)
    with pytest.raises(InvalidInput, match="one value per lead"):
        ConversionModel().fit(leads, y[:10], feature_spec=SPEC)
    with pytest.raises(InvalidInput, match="too few"):
        ConversionModel().fit(leads, np.r_[1, 1, np.zeros(58, dtype=int)], feature_spec=SPEC)
    with pytest.raises(InvalidInput, match="source"):
        ConversionModel().fit(leads.drop(columns="source"), y, feature_spec=SPEC)
    bad = FeatureSpec(columns=(FeatureColumn("source", "text"),))
    with pytest.raises(InvalidInput, match="kind"):
        ConversionModel().fit(leads, y, feature_spec=bad)


def test_fit_returns_self(fitted: tuple[ConversionModel, pd.DataFrame, np.ndarray]) -> None:
    leads, y = history(200, seed=3)
    model = ConversionModel(**FAST_MODEL)
    assert model.fit(leads, y, feature_spec=SPEC) is model
    assert not hasattr(ConversionModel(), "boosters_")


def test_probabilities_are_calibrated_and_ratings_in_range(
    fitted: tuple[ConversionModel, pd.DataFrame, np.ndarray],
) -> None:
    model, leads, y = fitted
    p = model.predict_proba(leads)
    assert p.shape == (len(leads),)
    assert ((p > 0) & (p < 1)).all()
    assert abs(p.mean() - y.mean()) < 0.05
    r = rating(p)
    assert r.min() >= 1 and r.max() <= 100 and r.dtype.kind == "i"


def test_post_contact_columns_are_never_features(
    fitted: tuple[ConversionModel, pd.DataFrame, np.ndarray],
) -> None:
    model, leads, _ = fitted
    assert "custom__tags" not in model.contributions(leads).columns
    flipped = leads.assign(custom__tags="closed")
    np.testing.assert_allclose(model.predict_proba(flipped), model.predict_proba(leads))


def test_same_input_same_output() -> None:
    leads, y = history(300, seed=5)
    a = ConversionModel(**FAST_MODEL).fit(leads, y, feature_spec=SPEC).predict_proba(leads)
    b = ConversionModel(**FAST_MODEL).fit(leads, y, feature_spec=SPEC).predict_proba(leads)
    np.testing.assert_array_equal(a, b)


def test_it_round_trips_through_json_without_pickle(
    fitted: tuple[ConversionModel, pd.DataFrame, np.ndarray],
) -> None:
    model, leads, _ = fitted
    data = json.loads(model.to_json())
    assert data["engine_version"] == ENGINE_VERSION
    again = ConversionModel.from_dict(data)
    np.testing.assert_allclose(again.predict_proba(leads), model.predict_proba(leads))
    assert again.params == model.params


def test_rating_maps_probabilities_to_1_to_100() -> None:
    assert rating(np.array([0.0, 0.004, 0.5, 0.706, 1.0])).tolist() == [1, 1, 50, 71, 100]


def test_unknown_levels_and_a_single_lead_are_fine(
    fitted: tuple[ConversionModel, pd.DataFrame, np.ndarray],
) -> None:
    model, leads, _ = fitted
    one = leads.head(1).assign(source="carrier pigeon", custom__page=None, company__size=np.nan)
    assert model.predict_proba(one).shape == (1,)


def test_explain_gives_plain_word_factors_raising_and_lowering(
    fitted: tuple[ConversionModel, pd.DataFrame, np.ndarray],
) -> None:
    model, leads, _ = fitted
    referral = leads[leads["source"] == "referral"].head(1)
    ads = leads[leads["source"] == "ads"].head(1)
    up = model.explain(referral, top=3)[0]
    down = model.explain(ads, top=3)[0]
    assert any(r.code == "model:source" and r.points > 0 for r in up)
    assert any(r.code == "model:source" and r.points < 0 for r in down)
    label = next(r.label for r in up if r.code == "model:source")
    assert label.startswith("Source is 'referral': raises the rating")
    assert all(len([r for r in rs if r.points > 0]) <= 3 for rs in model.explain(leads, top=3))


def test_factor_words_speak_rating_points_and_name_blank_values(
    fitted: tuple[ConversionModel, pd.DataFrame, np.ndarray],
) -> None:
    """ "No source given: lowers the rating by about 3 points", never "'': (-0.30 log-odds)"."""
    model, leads, _ = fitted
    blank = leads.head(40).assign(source="")
    reasons = [r for rs in model.explain(blank, top=3) for r in rs]
    assert reasons
    assert not any("log-odds" in r.label or "''" in r.label for r in reasons)
    sources = [r for r in reasons if r.code == "model:source"]
    assert sources and all(r.label.startswith("No source given: ") for r in sources)
    words = re.compile(r"(raises|lowers) the rating (by about \d+ points?|slightly)")
    assert all(words.search(reason.label) for reason in reasons)
    # The points are the rating's own: the rating moves by about that much without the factor.
    one = leads.head(1)
    rating = 100 * model.predict_proba(one)[0]
    biggest = max(model.explain(one, top=1)[0], key=lambda r: abs(r.points))
    found = re.search(r"about (\d+) point", biggest.label)
    stated = int(found.group(1)) if found else 0  # "slightly": under half a point
    logit = model.decision_function(one)
    without = 100 * model.calibrator_.predict(logit - biggest.points)[0]
    assert abs(stated - abs(rating - without)) <= 0.51  # rounding, and points kept to 4 places


def test_model_selection_is_recorded(
    fitted: tuple[ConversionModel, pd.DataFrame, np.ndarray],
) -> None:
    model, _, _ = fitted
    assert model.calibrator_.kind in ("isotonic", "sigmoid", "beta")
    assert model.gbm_shape_ in model.params.gbm_shapes
    assert set(model.selection_) == {
        "plan",
        "lr_losses",
        "gbm_losses",
        "blend",
        "blend_losses",
        "calibration_losses",
    }
    assert len(model.selection_["gbm_losses"]) == len(model.params.gbm_shapes)


def test_the_blend_is_the_greedy_selection(
    fitted: tuple[ConversionModel, pd.DataFrame, np.ndarray],
) -> None:
    model, _, _ = fitted
    counts = model.selection_["blend"]
    losses = model.selection_["blend_losses"]
    assert len(losses) == model.params.ensemble_steps
    n = sum(counts.values())
    assert n == model.params.ensemble_steps
    assert set(counts) <= set(model.selection_["lr_losses"]) | {TREES}
    assert model.blend_weight_ == counts.get(TREES, 0) / n
    assert sum(model.linear_mix_.values()) == pytest.approx(1.0)
    n_linear = n - counts.get(TREES, 0)
    assert model.linear_mix_ == {k: v / n_linear for k, v in counts.items() if k != TREES}


def test_a_trees_only_blend_has_no_linear_part() -> None:
    leads, y = history(400)
    model = ConversionModel(**{**FAST_MODEL, "blend_parts": ("trees",)})
    model.fit(leads, y, feature_spec=SPEC)
    assert model.blend_weight_ == 1.0 and model.linear_mix_ == {}
    assert not model.lr_coef_.any() and model.lr_intercept_ == 0
    again = ConversionModel.from_dict(json.loads(model.to_json()))
    np.testing.assert_array_equal(again.predict_proba(leads), model.predict_proba(leads))
    assert again.selection_ == model.selection_ == json.loads(json.dumps(model.selection_))


def test_the_linear_part_is_the_count_weighted_mix_of_the_picked_candidates(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Candidates of different widths (with and without pair features) mix coefficient by
    coefficient; a candidate listed twice in ``lr_cs`` is still one candidate."""
    import leadsieve.engine.model as model_module

    leads, y = interaction_history(800)
    picks = {"0.1": 3, "1.0+pairs": 1, TREES: 4}
    monkeypatch.setattr(model_module, "greedy_blend", lambda scores, y, steps: (picks, [0.5]))
    params = {**FAST_MODEL, "lr_cs": (0.1, 1.0, 0.1)}
    model = ConversionModel(**params).fit(leads, y, feature_spec=PAIR_SPEC)
    assert model.blend_weight_ == 0.5
    assert model.linear_mix_ == {"0.1": 0.75, "1.0+pairs": 0.25}
    x = model.encoder_.linear_matrix(leads, oof_y=y)
    n_single = model.encoder_.n_single_linear
    single = LogisticRegression(C=0.1, max_iter=2000).fit(x[:, :n_single], y)
    paired = LogisticRegression(C=1.0, max_iter=2000).fit(x, y)
    expected = 0.25 * paired.coef_[0]
    expected[:n_single] += 0.75 * single.coef_[0]
    np.testing.assert_allclose(model.lr_coef_, expected, rtol=1e-9, atol=1e-12)
    intercept = 0.75 * single.intercept_[0] + 0.25 * paired.intercept_[0]
    assert model.lr_intercept_ == pytest.approx(intercept)


def complementary_scores(n: int = 4000, seed: int = 0) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Two candidates seeing different halves of the signal, and a useless one."""
    rng = np.random.default_rng(seed)
    a, b = rng.normal(size=n), rng.normal(size=n)
    y = (rng.random(n) < 1 / (1 + np.exp(-(a + b)))).astype(int)
    noise = rng.normal(size=(3, n))
    scores = {"a": a + 0.5 * noise[0], "b": b + 0.5 * noise[1], "noise": noise[2]}
    return scores, y


def test_greedy_blend_mixes_complementary_candidates_and_skips_useless_ones() -> None:
    scores, y = complementary_scores()
    counts, losses = greedy_blend(scores, y, steps=10)
    assert set(counts) == {"a", "b"}
    assert abs(counts["a"] - counts["b"]) <= 1
    alone = greedy_blend(scores, y, steps=1)
    assert len(alone[0]) == 1 and alone[1][0] > min(losses)


def test_greedy_blend_breaks_ties_by_name() -> None:
    scores, y = complementary_scores()
    assert greedy_blend({"b": scores["a"], "a": scores["a"]}, y, steps=3)[0] == {"a": 3}


def test_greedy_blend_counts_every_step() -> None:
    scores, y = complementary_scores()
    counts, losses = greedy_blend(scores, y, steps=7)
    assert sum(counts.values()) == 7 and len(losses) == 7
    # With one candidate, every step adds the same logit: the loss stays where it started.
    counts, losses = greedy_blend({"a": scores["a"]}, y, steps=5)
    assert counts == {"a": 5}
    assert losses == pytest.approx([losses[0]] * 5)


def test_a_model_stored_before_tree_shapes_were_chosen_still_loads(
    fitted: tuple[ConversionModel, pd.DataFrame, np.ndarray],
) -> None:
    model, leads, _ = fitted
    old = json.loads(model.to_json())
    old["params"].pop("gbm_shapes")
    old["params"].update(gbm_num_leaves=15, gbm_min_child_samples=40)
    old.pop("gbm_shape")
    loaded = ConversionModel.from_dict(old)
    assert loaded.params.gbm_shapes == ((15, 40),) and loaded.gbm_shape_ == (15, 40)
    np.testing.assert_array_equal(loaded.predict_proba(leads), model.predict_proba(leads))


STORED_STOP_13 = Path(__file__).with_name("stored_model_stop13.json")


def test_a_model_stored_before_the_greedy_blend_still_loads_and_scores_the_same() -> None:
    """``stored_model_stop13.json``: ``to_dict`` of the code before the greedy blend (commit
    dd1c4f0) fitted on ``history(300, seed=5)``, with its own ratings of the first 20 leads."""
    old = json.loads(STORED_STOP_13.read_text())
    expected = old.pop("expected_proba_first_20")
    assert "blend_weights" in old["params"] and "lr_c" in old
    loaded = ConversionModel.from_dict(old)
    assert loaded.params.blend_parts == ("linear", "trees")
    assert loaded.linear_mix_ == {_lr_name((old["lr_pairs"], old["lr_c"])): 1.0}
    leads, _ = history(300, seed=5)
    np.testing.assert_allclose(loaded.predict_proba(leads.head(20)), expected, rtol=0, atol=1e-12)
    again = ConversionModel.from_dict(json.loads(loaded.to_json()))
    np.testing.assert_array_equal(again.predict_proba(leads), loaded.predict_proba(leads))
    old["params"]["blend_weights"] = [0.0]
    assert ConversionModel.from_dict(old).params.blend_parts == ("linear",)


def test_importing_the_engine_does_not_import_django() -> None:
    code = "import sys, leadsieve.engine; print('django' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_the_public_api_is_explicit() -> None:
    import leadsieve.engine as engine

    assert sorted(engine.__all__) == sorted(set(engine.__all__))
    for name in engine.__all__:
        assert hasattr(engine, name), name


def test_the_linear_part_needs_no_dense_matrix_and_gives_the_same_scores(
    fitted: tuple[ConversionModel, pd.DataFrame, np.ndarray],
) -> None:
    model, leads, _ = fitted
    unseen = leads.head(40).assign(
        source=["carrier pigeon", None] * 20, custom__page="", company__size=np.nan, consent=None
    )
    frame = pd.concat([leads, unseen], ignore_index=True)
    encoder = model.encoder_
    dense = encoder.linear_matrix(frame) * model.lr_coef_
    per_column = encoder.linear_contributions(frame, model.lr_coef_)
    expected = dense_linear_contributions(model, frame)
    np.testing.assert_allclose(per_column, expected, rtol=0, atol=1e-10)
    dense_logit = dense.sum(axis=1) + model.lr_intercept_
    np.testing.assert_allclose(
        per_column.sum(axis=1) + model.lr_intercept_, dense_logit, rtol=0, atol=1e-10
    )


def test_the_tree_matrix_is_the_same_with_shared_codes(
    fitted: tuple[ConversionModel, pd.DataFrame, np.ndarray],
) -> None:
    model, leads, _ = fitted
    encoder = model.encoder_
    alone, sources, categorical = encoder.tree_matrix(leads)
    shared, _, _ = encoder.tree_matrix(leads, factorized=encoder.factorize(leads))
    np.testing.assert_array_equal(alone, shared)
    assert len(sources) == alone.shape[1] and categorical


@pytest.mark.parametrize("weight", [0.0, 0.375, 1.0])
def test_a_part_with_zero_blend_weight_is_skipped_without_changing_scores(
    fitted: tuple[ConversionModel, pd.DataFrame, np.ndarray],
    weight: float,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    model = ConversionModel.from_dict(fitted[0].to_dict())
    leads = fitted[1]
    model.blend_weight_ = weight
    linear, x_tree = model._parts(leads)
    z_trees = np.mean([b.predict(x_tree, raw_score=True) for b in model.boosters_], axis=0)
    expected = weight * z_trees + (1 - weight) * (linear.sum(axis=1) + model.lr_intercept_)
    calls: list[str] = []
    for name in ("tree_matrix", "linear_contributions"):
        original = getattr(model.encoder_, name)

        def spy(*args: object, _name: str = name, _f: object = original, **kw: object) -> object:
            calls.append(_name)
            return _f(*args, **kw)  # type: ignore[operator]

        monkeypatch.setattr(model.encoder_, name, spy)
    np.testing.assert_allclose(model.decision_function(leads), expected, rtol=0, atol=1e-12)
    assert ("tree_matrix" in calls) == (weight > 0)
    assert ("linear_contributions" in calls) == (weight < 1)


def interaction_history(n: int = 2000, seed: int = 3) -> tuple[pd.DataFrame, np.ndarray]:
    """Conversion driven by a combination of two columns (an XOR of source and page group),
    which a linear model of single columns cannot express."""
    rng = np.random.default_rng(seed)
    source = rng.choice(["web", "referral"], n)
    page = rng.choice(["a1", "a2", "b1", "b2"], n)
    z = np.where((source == "web") == np.isin(page, ["a1", "a2"]), 1.2, -1.2)
    y = (rng.random(n) < 1 / (1 + np.exp(-z))).astype(int)
    leads = pd.DataFrame({"id": np.arange(1, n + 1), "source": source, "custom__page": page})
    return leads, y


PAIR_SPEC = FeatureSpec(
    columns=(FeatureColumn("source", "categorical"), FeatureColumn("custom__page", "categorical"))
)


@pytest.fixture(scope="module")
def pure_linear() -> tuple[ConversionModel, pd.DataFrame, np.ndarray]:
    leads, y = interaction_history()
    params = {**FAST_MODEL, "blend_parts": ("linear",)}
    return ConversionModel(**params).fit(leads, y, feature_spec=PAIR_SPEC), leads, y


def test_cross_validation_takes_pair_features_when_a_combination_drives_conversion(
    pure_linear: tuple[ConversionModel, pd.DataFrame, np.ndarray],
) -> None:
    model, leads, y = pure_linear
    assert model.blend_weight_ == 0
    with_pairs = [name for name in model.linear_mix_ if name.endswith("+pairs")]
    assert model.encoder_.pairs_ and with_pairs
    losses = model.selection_["lr_losses"]
    assert losses[with_pairs[0]] < losses[with_pairs[0].removesuffix("+pairs")]
    p = model.predict_proba(leads)
    assert p[y == 1].mean() - p[y == 0].mean() > 0.3


def test_pair_contributions_need_no_dense_matrix_and_split_between_both_columns(
    pure_linear: tuple[ConversionModel, pd.DataFrame, np.ndarray],
) -> None:
    model, leads, _ = pure_linear
    unseen = leads.head(4).assign(source=["fax", None, "web", "web"], custom__page="zz")
    frame = pd.concat([leads, unseen], ignore_index=True)
    encoder = model.encoder_
    dense = encoder.linear_matrix(frame) * model.lr_coef_
    per_column = encoder.linear_contributions(frame, model.lr_coef_)
    np.testing.assert_allclose(per_column.sum(axis=1), dense.sum(axis=1), rtol=0, atol=1e-10)
    n_single = encoder.n_single_linear
    pair_part = dense[:, n_single:].sum(axis=1)
    assert np.abs(pair_part).max() > 0.1
    single = dense[:, :n_single]
    sources = np.array(encoder.linear_sources()[:n_single])
    np.testing.assert_allclose(
        per_column[:, 0], single[:, sources == "source"].sum(axis=1) + pair_part / 2, atol=1e-10
    )
    again = ConversionModel.from_dict(json.loads(model.to_json()))
    np.testing.assert_array_equal(again.predict_proba(frame), model.predict_proba(frame))


def test_a_model_stored_before_pair_features_still_loads(
    fitted: tuple[ConversionModel, pd.DataFrame, np.ndarray],
) -> None:
    model, leads, _ = fitted
    old = json.loads(model.to_json())
    old.pop("linear_mix")
    old["lr_c"] = 0.01
    old["params"].pop("lr_pairs")
    old["encoder"].pop("pairs")
    width = model.encoder_.n_single_linear
    old["lr_coef"] = old["lr_coef"][:width]
    old["encoder"]["linear_mean"] = old["encoder"]["linear_mean"][:width]
    old["encoder"]["linear_sd"] = old["encoder"]["linear_sd"][:width]
    loaded = ConversionModel.from_dict(old)
    assert loaded.encoder_.pairs_ == [] and loaded.linear_mix_ == {"0.01": 1.0}
    if not any(name.endswith("+pairs") for name in model.linear_mix_):
        np.testing.assert_allclose(loaded.predict_proba(leads), model.predict_proba(leads))
    assert np.all((loaded.predict_proba(leads) > 0) & (loaded.predict_proba(leads) < 1))


def test_the_spline_basis_is_scikit_learns_even_with_a_repeated_knot() -> None:
    from sklearn.preprocessing import SplineTransformer

    rng = np.random.default_rng(0)
    values = np.log1p(np.r_[np.zeros(300), rng.exponential(300.0, 700)])  # 30 % zeros
    knots = spline_knots(values)
    reference = SplineTransformer(n_knots=6, degree=3, knots="quantile").fit(values[:, None])
    np.testing.assert_allclose(knots, reference.bsplines_[0].t)
    grid = np.r_[values, np.linspace(values.min(), values.max(), 500)]
    basis = spline_basis(grid, knots)
    np.testing.assert_allclose(basis, reference.transform(grid[:, None]), rtol=0, atol=1e-12)
    np.testing.assert_allclose(basis.sum(axis=1), 1.0)
    outside = spline_basis(np.array([-5.0, 50.0]), knots)  # clipped to the training range
    ends = spline_basis(np.array([values.min(), values.max()]), knots)
    np.testing.assert_allclose(outside, ends)


def test_a_constant_numeric_column_gets_no_spline() -> None:
    assert spline_knots(np.zeros(50)) == []


def test_a_model_stored_before_spline_features_still_loads(
    fitted: tuple[ConversionModel, pd.DataFrame, np.ndarray],
) -> None:
    model, leads, _ = fitted
    old = json.loads(model.to_json())
    keep = np.ones(len(old["lr_coef"]), dtype=bool)
    start = 0
    for enc, stored in zip(model.encoder_.encodings_, old["encoder"]["encodings"], strict=True):
        width = model.encoder_.linear_sources().count(enc.name)
        n_splines = max(0, len(stored.pop("spline_knots")) - 4)
        keep[start + width - n_splines : start + width] = False
        start += width
    for key in ("linear_mean", "linear_sd"):
        old["encoder"][key] = np.asarray(old["encoder"][key])[keep].tolist()
    old["lr_coef"] = np.asarray(old["lr_coef"])[keep].tolist()
    loaded = ConversionModel.from_dict(old)
    assert all(enc.spline_knots == [] for enc in loaded.encoder_.encodings_)
    p = loaded.predict_proba(leads)
    assert np.all((p > 0) & (p < 1)) and len(p) == len(leads)


def test_a_lead_with_no_known_combination_gets_no_pair_weight(
    pure_linear: tuple[ConversionModel, pd.DataFrame, np.ndarray],
) -> None:
    model, leads, _ = pure_linear
    lone = leads.head(1).assign(source="fax", custom__page="zz")
    encoder = model.encoder_
    dense = encoder.linear_matrix(lone) * model.lr_coef_
    n_single = encoder.n_single_linear
    per_column = encoder.linear_contributions(lone, model.lr_coef_)
    mean_part = -float(
        encoder.linear_mean_[n_single:] @ (model.lr_coef_ / encoder.linear_sd_)[n_single:]
    )
    np.testing.assert_allclose(dense[:, n_single:].sum(), mean_part, atol=1e-10)
    np.testing.assert_allclose(per_column.sum(), dense.sum(), atol=1e-10)
