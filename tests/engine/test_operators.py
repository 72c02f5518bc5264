"""Each criterion operator, on text, numbers, bools and empty values."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from leadsieve.engine import InvalidScorecard

from .factories import NOW, make_leads, one_criterion


def fit_points(frame: pd.DataFrame, **criterion: object) -> list[float]:
    return one_criterion(**criterion).score(frame, as_of=NOW)["fit_points"].tolist()


def test_it_rejects_a_criterion_on_a_missing_column() -> None:
    with pytest.raises(InvalidScorecard, match=r"criterion 'c'.*'shoe_size'"):
        one_criterion(operator="is_set", column="shoe_size").score(make_leads(), as_of=NOW)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"operator": "teleport", "column": "country"}, "unknown operator"),
        ({"operator": "equal", "column": "country", "dimension": "mood"}, "unknown dimension"),
        ({"operator": "one_of", "column": "country", "value": "DE"}, "list of values"),
        ({"operator": "equal", "column": "country"}, "needs a value"),
        ({"operator": "range", "column": "budget"}, "min and/or max"),
        ({"operator": "range", "column": "budget", "min": 5, "max": 1}, "min greater"),
        ({"operator": "activity"}, "needs an 'activity'"),
        ({"operator": "equal", "value": "x"}, "column is required"),
        ({"operator": "is_set", "column": "country", "points": float("nan")}, "finite"),
    ],
)
def test_it_names_the_criterion_in_every_config_error(
    fields: dict[str, object], message: str
) -> None:
    with pytest.raises(InvalidScorecard, match=message):
        one_criterion(**fields).score(make_leads(), as_of=NOW)


def test_equal_ignores_case_and_surrounding_space() -> None:
    frame = make_leads({"country": " de "}, {"country": "FR"}, {"country": None})
    assert fit_points(frame, operator="equal", column="country", value="DE") == [10, 0, 0]


def test_equal_on_numbers_and_bools() -> None:
    frame = make_leads({"company__size": 50.0}, {"company__size": np.nan})
    assert fit_points(frame, operator="equal", column="company__size", value=50) == [10, 0]
    frame = make_leads({"do_not_contact": True}, {"do_not_contact": False})
    assert fit_points(frame, operator="equal", column="do_not_contact", value=True) == [10, 0]


def test_one_of_and_not_one_of_leave_empty_values_alone() -> None:
    frame = make_leads({"country": "DE"}, {"country": "US"}, {"country": ""}, {"country": None})
    assert fit_points(frame, operator="one_of", column="country", value=("de", "fr")) == [
        10,
        0,
        0,
        0,
    ]
    assert fit_points(frame, operator="not_one_of", column="country", value=("de",)) == [
        0,
        10,
        0,
        0,
    ]


def test_one_of_on_numbers() -> None:
    frame = make_leads({"budget": 5.0}, {"budget": 7.0}, {"budget": np.nan})
    assert fit_points(frame, operator="one_of", column="budget", value=(5, 6)) == [10, 0, 0]
    assert fit_points(frame, operator="not_one_of", column="budget", value=(5,)) == [0, 10, 0]


def test_range_is_inclusive_and_either_bound_is_optional() -> None:
    frame = make_leads(
        {"company__size": 10.0},
        {"company__size": 50.0},
        {"company__size": 51.0},
        {"company__size": np.nan},
    )
    assert fit_points(frame, operator="range", column="company__size", min=10, max=50) == [
        10,
        10,
        0,
        0,
    ]
    assert fit_points(frame, operator="range", column="company__size", min=50) == [0, 10, 10, 0]
    assert fit_points(frame, operator="range", column="company__size", max=10) == [10, 0, 0, 0]


def test_range_on_a_text_column_reads_numbers() -> None:
    frame = make_leads({"custom__plan": "12"}, {"custom__plan": "pro"})
    assert fit_points(frame, operator="range", column="custom__plan", min=10) == [10, 0]


def test_contains_is_case_insensitive_and_takes_several_needles() -> None:
    frame = make_leads(
        {"job_title": "Sales DIRECTOR"}, {"job_title": "VP Ops"}, {"job_title": "intern"}
    )
    assert fit_points(frame, operator="contains", column="job_title", value="director") == [
        10,
        0,
        0,
    ]
    assert fit_points(frame, operator="contains", column="job_title", value=("director", "vp")) == [
        10,
        10,
        0,
    ]


def test_is_empty_and_is_set_treat_blank_text_as_empty() -> None:
    frame = make_leads({"need": "crm"}, {"need": "  "}, {"need": None})
    assert fit_points(frame, operator="is_empty", column="need") == [0, 10, 10]
    assert fit_points(frame, operator="is_set", column="need") == [10, 0, 0]
    frame = make_leads({"budget": 1.0}, {"budget": np.nan})
    assert fit_points(frame, operator="is_empty", column="budget") == [0, 10]
    assert fit_points(frame, operator="is_set", column="budget") == [10, 0]


def test_free_mail_accepts_domains_and_whole_addresses() -> None:
    frame = make_leads(
        {"email_domain": "Gmail.com"},
        {"email_domain": "bob@outlook.com"},
        {"email_domain": "acme.example"},
        {"email_domain": None},
    )
    assert fit_points(frame, operator="free_mail", column="email_domain", points=-5) == [
        -5,
        -5,
        0,
        0,
    ]


def test_negative_points_lower_fit() -> None:
    frame = make_leads({"country": "DE"})
    assert fit_points(frame, operator="equal", column="country", value="DE", points=-7) == [-7]
