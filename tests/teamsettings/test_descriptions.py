"""The words the settings page and its history use for rules and changes."""

from __future__ import annotations

import datetime as dt

from leadsieve.accounts.teams import describe_changes
from leadsieve.routing.queries import describe_conditions


def test_it_describes_conditions_in_words() -> None:
    assert describe_conditions([]) == "every lead"
    assert (
        describe_conditions(
            [
                {"field": "country", "op": "in", "value": ["FR", "BE"]},
                {"field": "rating", "op": "gte", "value": 60},
                {"field": "email", "op": "not_empty"},
            ]
        )
        == "country is one of FR, BE and rating at least 60 and email is not empty"
    )


def test_it_describes_only_the_values_that_changed() -> None:
    before = {"max_open": 200, "weight": 1, "work_start": dt.time(9, 0)}
    after = {"max_open": 50, "weight": 1, "work_start": dt.time(8, 30)}
    assert describe_changes(before, after) == "max open: 200 → 50; work start: 09:00 → 08:30"
    assert describe_changes({}, {"name": "North"}) == "name: – → North"
    assert describe_changes(after, after) == "no change"
