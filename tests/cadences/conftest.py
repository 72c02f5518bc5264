"""Cadence fixtures: North's two cadences and the rules that enrol leads in them."""

from __future__ import annotations

from typing import Any

import pytest

from tests.routing.conftest import MONDAY_MORNING, make_rep, north_rule  # noqa: F401

__all__ = ["MONDAY_MORNING"]


@pytest.fixture
def call_now(north: Any) -> Any:
    from leadsieve.cadences.models import EnrolmentRule
    from leadsieve.cadences.services import publish_cadence

    cadence = publish_cadence(
        team=north,
        key="call-now",
        name="Call now, book the appointment",
        horizon="short",
        steps=[
            {"channel": "call", "delay_days": 0, "instruction": "Call and book the meeting"},
            {"channel": "email", "delay_days": 1, "email_subject": "Following up, {first_name}"},
            {"channel": "call", "delay_days": 2, "instruction": "Second call"},
        ],
    )
    EnrolmentRule.objects.create(
        team=north, horizon="short", statuses=["mql", "sql"], cadence_key="call-now"
    )
    return cadence


@pytest.fixture
def nurture(north: Any) -> Any:
    from leadsieve.cadences.models import EnrolmentRule
    from leadsieve.cadences.services import publish_cadence

    cadence = publish_cadence(
        team=north,
        key="nurture",
        name="Nurture",
        horizon="long",
        exit_on=["reply", "meeting_booked", "disqualified", "do_not_contact"],
        steps=[
            {
                "channel": "email",
                "delay_days": 0,
                "send_automatically": True,
                "email_subject": "Hello {first_name}",
                "email_body": "A guide for {company}.",
            },
            {"channel": "email", "delay_days": 20, "send_automatically": True},
        ],
    )
    EnrolmentRule.objects.create(team=north, horizon="long", statuses=[], cadence_key="nurture")
    return cadence


@pytest.fixture
def dan(make_rep: Any, north: Any) -> Any:  # noqa: F811
    return make_rep("dan", team=north)


@pytest.fixture
def make_lead(make_lead: Any) -> Any:
    """Leads here agreed to be contacted unless a test says otherwise: outreach needs consent."""

    def make(**overrides: Any) -> Any:
        return make_lead(**{"consent": True, **overrides})

    return make
