"""Scorecard scoring: activities as of a cut-off, decay, caps, grades, status, horizon, rating."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from leadsieve.engine import (
    SCORE_COLUMNS,
    ActivityCondition,
    Cap,
    Criterion,
    GradeBands,
    HorizonRule,
    InterestRule,
    InvalidInput,
    InvalidScorecard,
    RatingMap,
    Scorecard,
    StatusRule,
    default_scorecard,
)

from .factories import (
    NOW,
    make_activities,
    make_leads,
    one_criterion,
    varied_leads_and_events,
)

PRICING = ActivityCondition("page_visit", within_days=14, url_contains="pricing")


def test_it_rejects_leads_without_ids() -> None:
    with pytest.raises(InvalidInput, match="'id'"):
        Scorecard().score(make_leads().drop(columns="id"), as_of=NOW)


def test_it_rejects_duplicate_ids() -> None:
    with pytest.raises(InvalidInput, match="unique"):
        Scorecard().score(make_leads({"id": 1}, {"id": 1}), as_of=NOW)


def test_it_rejects_activities_without_their_columns() -> None:
    with pytest.raises(InvalidInput, match="occurred_at"):
        Scorecard().score(make_leads(), pd.DataFrame({"lead_id": [1], "kind": ["call"]}), as_of=NOW)


def test_it_rejects_a_missing_or_bad_as_of() -> None:
    with pytest.raises(InvalidInput, match="required"):
        Scorecard().score(make_leads(), as_of=None)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="not a time"):
        Scorecard().score(make_leads(), as_of="next tuesday")
    with pytest.raises(InvalidInput, match="no cut-off"):
        Scorecard().score(make_leads(), as_of=pd.Series({99: NOW}))


@pytest.mark.parametrize(
    ("card", "message"),
    [
        (Scorecard(interest_rules=(InterestRule("fax", 1, 7),)), "unknown activity kind"),
        (Scorecard(interest_rules=(InterestRule("call", 1, 0),)), "half-life"),
        (Scorecard(caps=(Cap("mood", max=1),)), "unknown dimension"),
        (Scorecard(caps=(Cap("fit", max=1, min=2),)), "min greater"),
        (Scorecard(thresholds=(StatusRule("won"),)), "'mql' or 'sql'"),
        (Scorecard(grade_bands=GradeBands(a=10, b=20, c=5)), "A ≥ B ≥ C"),
        (
            Scorecard(criteria=(Criterion("x", "fit", "is_set", column="country"),) * 2),
            "used twice",
        ),
        (one_criterion(operator="activity", activity=ActivityCondition("fax")), "kind 'fax'"),
        (
            one_criterion(operator="activity", activity=ActivityCondition("call", min_count=0)),
            "min_count",
        ),
    ],
)
def test_it_rejects_inconsistent_configuration(card: Scorecard, message: str) -> None:
    with pytest.raises(InvalidScorecard, match=message):
        card.score(make_leads(), as_of=NOW)


def test_it_returns_the_documented_columns_indexed_by_lead_id() -> None:
    scores = default_scorecard().score(make_leads({"id": 7}, {"id": 3}), as_of=NOW)
    assert tuple(scores.columns) == SCORE_COLUMNS
    assert scores.index.name == "id"
    assert scores.index.tolist() == [7, 3]
    assert set(scores["rating_source"]) == {"scorecard"}


def test_activity_criteria_ignore_events_after_the_cut_off() -> None:
    card = one_criterion(dimension="interest", operator="activity", activity=PRICING)
    acts = make_activities((1, "page_visit", -1, "/pricing", ""))  # tomorrow
    assert card.score(make_leads(), acts, as_of=NOW)["interest_points"].tolist() == [0]
    later = NOW + pd.Timedelta(days=2)
    assert card.score(make_leads(), acts, as_of=later)["interest_points"].tolist() == [10]


def test_activity_criteria_respect_window_and_text_filters() -> None:
    card = one_criterion(dimension="interest", operator="activity", activity=PRICING)
    acts = make_activities(
        (1, "page_visit", 3, "/Pricing/enterprise", ""),
        (2, "page_visit", 20, "/pricing", ""),
        (3, "page_visit", 1, "/blog", ""),
        (4, "email_clicked", 1, "/pricing", ""),
        (99, "page_visit", 1, "/pricing", ""),  # unknown lead: ignored
    )
    leads = make_leads(*({"id": i} for i in (1, 2, 3, 4)))
    assert card.score(leads, acts, as_of=NOW)["interest_points"].tolist() == [10, 0, 0, 0]


def test_subject_filter_and_minimum_count() -> None:
    cond = ActivityCondition("email_replied", subject_contains="re:", min_count=2)
    card = one_criterion(dimension="interest", operator="activity", activity=cond)
    acts = make_activities(
        (1, "email_replied", 1, "", "RE: pricing"),
        (1, "email_replied", 2, "", "Re: demo"),
        (2, "email_replied", 1, "", "Re: x"),
        (2, "email_replied", 1, "", "hello"),
    )
    leads = make_leads({"id": 1}, {"id": 2})
    assert card.score(leads, acts, as_of=NOW)["interest_points"].tolist() == [10, 0]


def test_per_event_points_multiply_by_the_count() -> None:
    card = one_criterion(
        dimension="interest",
        operator="activity",
        points=2,
        per_event=True,
        activity=ActivityCondition("call"),
    )
    acts = make_activities(*((1, "call", d, "", "") for d in (1, 2, 3)))
    assert card.score(make_leads(), acts, as_of=NOW)["interest_points"].tolist() == [6]


def test_a_per_lead_as_of_series_cuts_each_lead_at_its_own_time() -> None:
    card = one_criterion(
        dimension="interest", operator="activity", activity=ActivityCondition("call")
    )
    acts = make_activities((1, "call", 5, "", ""), (2, "call", 5, "", ""))
    as_of = pd.Series({1: NOW, 2: NOW - pd.Timedelta(days=6)})
    leads = make_leads({"id": 1}, {"id": 2})
    assert card.score(leads, acts, as_of=as_of)["interest_points"].tolist() == [10, 0]


def test_naive_times_are_taken_as_utc() -> None:
    card = one_criterion(
        dimension="interest", operator="activity", activity=ActivityCondition("call")
    )
    acts = make_activities((1, "call", 1, "", ""))
    acts["occurred_at"] = acts["occurred_at"].dt.tz_localize(None)
    naive_now = NOW.tz_localize(None)
    assert card.score(make_leads(), acts, as_of=naive_now)["interest_points"].tolist() == [10]


def test_interest_decays_by_half_every_half_life_and_is_capped_per_kind() -> None:
    card = Scorecard(interest_rules=(InterestRule("meeting", 8, half_life_days=10, cap=12),))
    acts = make_activities(
        (1, "meeting", 10, "", ""), (2, "meeting", 0, "", ""), (2, "meeting", 0, "", "")
    )
    leads = make_leads({"id": 1}, {"id": 2})
    assert card.score(leads, acts, as_of=NOW)["interest_points"].tolist() == pytest.approx(
        [4.0, 12.0]
    )


def test_group_and_dimension_caps_bound_sums_from_above_and_below() -> None:
    card = Scorecard(
        criteria=(
            Criterion("a", "fit", "is_set", 20, "country", group="g"),
            Criterion("b", "fit", "is_set", 20, "job_title", group="g"),
            Criterion("c", "fit", "is_set", -50, "need"),
        ),
        caps=(Cap("fit", group="g", max=30), Cap("fit", min=-10, max=100)),
    )
    leads = make_leads({}, {"need": None})
    assert card.score(leads, as_of=NOW)["fit_points"].tolist() == [-10, 30]


def test_fit_grade_follows_the_bands() -> None:
    card = Scorecard(
        criteria=(Criterion("size", "fit", "range", 1, "company__size", min=0, per_event=False),),
        grade_bands=GradeBands(a=3, b=2, c=1),
    )
    # points = 1 when size set; grade C at 1 point, D at 0
    leads = make_leads({"company__size": 5.0}, {"company__size": np.nan})
    assert card.score(leads, as_of=NOW)["fit_grade"].astype(str).tolist() == ["C", "D"]


def test_status_is_sql_over_mql_over_new_and_disqualification_wins() -> None:
    card = Scorecard(
        criteria=(
            Criterion("fit", "fit", "range", 30, "company__size", min=100),
            Criterion("ready", "readiness", "equal", 40, "timeline", value="now"),
            Criterion("dnc", "disqualify", "equal", column="do_not_contact", value=True),
            Criterion(
                "student",
                "disqualify",
                "contains",
                column="job_title",
                value="student",
                label="Job title says student",
            ),
        ),
        thresholds=(StatusRule("mql", min_fit=20), StatusRule("sql", min_fit=20, min_readiness=30)),
    )
    leads = make_leads(
        {"company__size": 500.0, "timeline": "now"},
        {"company__size": 500.0, "timeline": "later"},
        {"company__size": 5.0},
        {"job_title": "Student", "do_not_contact": True},
    )
    scores = card.score(leads, as_of=NOW)
    assert scores["status"].astype(str).tolist() == ["sql", "mql", "new", "disqualified"]
    reasons = scores["status_reason"].astype(str).tolist()
    assert reasons[0] == "SQL rule met: fit ≥ 20 and readiness ≥ 30"
    assert reasons[1] == "MQL rule met: fit ≥ 20"
    assert reasons[2] == "below the MQL rule (fit ≥ 20)"
    assert reasons[3] == "disqualified: Do not contact is yes"  # the first matching criterion
    assert scores["rating"].tolist()[3] == 1


def test_status_rule_on_total_points_and_without_rules() -> None:
    card = Scorecard(
        criteria=(Criterion("n", "interest", "is_set", 5, "need"),),
        thresholds=(StatusRule("mql", min_total=5, min_interest=5),),
    )
    leads = make_leads({}, {"need": None})
    assert card.score(leads, as_of=NOW)["status"].astype(str).tolist() == ["mql", "new"]
    bare = Scorecard().score(make_leads(), as_of=NOW)
    assert bare["status_reason"].tolist() == ["no MQL rule in this scorecard"]


def test_horizon_is_short_for_a_near_timeline_or_high_readiness() -> None:
    card = Scorecard(
        criteria=(Criterion("b", "readiness", "range", 40, "budget", min=1),),
        horizon=HorizonRule(min_readiness=30),
    )
    leads = make_leads(
        {"timeline": "quarter", "budget": np.nan},
        {"timeline": "year", "budget": 10.0},
        {"timeline": "year", "budget": np.nan},
    )
    scores = card.score(leads, as_of=NOW)
    assert scores["horizon"].astype(str).tolist() == ["short", "short", "long"]
    assert scores["horizon_reason"].astype(str).tolist() == [
        "plans to buy within 3 months",
        "ready to buy: readiness 30 or more",
        "not buying soon: no near timeline, readiness under 30",
    ]


def test_a_long_range_lead_whose_interest_jumps_becomes_short_range() -> None:
    card = Scorecard(horizon=HorizonRule(jump_events=3, jump_days=7))
    leads = make_leads({"id": 1, "timeline": "later"}, {"id": 2, "timeline": "later"})
    acts = make_activities(
        (1, "page_visit", 1, "/pricing", ""),
        (1, "form_submit", 2, "", ""),
        (1, "email_replied", 6, "", ""),
        (2, "page_visit", 1, "", ""),
        (2, "page_visit", 9, "", ""),
        (2, "email_sent", 1, "", ""),
    )
    scores = card.score(leads, acts, as_of=NOW)
    assert scores["horizon"].astype(str).tolist() == ["short", "long"]
    assert scores.loc[1, "horizon_reason"] == "interest jumped: 3 events in the last 7 days"


def test_horizon_without_a_timeline_column_uses_readiness_only() -> None:
    scores = Scorecard().score(make_leads().drop(columns="timeline"), as_of=NOW)
    assert scores["horizon"].astype(str).tolist() == ["long"]


def test_rating_is_a_monotone_logistic_of_points() -> None:
    rm = RatingMap(intercept=-2.0, fit=0.05, interest=0.0, readiness=0.0)
    card = Scorecard(
        criteria=(Criterion("s", "fit", "range", 40, "company__size", min=100),), rating_map=rm
    )
    scores = card.score(make_leads({"company__size": 500.0}, {"company__size": 5.0}), as_of=NOW)
    expected = 1 / (1 + np.exp(-np.array([-2.0 + 2.0, -2.0])))
    assert scores["probability"].tolist() == pytest.approx(expected.tolist())
    assert scores["rating"].tolist() == [50, 12]


def test_scorecard_config_round_trips_through_json() -> None:
    card = default_scorecard(competitor_domains=("rival.example",))
    data = json.loads(json.dumps(card.to_dict()))
    again = Scorecard.from_dict(data)
    assert again.to_dict() == card.to_dict()
    leads = make_leads({"email_domain": "rival.example"}, {})
    pd.testing.assert_frame_equal(again.score(leads, as_of=NOW), card.score(leads, as_of=NOW))


def test_the_default_scorecard_has_a_full_b2b_rule_set() -> None:
    card = default_scorecard()
    assert 20 <= len(card.criteria) <= 30
    dims = {c.dimension for c in card.criteria}
    assert dims == {"fit", "interest", "readiness", "disqualify"}
    scores = card.score(make_leads({"do_not_contact": True}, {}), as_of=NOW)
    assert scores["status"].astype(str).tolist()[0] == "disqualified"


def test_one_lead_scored_as_plain_arrays_equals_its_row_of_the_batch() -> None:
    card = default_scorecard(competitor_domains=("rival.example",))
    leads, events = varied_leads_and_events(300, seed=4)
    batch = card.score(leads, events, as_of=NOW)
    for position in range(len(leads)):
        sub = leads.iloc[[position]]
        row = sub.iloc[0]
        lead = {name: sub[name].to_numpy() for name in leads.columns}
        own = events[events["lead_id"] == row["id"]]
        activities = {name: own[name].to_numpy() for name in own.columns}
        activities["occurred_at"] = own["occurred_at"].dt.tz_convert(None).to_numpy()
        one = card.score_arrays(lead, activities, as_of=NOW)
        expected = batch.loc[row["id"]]
        assert one.fit_points[0] == pytest.approx(expected["fit_points"])
        assert one.interest_points[0] == pytest.approx(expected["interest_points"])
        assert one.readiness_points[0] == pytest.approx(expected["readiness_points"])
        for name in ("fit_grade", "status", "status_reason", "horizon", "horizon_reason"):
            assert getattr(one, name).texts()[0] == expected[name], name
        assert one.rating[0] == expected["rating"]


def test_score_arrays_builds_the_same_frame_as_score() -> None:
    card = default_scorecard(competitor_domains=("rival.example",))
    leads, events = varied_leads_and_events(50, seed=9)
    arrays = card.score_arrays(leads, events, as_of=NOW)
    pd.testing.assert_frame_equal(arrays.frame(), card.score(leads, events, as_of=NOW))
    assert arrays.status.texts(limit=3).tolist() == [s[:3] for s in arrays.status.texts().tolist()]


def test_mapping_input_rejects_duplicate_ids_and_missing_columns() -> None:
    card = one_criterion(operator="is_set", column="country")
    with pytest.raises(InvalidInput, match="unique"):
        card.score_arrays({"id": np.array([1, 1]), "country": np.array(["a", "b"])}, as_of=NOW)
    with pytest.raises(InvalidScorecard, match="country"):
        card.score_arrays({"id": np.array([1])}, as_of=NOW)


def test_large_batches_score_the_same_whatever_the_text_storage() -> None:
    card = default_scorecard(competitor_domains=("rival.example",))
    leads, events = varied_leads_and_events(400, seed=5)  # 2,400 events: the large-batch paths
    as_objects = events.astype({"kind": object, "url": object, "subject": object})
    as_arrow = events.astype({"kind": "string[pyarrow]", "url": "string[pyarrow]"})
    expected = card.score(leads, as_objects, as_of=NOW)
    pd.testing.assert_frame_equal(card.score(leads, as_arrow, as_of=NOW), expected)
    one_by_one = pd.concat(
        card.score(leads.iloc[[i]], events[events["lead_id"] == leads["id"].iloc[i]], as_of=NOW)
        for i in range(0, 400, 37)
    )
    pd.testing.assert_frame_equal(
        one_by_one[["fit_points", "interest_points", "rating"]],
        expected.loc[one_by_one.index, ["fit_points", "interest_points", "rating"]],
    )


def test_an_empty_batch_ignores_every_event() -> None:
    card = default_scorecard()
    leads, events = varied_leads_and_events(5, seed=1)
    scores = card.score(leads.iloc[:0], events, as_of=NOW)
    assert scores.empty and list(scores.columns) == list(SCORE_COLUMNS)


def test_cap_adjustments_are_explained_in_words() -> None:
    card = Scorecard(
        criteria=(
            Criterion("a", "fit", "is_set", 20, "country", group="g"),
            Criterion("b", "fit", "is_set", 20, "job_title", group="g"),
            Criterion("c", "fit", "is_set", -50, "need"),
        ),
        caps=(Cap("fit", group="g", max=30), Cap("fit", min=-10)),
    )
    frame = card.explain_frame(make_leads({}, {"need": None}), as_of=NOW)
    caps = frame[frame["code"].str.startswith("cap:")]
    assert caps["label"].tolist() == [
        "Fit group 'g' capped at 30 (-10)",
        "Fit total floored at -10 (+10)",
        "Fit group 'g' capped at 30 (-10)",
    ]
    assert caps["lead_id"].tolist() == [1, 1, 2]


def test_a_yes_no_criterion_matches_the_leads_whose_column_is_yes() -> None:
    card = one_criterion(operator="equal", column="consent", value=True)
    scores = card.score(make_leads({"consent": True}, {"consent": False}), as_of=NOW)
    assert scores["fit_points"].tolist() == [10.0, 0.0]


def test_a_custom_short_range_timeline_keeps_its_own_word() -> None:
    card = Scorecard(horizon=HorizonRule(short_timelines=("now", "asap")))
    scores = card.score(make_leads({"timeline": "asap"}, {"timeline": "now"}), as_of=NOW)
    assert scores["horizon_reason"].astype(str).tolist() == [
        "buying timeline: asap",
        "plans to buy this month",
    ]
