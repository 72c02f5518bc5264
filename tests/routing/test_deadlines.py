from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
import time_machine
from django.core import mail

from leadsieve.leads.models import Activity, ActivityKind, LeadChange
from leadsieve.routing.breaches import check_deadlines
from leadsieve.routing.calendar import WorkCalendar, zone
from leadsieve.routing.models import (
    DeadlineBreach,
    DeadlinePolicy,
    DeadlineState,
    Holiday,
    LeadDeadline,
)
from leadsieve.routing.services import assign_lead
from tests.routing.conftest import MONDAY_MORNING

pytestmark = pytest.mark.django_db

PARIS = zone("Europe/Paris")


def test_working_hours_skip_the_night_and_the_weekend() -> None:
    calendar = WorkCalendar(tz=PARIS)
    friday_late = datetime(2026, 11, 27, 16, 30, tzinfo=PARIS)
    assert calendar.add_working_hours(friday_late, 2) == datetime(
        2026, 11, 30, 10, 30, tzinfo=PARIS
    )


def test_working_hours_skip_holidays() -> None:
    calendar = WorkCalendar(tz=PARIS, holidays=frozenset({date(2026, 11, 24)}))
    monday_late = datetime(2026, 11, 23, 16, 0, tzinfo=PARIS)
    assert calendar.add_working_hours(monday_late, 2) == datetime(2026, 11, 25, 10, 0, tzinfo=PARIS)


def test_working_days_keep_the_local_time() -> None:
    calendar = WorkCalendar(tz=PARIS)
    friday = datetime(2026, 11, 27, 11, 0, tzinfo=PARIS)
    assert calendar.add_working_days(friday, 1) == datetime(2026, 11, 30, 11, 0, tzinfo=PARIS)


def _assigned(make_lead: Any, make_rep: Any, north: Any, **lead: Any) -> Any:
    make_rep("dan", team=north)
    found = make_lead(**lead)
    assign_lead(found)
    return found


@time_machine.travel(MONDAY_MORNING, tick=False)
def test_assignment_starts_a_two_hour_first_response_deadline(
    make_lead: Any, make_rep: Any, north: Any, north_rule: Any
) -> None:
    lead = _assigned(make_lead, make_rep, north, horizon="short")
    deadline = LeadDeadline.objects.get(lead=lead)
    assert deadline.first_response_due == datetime(2026, 11, 23, 11, 0, tzinfo=UTC)
    assert deadline.state(MONDAY_MORNING) == DeadlineState.DUE
    assert deadline.state(datetime(2026, 11, 23, 10, 40, tzinfo=UTC)) == DeadlineState.AT_RISK
    assert deadline.state(datetime(2026, 11, 23, 11, 1, tzinfo=UTC)) == DeadlineState.BREACHED


@time_machine.travel(MONDAY_MORNING, tick=False)
def test_a_team_policy_sets_the_deadline_and_holidays_count(
    make_lead: Any, make_rep: Any, north: Any, north_rule: Any
) -> None:
    DeadlinePolicy.objects.create(team=north, horizon="long", first_response_hours=8)
    Holiday.objects.create(team=north, day=date(2026, 11, 24), name="Team day")
    lead = _assigned(make_lead, make_rep, north, horizon="long")
    deadline = LeadDeadline.objects.get(lead=lead)
    # 7 working hours left on Monday, Tuesday is a holiday, 1 more hour on Wednesday.
    assert deadline.first_response_due == datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


@time_machine.travel(MONDAY_MORNING, tick=False)
def test_a_call_before_the_deadline_meets_it(
    make_lead: Any, make_rep: Any, north: Any, north_rule: Any
) -> None:
    lead = _assigned(make_lead, make_rep, north, horizon="short")
    Activity.objects.create(
        lead=lead, kind=ActivityKind.CALL, occurred_at=datetime(2026, 11, 23, 10, tzinfo=UTC)
    )
    assert check_deadlines(now=datetime(2026, 11, 23, 12, tzinfo=UTC)) == []
    deadline = LeadDeadline.objects.get(lead=lead)
    assert deadline.state(datetime(2026, 11, 23, 12, tzinfo=UTC)) == DeadlineState.MET
    assert deadline.next_touch_due == datetime(2026, 11, 25, 10, 0, tzinfo=UTC)


@time_machine.travel(MONDAY_MORNING, tick=False)
def test_a_breach_notifies_the_owner_then_the_manager_once_each(
    make_lead: Any,
    make_rep: Any,
    north: Any,
    north_rule: Any,
    alice: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    lead = _assigned(make_lead, make_rep, north, horizon="short")
    lead.refresh_from_db()
    late = datetime(2026, 11, 23, 11, 30, tzinfo=UTC)
    with django_capture_on_commit_callbacks(execute=True):
        first = check_deadlines(now=late)
    assert [b.level for b in first] == [1]
    assert mail.outbox[-1].to == ["dan@example.test"]
    assert check_deadlines(now=late) == []
    later = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)
    with django_capture_on_commit_callbacks(execute=True):
        second = check_deadlines(now=later)
    assert [b.level for b in second] == [2]
    assert mail.outbox[-1].to == ["alice@example.test"]
    assert check_deadlines(now=later) == []
    assert DeadlineBreach.objects.filter(lead=lead).count() == 2
    assert LeadChange.objects.filter(lead=lead, action="deadline_breach").count() == 2


@time_machine.travel(MONDAY_MORNING, tick=False)
def test_a_breach_can_reassign_the_lead(
    make_lead: Any, make_rep: Any, north: Any, north_rule: Any
) -> None:
    DeadlinePolicy.objects.create(
        team=north, horizon="short", reassign_on_breach=True, reassign_after_hours=1
    )
    make_rep("eve", team=north)
    lead = _assigned(make_lead, make_rep, north, horizon="short")
    lead.refresh_from_db()
    first_owner = lead.owner
    later = datetime(2026, 11, 23, 12, 30, tzinfo=UTC)
    with time_machine.travel(later, tick=False):
        levels = sorted(b.level for b in check_deadlines(now=later))
    assert levels == [1, 3]
    lead.refresh_from_db()
    assert lead.owner not in (None, first_owner)
    assert lead.assignments.count() == 2
    assert LeadDeadline.objects.get(lead=lead).owner == lead.owner


@time_machine.travel(MONDAY_MORNING, tick=False)
def test_a_reassignment_nobody_can_take_keeps_the_owner_and_stays_out_of_the_queue(
    make_lead: Any, make_rep: Any, north: Any, north_rule: Any
) -> None:
    from leadsieve.routing.models import QueuedLead
    from leadsieve.routing.services import reassign_lead

    lead = _assigned(make_lead, make_rep, north, horizon="short")
    lead.refresh_from_db()
    owner = lead.owner
    assert reassign_lead(lead, reason="deadline breach") is None
    lead.refresh_from_db()
    assert lead.owner == owner
    assert not QueuedLead.objects.filter(lead=lead).exists()
