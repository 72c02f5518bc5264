"""Scorecard explanations: every point in plain words, caps and disqualifiers included."""

from __future__ import annotations

import numpy as np
import pandas as pd

from leadsieve.engine import (
    ActivityCondition,
    Cap,
    Criterion,
    InterestRule,
    Reason,
    Scorecard,
)

from .factories import NOW, make_activities, make_leads

CARD = Scorecard(
    criteria=(
        Criterion("director", "fit", "contains", 10, "job_title", value="director", group="p"),
        Criterion("big", "fit", "range", 25, "company__size", min=100, group="p"),
        Criterion(
            "pricing",
            "interest",
            "activity",
            5,
            activity=ActivityCondition("page_visit", within_days=14, url_contains="pricing"),
        ),
        Criterion(
            "dnc",
            "disqualify",
            "equal",
            column="do_not_contact",
            value=True,
            label="Asked not to be contacted",
        ),
    ),
    interest_rules=(InterestRule("call", 4, half_life_days=10, cap=6),),
    caps=(Cap("fit", group="p", max=30),),
)


def test_it_explains_every_criterion_in_plain_words() -> None:
    leads = make_leads({"job_title": "Sales Director", "company__size": 500.0})
    acts = make_activities((1, "page_visit", 2, "/pricing", ""), (1, "call", 10, "", ""))
    reasons = CARD.explain(leads, acts, as_of=NOW)[0]
    labels = [r.label for r in reasons]
    assert "Job title contains 'director' (+10)" in labels
    assert "Company size at least 100 (+25)" in labels
    assert "Fit group 'p' capped at 30 (-5)" in labels
    assert "Page visit on a page containing 'pricing' in the last 14 days (+5)" in labels
    assert "1 call, decaying by half every 10 days (+2)" in labels
    director = next(r for r in reasons if r.code == "director")
    assert director == Reason(
        "fit", "director", "Job title contains 'director' (+10)", 10.0, "Sales Director"
    )


def test_explained_points_add_up_to_the_scores() -> None:
    leads = make_leads({"job_title": "Director", "company__size": 500.0}, {"job_title": "dev"})
    acts = make_activities(*((1, "call", d, "", "") for d in (0, 0, 1)))
    scores = CARD.score(leads, acts, as_of=NOW)
    frame = CARD.explain_frame(leads, acts, as_of=NOW)
    for dim in ("fit", "interest"):
        sums = frame[frame["dimension"] == dim].groupby("lead_id")["points"].sum()
        expected = scores[f"{dim}_points"]
        np.testing.assert_allclose(sums.reindex(expected.index, fill_value=0), expected)
    assert any("(capped)" in label for label in frame["label"])


def test_disqualifiers_appear_with_their_label_and_no_points() -> None:
    leads = make_leads({"do_not_contact": True}, {})
    explained = CARD.explain(leads, as_of=NOW)
    assert explained[1] == [] or all(r.dimension != "disqualify" for r in explained[1])
    dq = [r for r in explained[0] if r.dimension == "disqualify"]
    assert dq == [Reason("disqualify", "dnc", "Disqualified: Asked not to be contacted", 0.0, True)]


def test_an_empty_scorecard_explains_nothing() -> None:
    assert Scorecard().explain(make_leads(), as_of=NOW) == [[]]
    assert list(Scorecard().explain_frame(make_leads(), as_of=NOW).columns) == [
        "lead_id",
        "dimension",
        "code",
        "label",
        "points",
        "value",
    ]


def test_labels_for_each_operator() -> None:
    from leadsieve.engine.criteria import describe

    cases = {
        Criterion(
            "a", "fit", "equal", column="decision_role", value="user"
        ): "Decision role is 'user'",
        Criterion(
            "b", "fit", "one_of", column="country", value=("DE", "FR")
        ): "Country is one of 'DE', 'FR'",
        Criterion(
            "c", "fit", "not_one_of", column="custom__plan", value=("free",)
        ): "Plan is not one of 'free'",
        Criterion("d", "fit", "range", column="budget", min=10, max=20): "Budget between 10 and 20",
        Criterion("e", "fit", "range", column="budget", max=20): "Budget at most 20",
        Criterion("f", "fit", "is_empty", column="need"): "Need is empty",
        Criterion("g", "fit", "is_set", column="company__size"): "Company size is set",
        Criterion(
            "h", "fit", "free_mail", column="email_domain"
        ): "Email domain is a free-mail provider",
        Criterion("i", "fit", "equal", column="consent", value=False): "Consent is no",
        Criterion(
            "j",
            "interest",
            "activity",
            activity=ActivityCondition("email_replied", within_days=30, min_count=3),
        ): "At least 3 email replies in the last 30 days",
        Criterion(
            "k",
            "interest",
            "activity",
            per_event=True,
            activity=ActivityCondition("meeting", subject_contains="demo"),
        ): "Each meeting about 'demo'",
        Criterion(
            "l", "fit", "is_set", column="need", label="Told us their need"
        ): "Told us their need",
    }
    for criterion, text in cases.items():
        assert describe(criterion) == text


def test_compact_parts_worded_back_equal_the_explanation() -> None:
    leads = make_leads(
        {"job_title": "Director", "company__size": 500.0},
        {"job_title": "dev", "do_not_contact": True},
        {},
    )
    acts = make_activities(
        (1, "call", 0, "", ""), (1, "call", 1, "", ""), (2, "page_visit", 3, "/pricing", "")
    )
    frame = CARD.explain_frame(leads, acts, as_of=NOW)
    compact = CARD.explain_parts(leads, acts, as_of=NOW)
    assert compact.ids.tolist() == leads["id"].tolist()
    items: dict[int, list[list[object]]] = {}
    for part in compact.parts:
        counts = part.counts.tolist() if part.counts is not None else [None] * len(part.rows)
        for row, points, count in zip(part.rows, part.points, counts, strict=True):
            item = [part.code, float(points)] + ([int(count)] if count is not None else [])
            items.setdefault(int(compact.ids[row]), []).append(item)
    for lead_id, group in frame.groupby("lead_id", sort=False):
        worded = CARD.describe_reasons(items[lead_id])
        assert [(r.dimension, r.code, r.label, r.points) for r in worded] == [
            (r.dimension, r.code, r.label, r.points) for r in group.itertuples()
        ]
    assert set(items) == set(frame["lead_id"])
    assert CARD.describe_reasons([["nobody", 1.0]]) == [Reason("", "nobody", "nobody", 1.0)]


def test_scoring_and_explaining_in_one_pass_equals_each_alone() -> None:
    leads = make_leads(
        {"job_title": "Director", "company__size": 500.0},
        {"job_title": "dev", "do_not_contact": True},
        {},
    )
    acts = make_activities((1, "call", 0, "", ""), (2, "page_visit", 3, "/pricing", ""))
    arrays, explained = CARD.score_and_explain(leads, acts, as_of=NOW)
    alone = CARD.score_arrays(leads, acts, as_of=NOW)
    pd.testing.assert_frame_equal(arrays.frame(), alone.frame())
    parts = CARD.explain_parts(leads, acts, as_of=NOW).parts
    assert [p.code for p in explained.parts] == [p.code for p in parts]
    for mine, theirs in zip(explained.parts, parts, strict=True):
        np.testing.assert_array_equal(mine.rows, theirs.rows)
        np.testing.assert_array_equal(mine.points, theirs.points)
