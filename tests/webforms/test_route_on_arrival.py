"""A form or API lead is routed as it arrives: owner, deadline and "why this rep" at once."""

from __future__ import annotations

from typing import Any

import pytest
import time_machine
from django.test import Client

from leadsieve.leads.models import Lead
from leadsieve.routing.models import Assignment, LeadDeadline, QueuedLead

# Monday 23 November 2026, 10:00 in Paris: the team is at work.
MONDAY_MORNING = "2026-11-23T09:00:00+00:00"


@pytest.fixture
def on_duty(make_user: Any, north: Any) -> Any:
    from leadsieve.routing.models import RepProfile
    from leadsieve.routing.services import save_rule

    rep = make_user("dana", role="rep", team=north)
    RepProfile.objects.create(user=rep)
    save_rule(name="Everything to North", team=north, conditions=[], strategy="round_robin")
    return rep


@time_machine.travel(MONDAY_MORNING, tick=False)
def test_a_form_lead_has_its_owner_deadline_and_reason_right_after_the_post(
    client: Client,
    web_form: Any,
    good_post: dict[str, str],
    on_duty: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/f/contact/", good_post)
    assert response.status_code < 400
    lead = Lead.objects.get(email_key="ada@example.org")
    assert lead.owner == on_duty and lead.rating is not None  # scored, then routed
    assignment = Assignment.objects.get(lead=lead)
    assert "Everything to North" in assignment.reason
    assert LeadDeadline.objects.get(lead=lead).owner == on_duty


@time_machine.travel(MONDAY_MORNING, tick=False)
def test_a_lead_nobody_can_take_waits_in_the_queue_with_its_reason(
    client: Client,
    web_form: Any,
    good_post: dict[str, str],
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/f/contact/", good_post)
    lead = Lead.objects.get(email_key="ada@example.org")
    assert lead.owner is None
    assert QueuedLead.objects.get(lead=lead).reason


@time_machine.travel(MONDAY_MORNING, tick=False)
def test_an_api_lead_is_routed_on_arrival_too(
    on_duty: Any, alice: Any, django_capture_on_commit_callbacks: Any
) -> None:
    from leadsieve.api.services import create_api_token
    from tests.api.conftest import ApiClient

    api = ApiClient(create_api_token(alice, name="t")[1])
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post("/leads", {"email": "bo@example.org", "first_name": "Bo"})
    assert response.status_code == 201
    assert Lead.objects.get(email_key="bo@example.org").owner == on_duty


@time_machine.travel(MONDAY_MORNING, tick=False)
def test_a_bulk_api_call_is_scored_and_routed_on_arrival_not_by_the_tick(
    on_duty: Any, alice: Any, django_capture_on_commit_callbacks: Any
) -> None:
    from leadsieve.api.services import create_api_token
    from tests.api.conftest import ApiClient

    api = ApiClient(create_api_token(alice, name="t")[1])
    leads = [{"email": f"bulk{n}@example.org", "first_name": f"Bulk{n}"} for n in range(3)]
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post("/leads/bulk", {"leads": leads})
    assert response.status_code < 400
    stored = Lead.objects.filter(email_key__startswith="bulk")
    assert stored.count() == 3
    assert all(lead.owner == on_duty and lead.rating is not None for lead in stored)
    assert LeadDeadline.objects.filter(lead__in=stored).count() == 3


@time_machine.travel(MONDAY_MORNING, tick=False)
def test_a_routing_failure_on_arrival_keeps_the_lead_for_the_tick(
    on_duty: Any, alice: Any, monkeypatch: Any
) -> None:
    from leadsieve import pipeline
    from leadsieve.ops.tick import run_tick

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("routing is down")

    monkeypatch.setattr(pipeline, "assign_arriving_lead", broken)
    outcome = pipeline.receive_lead({"email": "kept@example.org"}, channel="api", via="test")
    lead = Lead.objects.get(pk=outcome.lead.pk)
    assert lead.owner is None and lead.rating is not None  # saved and scored, not placed
    monkeypatch.undo()
    run_tick()
    assert Lead.objects.get(pk=lead.pk).owner == on_duty
