"""The lead page shows the procedure: why this rep, the response deadline, the next step."""

from __future__ import annotations

from typing import Any

import time_machine
from django.test import Client
from django.urls import reverse

from leadsieve.cadences.services import enrol_due_leads
from leadsieve.routing.services import assign_lead
from tests.cadences.conftest import MONDAY_MORNING


@time_machine.travel(MONDAY_MORNING, tick=False)
def test_the_lead_page_says_why_this_rep_when_the_answer_is_due_and_the_next_step(
    make_lead: Any, dan: Any, north: Any, north_rule: Any, call_now: Any, alice: Any
) -> None:
    lead = make_lead(team=north, horizon="short", status="sql", rating=80)
    assignment = assign_lead(lead)
    assert assignment is not None
    enrol_due_leads()
    client = Client()
    client.force_login(alice)

    page = client.get(reverse("leads:detail", args=[lead.pk])).content.decode()

    assert f"Why: {assignment.reason}" in page
    assert "Everything to North" in page
    assert "first response due" in page
    assert "Next: step 1, Call" in page


@time_machine.travel(MONDAY_MORNING, tick=False)
def test_the_lead_page_says_when_there_is_no_procedure_yet(make_lead: Any, alice: Any) -> None:
    lead = make_lead(team=alice.team)
    client = Client()
    client.force_login(alice)

    page = client.get(reverse("leads:detail", args=[lead.pk])).content.decode()

    assert "No response deadline" in page and "Not in a cadence" in page
