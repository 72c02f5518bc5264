"""Properties that must hold for any scorecard and any leads (hypothesis)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from leadsieve.engine import Cap, Criterion, InterestRule, Scorecard

from .factories import NOW, make_activities, make_leads

SIZES = st.lists(
    st.one_of(st.none(), st.floats(min_value=0, max_value=1e6, allow_nan=False)),
    min_size=1,
    max_size=8,
)
POINTS = st.floats(min_value=-50, max_value=50, allow_nan=False)


def leads_with_sizes(sizes: list[float | None]) -> pd.DataFrame:
    return make_leads(*({"company__size": np.nan if s is None else s} for s in sizes))


def criteria_strategy() -> st.SearchStrategy[tuple[Criterion, ...]]:
    one = st.builds(
        lambda low, span, points, group: Criterion(
            f"size_{low}_{span}_{points}_{group}",
            "fit",
            "range",
            points,
            "company__size",
            min=low,
            max=low + span,
            group=group,
        ),
        st.floats(min_value=0, max_value=1e5),
        st.floats(min_value=0, max_value=1e5),
        POINTS,
        st.sampled_from([None, "g"]),
    )
    return st.lists(one, max_size=6, unique_by=lambda c: c.name).map(tuple)


@settings(max_examples=40, deadline=None)
@given(SIZES, criteria_strategy(), st.floats(min_value=0, max_value=50), st.floats(0, 1e5))
def test_a_criterion_with_positive_points_never_lowers_fit(
    sizes: list[float | None], criteria: tuple[Criterion, ...], points: float, low: float
) -> None:
    leads = leads_with_sizes(sizes)
    caps = (Cap("fit", group="g", max=40), Cap("fit", max=60, min=-30))
    before = Scorecard(criteria=criteria, caps=caps).score(leads, as_of=NOW)["fit_points"]
    extra = Criterion("extra", "fit", "range", points, "company__size", min=low)
    after = Scorecard(criteria=(*criteria, extra), caps=caps).score(leads, as_of=NOW)
    assert (after["fit_points"].to_numpy() >= before.to_numpy() - 1e-9).all()


@settings(max_examples=40, deadline=None)
@given(SIZES, criteria_strategy(), st.floats(-20, 20), st.floats(20, 80))
def test_caps_always_hold(
    sizes: list[float | None], criteria: tuple[Criterion, ...], floor: float, ceiling: float
) -> None:
    leads = leads_with_sizes(sizes)
    card = Scorecard(criteria=criteria, caps=(Cap("fit", max=ceiling, min=floor),))
    fit = card.score(leads, as_of=NOW)["fit_points"].to_numpy()
    assert ((fit >= floor - 1e-9) & (fit <= ceiling + 1e-9)).all()


EVENTS = st.lists(
    st.tuples(
        st.sampled_from(["page_visit", "call", "meeting", "email_replied"]),
        st.floats(min_value=0, max_value=400),
    ),
    max_size=12,
)


@settings(max_examples=40, deadline=None)
@given(EVENTS, st.floats(min_value=0, max_value=100), st.floats(min_value=0.5, max_value=90))
def test_interest_never_rises_as_time_passes_without_events(
    events: list[tuple[str, float]], wait_days: float, half_life: float
) -> None:
    card = Scorecard(
        interest_rules=(
            InterestRule("page_visit", 1, half_life, cap=5),
            InterestRule("call", 5, half_life),
            InterestRule("meeting", 10, half_life * 2, cap=15),
            InterestRule("email_replied", 3, half_life),
        ),
        caps=(Cap("interest", max=25),),
    )
    acts = make_activities(*((1, kind, age, "", "") for kind, age in events))
    now = card.score(make_leads(), acts, as_of=NOW)["interest_points"].iloc[0]
    later_as_of = NOW + pd.Timedelta(days=wait_days)
    later = card.score(make_leads(), acts, as_of=later_as_of)["interest_points"].iloc[0]
    assert later <= now + 1e-9
