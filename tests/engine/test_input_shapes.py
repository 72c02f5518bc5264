"""The same leads score the same whatever shape they come in: frames or arrays, any dtype."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from leadsieve.engine import Criterion, InvalidScorecard, Scorecard, default_scorecard

from .factories import NOW, make_leads, one_criterion, varied_leads_and_events


def test_activity_times_given_as_text_score_like_datetimes() -> None:
    card = default_scorecard()
    leads, events = varied_leads_and_events(30, seed=2)
    as_text = events.assign(occurred_at=events["occurred_at"].dt.strftime("%Y-%m-%dT%H:%M:%S.%f%z"))
    pd.testing.assert_frame_equal(
        card.score(leads, as_text, as_of=NOW), card.score(leads, events, as_of=NOW)
    )


def test_many_events_as_plain_arrays_score_like_a_frame() -> None:
    card = default_scorecard(competitor_domains=("rival.example",))
    leads, events = varied_leads_and_events(400, seed=3)  # 2,400 events: the large-batch paths
    arrays = {name: events[name].to_numpy() for name in events.columns}
    arrays["occurred_at"] = events["occurred_at"].dt.tz_convert(None).to_numpy()
    lead_arrays = {name: leads[name].to_numpy() for name in leads.columns}
    pd.testing.assert_frame_equal(
        card.score_arrays(lead_arrays, arrays, as_of=NOW).frame(),
        card.score(leads, events, as_of=NOW),
    )


def test_a_nullable_number_column_matches_like_floats() -> None:
    card = one_criterion(operator="range", column="company__size", min=50, max=500)
    leads = make_leads({"company__size": 120.0}, {"company__size": None}, {"company__size": 9.0})
    nullable = leads.astype({"company__size": "Float64"})
    assert card.score(nullable, as_of=NOW)["fit_points"].tolist() == [10.0, 0.0, 0.0]


def test_a_whole_number_value_matches_its_text() -> None:
    card = one_criterion(operator="equal", column="custom__plan", value=3.0)
    leads = make_leads({"custom__plan": "3"}, {"custom__plan": "3.5"})
    assert card.score(leads, as_of=NOW)["fit_points"].tolist() == [10.0, 0.0]


def test_validate_names_a_missing_column_before_any_scoring() -> None:
    card = Scorecard(criteria=(Criterion("c", "fit", "is_set", 1, "country"),))
    card.validate(make_leads())
    with pytest.raises(InvalidScorecard, match="'country' is not in the leads frame"):
        card.validate(pd.DataFrame({"id": np.arange(3)}))
