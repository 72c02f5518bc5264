"""The derived "which fields were filled in" column (``ANSWERS``) of the conversion model."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from leadsieve.engine import ConversionModel, FeatureColumn, FeatureSpec, InvalidInput
from leadsieve.engine.explain import _answers_words
from leadsieve.engine.features import ANSWERS, MISSING, answer_codes

from .factories import FAST_MODEL, dense_linear_contributions

SPEC = FeatureSpec(
    columns=(
        FeatureColumn("source", "categorical"),
        FeatureColumn("custom__occupation", "categorical"),
        FeatureColumn("custom__city", "categorical"),
        FeatureColumn("custom__visits", "numeric"),
        FeatureColumn("consent", "bool"),
    )
)


def form_history(n: int = 1500, seed: int = 5) -> tuple[pd.DataFrame, np.ndarray]:
    """Leads from three forms. The short ad form leaves occupation, city and visits blank and
    converts well; a long form a visitor abandoned leaves any one or two of them blank and
    converts badly. No single blank says which: only the combination does."""
    rng = np.random.default_rng(seed)
    form = rng.choice(["full", "ad", "abandoned"], n, p=[0.5, 0.2, 0.3])
    occupation = rng.choice(["student", "working", "unemployed"], n).astype(object)
    city = rng.choice(["Mumbai", "Pune", "Delhi"], n).astype(object)
    visits = rng.poisson(4, n).astype(float)
    ad = form == "ad"
    blanks = rng.random((n, 3)) < 0.5
    blanks[blanks.all(axis=1), rng.integers(0, 3)] = False  # an abandoned form keeps one answer
    blanks[~blanks.any(axis=1), 0] = True  # ... and leaves at least one blank
    abandoned = form == "abandoned"
    occupation[ad | (abandoned & blanks[:, 0])] = None
    city[ad | (abandoned & blanks[:, 1])] = None
    visits[ad | (abandoned & blanks[:, 2])] = np.nan
    z = np.select([form == "ad", form == "abandoned"], [1.5, -1.5], 0.0)
    y = (rng.random(n) < 1 / (1 + np.exp(-z))).astype(int)
    leads = pd.DataFrame(
        {
            "id": np.arange(1, n + 1),
            "source": rng.choice(["web", "referral"], n),
            "custom__occupation": occupation,
            "custom__city": city,
            "custom__visits": visits,
            "consent": rng.random(n) < 0.5,
        }
    )
    return leads, y


@pytest.fixture(scope="module")
def fitted() -> tuple[ConversionModel, pd.DataFrame, np.ndarray]:
    leads, y = form_history()
    return ConversionModel(**FAST_MODEL).fit(leads, y, feature_spec=SPEC), leads, y


def test_answer_codes_follow_the_category_codes_contract() -> None:
    blanks = [np.array([True, False, False]), np.array([True, True, False])]
    codes, distinct = answer_codes(blanks)
    assert list(distinct[codes]) == ["00", "10", "11"]
    assert distinct[-1] == MISSING and MISSING not in distinct[codes]


def test_the_column_is_derived_from_three_or_more_columns_with_blanks(
    fitted: tuple[ConversionModel, pd.DataFrame, np.ndarray],
) -> None:
    model, leads, _ = fitted
    encoder = model.encoder_
    assert encoder.answer_columns_ == [
        ("custom__occupation", "categorical"),
        ("custom__city", "categorical"),
        ("custom__visits", "numeric"),
    ]
    assert encoder.columns == [c.name for c in SPEC.usable] + [ANSWERS]
    assert list(model.contributions(leads.head(3)).columns) == encoder.columns
    # Two columns with blanks: nothing is derived.
    two = FeatureSpec(columns=SPEC.columns[:3])
    small = ConversionModel(**FAST_MODEL).fit(leads, fitted[2], feature_spec=two)
    assert small.encoder_.answer_columns_ == []
    assert ANSWERS not in small.encoder_.columns


def test_a_column_blank_everywhere_or_almost_never_takes_no_part() -> None:
    leads, y = form_history(n=600)
    leads["custom__fax"] = None  # blank in every row
    leads["custom__budget"] = np.where(np.arange(len(leads)) < 3, np.nan, 1000.0)  # 3 blanks
    spec = FeatureSpec(
        columns=(
            *SPEC.columns[:3],
            FeatureColumn("custom__fax", "categorical"),
            FeatureColumn("custom__budget", "numeric"),
        )
    )
    model = ConversionModel(**FAST_MODEL).fit(leads, y, feature_spec=spec)
    # Occupation and city remain: two columns, so nothing is derived.
    assert model.encoder_.answer_columns_ == []


def test_the_combination_of_blanks_carries_the_signal(
    fitted: tuple[ConversionModel, pd.DataFrame, np.ndarray],
) -> None:
    model, leads, _ = fitted
    contributions = model.contributions(leads)[ANSWERS]
    ad = leads["custom__city"].isna() & leads["custom__occupation"].isna()
    ad &= leads["custom__visits"].isna()
    partial = ~ad & leads[["custom__city", "custom__occupation", "custom__visits"]].isna().any(
        axis=1
    )
    assert contributions[ad].mean() > 0.3 > -0.3 > contributions[partial].mean()
    p = model.predict_proba(leads)
    assert p[ad].mean() - p[partial].mean() > 0.3


def test_linear_contributions_equal_the_dense_matrix_with_the_derived_column(
    fitted: tuple[ConversionModel, pd.DataFrame, np.ndarray],
) -> None:
    model, leads, _ = fitted
    encoder = model.encoder_
    unseen = leads.head(6).assign(custom__city=["Goa", None] * 3, custom__visits=np.nan)
    frame = pd.concat([leads, unseen], ignore_index=True)
    per_column = encoder.linear_contributions(frame, model.lr_coef_)
    expected = dense_linear_contributions(model, frame)
    assert ANSWERS in encoder.linear_sources() and np.abs(expected[:, -1]).max() > 0
    np.testing.assert_allclose(per_column, expected, rtol=0, atol=1e-10)
    alone, _, _ = encoder.tree_matrix(frame)
    shared, _, _ = encoder.tree_matrix(frame, factorized=encoder.factorize(frame))
    np.testing.assert_array_equal(alone, shared)


def test_it_round_trips_and_older_models_load_without_it(
    fitted: tuple[ConversionModel, pd.DataFrame, np.ndarray],
) -> None:
    model, leads, _ = fitted
    again = ConversionModel.from_dict(json.loads(model.to_json()))
    np.testing.assert_array_equal(again.predict_proba(leads), model.predict_proba(leads))
    older = ConversionModel(**FAST_MODEL).fit(
        leads, fitted[2], feature_spec=FeatureSpec(columns=SPEC.columns[:3])
    )
    stored = json.loads(older.to_json())
    stored["encoder"].pop("answer_columns")  # as stored before the derived column existed
    loaded = ConversionModel.from_dict(stored)
    np.testing.assert_array_equal(loaded.predict_proba(leads), older.predict_proba(leads))


def test_explanations_say_how_many_fields_were_filled_in(
    fitted: tuple[ConversionModel, pd.DataFrame, np.ndarray],
) -> None:
    model, leads, _ = fitted
    ad = leads[leads["custom__city"].isna() & leads["custom__occupation"].isna()]
    ad = ad[ad["custom__visits"].isna()].head(5)
    for reasons in model.explain(ad, top=6):
        answers = [r for r in reasons if r.code == f"model:{ANSWERS}"]
        assert len(answers) == 1
        assert answers[0].label.startswith(
            "0 of 3 optional fields filled in (blank: Occupation, City, Visits): raises the rating"
        )
        assert answers[0].value == 0 and type(answers[0].value) is int


def test_a_spec_column_cannot_take_the_derived_column_s_name() -> None:
    leads, y = form_history(n=200)
    leads[ANSWERS] = "x"
    spec = FeatureSpec(columns=(*SPEC.columns, FeatureColumn(ANSWERS, "categorical")))
    with pytest.raises(InvalidInput, match="derived column"):
        ConversionModel(**FAST_MODEL).fit(leads, y, feature_spec=spec)


def test_the_words_name_at_most_three_blank_fields() -> None:
    assert _answers_words(5, []) == "5 of 5 optional fields filled in"
    five = ["City", "Occupation", "Visits", "Country", "Budget"]
    assert _answers_words(1, five) == (
        "1 of 6 optional fields filled in (blank: City, Occupation, Visits and 2 more)"
    )
