"""Scoring a frame in one batch gives, bit for bit, what scoring it lead by lead gives.

One-lead calls take the small-batch paths (plain dict factorisation, a few events) and a big
batch the vectorised ones (pandas/Arrow hash tables): both must agree exactly.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leadsieve.engine import (
    ActivityCondition,
    Cap,
    Criterion,
    InterestRule,
    InvalidScorecard,
    Scorecard,
    StatusRule,
    default_scorecard,
)

from .factories import NOW, make_activities, make_leads, varied_leads_and_events

UNEVEN = Scorecard(  # fractional points, per-event counts, text ranges, groups and caps
    criteria=(
        Criterion("size", "fit", "range", 7.3, "company__size", min=100, group="firm"),
        Criterion("small", "fit", "range", -2.9, "company__size", max=10, group="firm"),
        Criterion("budget_text", "readiness", "range", 1.1, "timeline", min=1),
        Criterion("not_here", "fit", "not_one_of", 0.7, "country", value=("br", "in")),
        Criterion("title", "fit", "contains", 3.3, "job_title", value=("head", "vp")),
        Criterion("no_title", "fit", "is_empty", -1.7, "job_title", group="firm"),
        Criterion(
            "visits",
            "interest",
            "activity",
            0.9,
            activity=ActivityCondition("page_visit", within_days=30),
            per_event=True,
            group="web",
        ),
        Criterion(
            "pricing",
            "interest",
            "activity",
            2.6,
            activity=ActivityCondition("page_visit", url_contains="PRICING"),
            per_event=True,
            group="web",
        ),
    ),
    interest_rules=(
        InterestRule("page_visit", 1.3, half_life_days=6.5, cap=4.4),
        InterestRule("form_submit", 7.7, half_life_days=21),
        InterestRule("page_visit", 0.4, half_life_days=60),
    ),
    caps=(Cap("fit", group="firm", max=6.1), Cap("interest", group="web", max=5.5, min=0.2)),
    thresholds=(StatusRule("mql", min_fit=3.0), StatusRule("sql", min_total=9.5)),
)


def _one_by_one(card: Scorecard, leads: pd.DataFrame, events: pd.DataFrame) -> pd.DataFrame:
    return pd.concat(
        card.score(leads.iloc[[i]], events[events["lead_id"] == leads["id"].iloc[i]], as_of=NOW)
        for i in range(len(leads))
    )


def _assert_same_bits(batch: pd.DataFrame, one_by_one: pd.DataFrame) -> None:
    assert batch.index.equals(one_by_one.index)
    for column in batch.columns:
        expected, got = batch[column], one_by_one[column]
        if expected.dtype.kind == "f":
            assert np.array_equal(expected.to_numpy().view(np.int64), got.to_numpy().view(np.int64))
        else:
            assert expected.astype(object).tolist() == got.astype(object).tolist(), column


@pytest.mark.parametrize(
    "card",
    [default_scorecard(competitor_domains=("rival.example",)), UNEVEN],
    ids=["default", "uneven"],
)
def test_a_big_batch_scores_every_lead_as_scoring_it_alone_does(card: Scorecard) -> None:
    leads, events = varied_leads_and_events(1_200, seed=11)  # ≥ 1,000: the large-batch paths
    batch = card.score(leads, events, as_of=NOW)
    _assert_same_bits(batch, _one_by_one(card, leads, events))


@settings(max_examples=30, deadline=None)
@given(
    st.integers(min_value=1, max_value=12),
    st.integers(min_value=0, max_value=2**16),
    st.floats(min_value=-20, max_value=20, allow_nan=False),
)
def test_any_small_batch_scores_each_lead_as_scoring_it_alone_does(
    n: int, seed: int, points: float
) -> None:
    leads, events = varied_leads_and_events(n, seed=seed)
    card = Scorecard(
        criteria=(
            *UNEVEN.criteria,
            Criterion("any", "readiness", "is_set", points, "country", group="r"),
        ),
        interest_rules=UNEVEN.interest_rules,
        caps=(*UNEVEN.caps, Cap("readiness", group="r", max=abs(points) / 2)),
        thresholds=UNEVEN.thresholds,
    )
    _assert_same_bits(card.score(leads, events, as_of=NOW), _one_by_one(card, leads, events))


def test_a_changed_configuration_is_used_on_the_next_call() -> None:
    card = Scorecard(criteria=(Criterion("c", "fit", "is_set", 10, "country"),))
    leads = make_leads({"country": "DE"})
    assert card.score(leads, as_of=NOW)["fit_points"].iloc[0] == 10
    card.criteria = (Criterion("c", "fit", "is_set", 4, "country"),)
    assert card.score(leads, as_of=NOW)["fit_points"].iloc[0] == 4
    card.criteria = (Criterion("c", "fitness", "is_set", 4, "country"),)
    with pytest.raises(InvalidScorecard, match="unknown dimension"):
        card.score(leads, as_of=NOW)


def test_a_scorecard_used_once_still_checks_the_next_leads_columns() -> None:
    card = Scorecard(criteria=(Criterion("c", "fit", "is_set", 10, "country"),))
    card.score(make_leads(), make_activities((1, "page_visit", 1.0, "/", "")), as_of=NOW)
    with pytest.raises(InvalidScorecard, match="country"):
        card.score(pd.DataFrame({"id": [1]}), as_of=NOW)
