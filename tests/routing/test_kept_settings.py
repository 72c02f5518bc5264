"""Routing settings kept per process (``routing.kept``) never outlive an edit.

Each test routes a lead as it arrives (which fills the process's kept rules, policies,
profiles and calendars), edits one setting the way any page or script may (a plain ORM
write, no signal), and checks that the very next arriving lead follows the edit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
import time_machine

from leadsieve.leads.models import Lead
from leadsieve.pipeline import receive_lead
from leadsieve.routing.kept import forget_routing_settings
from leadsieve.routing.models import (
    Absence,
    Assignment,
    AssignmentRule,
    DeadlinePolicy,
    LeadDeadline,
    QueuedLead,
    RepProfile,
)

from .conftest import MONDAY_MORNING

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _nothing_kept() -> Iterator[None]:
    forget_routing_settings()
    yield
    forget_routing_settings()


@pytest.fixture
def dana(make_rep: Callable[..., Any], north: Any) -> Any:
    return make_rep("dana", team=north)


def arrive(n: int) -> Lead:
    with time_machine.travel(MONDAY_MORNING + timedelta(minutes=n), tick=False):
        outcome = receive_lead(
            {"first_name": "Ada", "last_name": f"Lead{n}", "email": f"ada{n}@example.org"},
            channel="api",
            via="test",
        )
    return Lead.objects.get(pk=outcome.lead.pk)


def reason_of(lead: Lead) -> str:
    queued = QueuedLead.objects.filter(lead=lead).first()
    return queued.reason if queued else Assignment.objects.get(lead=lead).reason


def test_it_queues_the_next_lead_once_the_only_rule_is_switched_off(
    dana: Any, north_rule: Any
) -> None:
    assert arrive(1).owner == dana
    AssignmentRule.objects.filter(pk=north_rule.pk).update(is_active=False)
    lead = arrive(2)
    assert lead.owner is None and QueuedLead.objects.filter(lead=lead).exists()


def test_it_names_a_renamed_rule_and_team_in_the_next_reason(
    dana: Any, north_rule: Any, north: Any
) -> None:
    assert "Everything to North" in reason_of(arrive(1))
    AssignmentRule.objects.filter(pk=north_rule.pk).update(name="All leads")
    type(north).objects.filter(pk=north.pk).update(name="Nord")
    reason = reason_of(arrive(2))
    assert "All leads" in reason and "Nord" in reason


def test_it_sends_the_next_lead_to_the_team_a_rule_now_names(
    dana: Any, north_rule: Any, make_rep: Callable[..., Any], south: Any
) -> None:
    erin = make_rep("erin", team=south, work_start="00:00", work_end="23:59")  # awake now
    assert arrive(1).owner == dana
    AssignmentRule.objects.filter(pk=north_rule.pk).update(team=south)
    assert arrive(2).owner == erin


def test_it_skips_a_rep_who_stopped_taking_leads(
    dana: Any, north_rule: Any, make_rep: Callable[..., Any], north: Any
) -> None:
    make_rep("erin", team=north)
    arrive(1)
    RepProfile.objects.filter(user=dana).update(accepts_leads=False)
    assert {arrive(n).owner for n in range(2, 6)} == {
        RepProfile.objects.get(user__username="erin").user
    }


def test_it_follows_a_lowered_daily_capacity(dana: Any, north_rule: Any) -> None:
    assert arrive(1).owner == dana
    RepProfile.objects.filter(user=dana).update(max_new_per_day=1)
    lead = arrive(2)
    assert lead.owner is None and "capacity" in reason_of(lead)


def test_it_follows_an_absence_entered_for_today(dana: Any, north_rule: Any) -> None:
    assert arrive(1).owner == dana
    today = MONDAY_MORNING.date()
    Absence.objects.create(user=dana, starts_on=today, ends_on=today)
    lead = arrive(2)
    assert lead.owner is None and "out of office" in reason_of(lead)


def test_it_follows_changed_working_hours(dana: Any, north_rule: Any) -> None:
    assert arrive(1).owner == dana
    RepProfile.objects.filter(user=dana).update(work_days=[5, 6])  # weekends only
    lead = arrive(2)
    assert lead.owner is None and "not working today" in reason_of(lead)


def test_it_starts_the_next_deadline_from_a_changed_policy(
    dana: Any, north_rule: Any, north: Any
) -> None:
    for horizon in ("short", "long"):  # whichever the scorecard gives these leads
        DeadlinePolicy.objects.create(team=north, horizon=horizon, first_response_hours=1)
    first = arrive(1)
    due = LeadDeadline.objects.get(lead=first).first_response_due
    assert due - MONDAY_MORNING - timedelta(minutes=1) == timedelta(hours=1)
    DeadlinePolicy.objects.filter(team=north).update(first_response_hours=3)
    second = arrive(2)
    due = LeadDeadline.objects.get(lead=second).first_response_due
    assert due - MONDAY_MORNING - timedelta(minutes=2) == timedelta(hours=3)
