from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import time_machine

from leadsieve.cadences.models import Task
from leadsieve.cadences.services import complete_task, enrol_due_leads, run_due_steps, skip_task
from leadsieve.insights.consistency import judge_override, rep_consistency, team_consistency
from leadsieve.leads.models import Activity, ActivityKind, LeadChange
from leadsieve.routing.breaches import check_deadlines
from leadsieve.routing.services import assign_lead
from tests.routing.conftest import MONDAY_MORNING

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("new_status", "outcome", "verdict"),
    [
        ("sql", "won", "right"),
        ("sql", "lost", "wrong"),
        ("disqualified", "lost", "right"),
        ("disqualified", "won", "wrong"),
        ("sql", "open", "pending"),
    ],
)
def test_it_judges_an_override_by_the_outcome(new_status: str, outcome: str, verdict: str) -> None:
    assert judge_override(new_status, outcome) == verdict


@time_machine.travel(MONDAY_MORNING, tick=False)
def test_it_reports_response_times_breaches_steps_and_overrides_per_rep(
    make_lead: Any, make_rep: Any, north: Any, north_rule: Any
) -> None:
    from leadsieve.cadences.models import EnrolmentRule
    from leadsieve.cadences.services import publish_cadence

    publish_cadence(
        team=north,
        key="call-now",
        name="Call",
        horizon="short",
        steps=[{"channel": "call"}, {"channel": "call", "delay_days": 1}],
    )
    EnrolmentRule.objects.create(team=north, horizon="short", cadence_key="call-now")
    dan = make_rep("dan", team=north)
    answered = make_lead(horizon="short", rating=90)
    ignored = make_lead(horizon="short", rating=10)
    assign_lead(answered)
    assign_lead(ignored)
    Activity.objects.create(
        lead=answered, kind=ActivityKind.CALL, occurred_at=MONDAY_MORNING + timedelta(hours=1)
    )
    enrol_due_leads()
    run_due_steps()
    first, second = Task.objects.order_by("id")
    complete_task(first, user=dan, now=MONDAY_MORNING + timedelta(days=3))
    skip_task(second, user=dan, reason="no answer")
    LeadChange.objects.create(
        lead=answered,
        user=dan,
        via="web",
        action="status_override",
        changes={"status": ["mql", "sql"]},
    )
    later = MONDAY_MORNING + timedelta(hours=3)
    check_deadlines(now=later)
    (row,) = rep_consistency(team=north, now=later)
    assert row["rep_id"] == dan.pk
    assert row["n_leads_with_deadline"] == 2 and row["n_responded"] == 1
    assert row["median_first_response_h"] == 1.0
    assert row["n_breaches"] == 1 and row["n_escalations"] == 0
    assert (row["steps_done"], row["steps_skipped"], row["steps_late"]) == (1, 1, 1)
    assert (row["n_overrides"], row["overrides_pending"]) == (1, 1)
    (team,) = [t for t in team_consistency(now=later) if t["team_id"] == north.pk]
    assert team["n_reps"] == 1 and team["n_breaches"] == 1
