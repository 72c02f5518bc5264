"""Edge cases: odd dtypes, absent optional columns, empty inputs."""

from __future__ import annotations

import numpy as np
import pandas as pd

from leadsieve.engine import ActivityCondition, Cap, Criterion, InterestRule, Scorecard
from leadsieve.engine.criteria import format_points
from leadsieve.engine.explain import _value_words
from leadsieve.engine.features import bool_values, category_values

from .factories import NOW, make_activities, make_leads, one_criterion


def test_text_filters_on_activities_without_url_or_subject_columns_match_nothing() -> None:
    card = one_criterion(
        dimension="interest",
        operator="activity",
        activity=ActivityCondition("page_visit", url_contains="pricing"),
    )
    acts = make_activities((1, "page_visit", 1, "/pricing", "")).drop(columns=["url", "subject"])
    assert card.score(make_leads(), acts, as_of=NOW)["interest_points"].tolist() == [0]


def test_empty_activities_and_unknown_kinds_are_ignored() -> None:
    card = Scorecard(interest_rules=(InterestRule("call", 5, 10),))
    empty = make_activities((1, "call", 1, "", "")).iloc[:0]
    odd = make_activities((1, "carrier_pigeon", 1, "", ""))
    for acts in (empty, odd):
        assert card.score(make_leads(), acts, as_of=NOW)["interest_points"].tolist() == [0]


def test_numeric_equal_with_a_text_value_matches_nothing() -> None:
    card = one_criterion(operator="equal", column="budget", value="lots")
    assert card.score(make_leads(), as_of=NOW)["fit_points"].tolist() == [0]


def test_a_cap_on_an_unused_group_changes_nothing() -> None:
    card = Scorecard(
        criteria=(Criterion("a", "fit", "is_set", 10, "country"),),
        caps=(Cap("fit", group="nobody", max=1),),
    )
    assert card.score(make_leads(), as_of=NOW)["fit_points"].tolist() == [10]


def test_large_batches_take_the_same_path_results() -> None:
    rows = [{"country": c} for c in ["DE", "fr", None, " De "] * 400]
    leads = make_leads(*rows)
    card = one_criterion(operator="one_of", column="country", value=("de",))
    big = card.score(leads, as_of=NOW)["fit_points"].to_numpy()
    small = card.score(leads.head(4), as_of=NOW)["fit_points"].to_numpy()
    np.testing.assert_array_equal(big[:4], small)
    assert big.sum() == 800 * 10


def test_value_helpers_speak_plainly() -> None:
    assert format_points(2.5) == "+2.5"
    assert format_points(-3.0) == "-3"
    assert _value_words(None) == "is not given"
    assert _value_words(float("nan")) == "is not given"
    assert _value_words(True) == "is yes"
    assert _value_words(np.int64(3)) == "is 3"
    assert _value_words("web") == "is 'web'"
    # A stored code reads as its words when the caller gives them (the lead's choices).
    assert _value_words("quarter", {"quarter": "Within 3 months"}) == "is within 3 months"
    assert _value_words("lt_1m", {"lt_1m": "< 1 M"}) == "is < 1 M"
    assert _value_words("CEO", {"CEO": "CEO"}) == "is CEO"
    assert _value_words("other", {"quarter": "Within 3 months"}) == "is 'other'"
    assert category_values(pd.Series(["a", None, " ", np.nan])).tolist() == [
        "a",
        "(missing)",
        "(missing)",
        "(missing)",
    ]
    assert np.isnan(bool_values(pd.Series(["Yes", "no", None, "maybe"]))).tolist() == [
        False,
        False,
        True,
        True,
    ]


def test_activities_join_leads_with_sparse_dense_or_text_ids() -> None:
    card = Scorecard(interest_rules=(InterestRule("call", 5, 10),))
    for ids in ([10, 10_000_000], [3, 4], ["a", "b"]):
        leads = make_leads({"id": ids[0]}, {"id": ids[1]})
        acts = make_activities((ids[1], "call", 0, "", ""), (ids[1], "call", 0, "", ""))
        if isinstance(ids[0], int):
            acts = pd.concat([acts, make_activities((999, "call", 0, "", ""))])
        scores = card.score(leads, acts, as_of=NOW)
        assert scores["interest_points"].tolist() == [0, 10], ids
