"""One way to close a lead: the board, the lead page (its close form and its stage form) and
the API leave the same lead, the same history and the same ended cadence behind."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from leadsieve.cadences.models import Cadence, Enrolment
from leadsieve.cadences.services import enrol_lead
from leadsieve.leads.models import LeadChange
from leadsieve.stages.models import StageChange
from leadsieve.stages.queries import get_stage
from tests.api.conftest import ApiClient

pytestmark = pytest.mark.django_db
REASON = "Chose a competitor"


def _signed_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _close_on_the_lead_page(lead: Any, user: Any) -> None:
    url = reverse("leads:close", args=[lead.pk])
    _signed_in(user).post(url, {"outcome": "lost", "reason": REASON})


def _move_on_the_lead_page(lead: Any, user: Any) -> None:
    url = reverse("leads:move_stage", args=[lead.pk])
    _signed_in(user).post(url, {"stage": get_stage("lost").pk, "reason": REASON})


def _drop_on_the_board(lead: Any, user: Any) -> None:
    url = reverse("stages:move_lead", args=[lead.pk])
    _signed_in(user).post(url, {"stage": get_stage("lost").pk, "reason": REASON})


def _close_through_the_api(lead: Any, user: Any) -> None:
    from leadsieve.api.services import create_api_token

    _, raw = create_api_token(user, name="tests")
    response = ApiClient(raw).post(f"/leads/{lead.pk}/close", {"outcome": "lost", "reason": REASON})
    assert response.status_code == 200, response.content
    assert response.json()["outcome"] == "lost"


def _state(lead: Any) -> dict[str, Any]:
    lead.refresh_from_db()
    enrolment = Enrolment.objects.get(lead=lead)
    return {
        "lead": (lead.outcome, lead.outcome_reason, lead.stage_id, lead.closed_at is not None),
        "moves": list(
            StageChange.objects.filter(lead=lead).values_list("to_stage_id", "user_id", "reason")
        ),
        "changes": sorted(
            LeadChange.objects.filter(lead=lead).values_list("action", "note", "user_id")
        ),
        "cadence": (enrolment.status, enrolment.exit_reason),
    }


@pytest.mark.parametrize(
    "close",
    [_close_on_the_lead_page, _move_on_the_lead_page, _drop_on_the_board, _close_through_the_api],
)
def test_every_path_closes_a_lead_the_same_way(
    close: Callable[[Any, Any], None], make_lead: Any, bob: Any, north: Any
) -> None:
    cadence = Cadence.objects.create(team=north, key="warm", name="Warm", horizon="short")
    reference = make_lead(team=north, owner=bob)
    enrol_lead(reference, cadence)
    _close_on_the_lead_page(reference, bob)
    expected = _state(reference)
    assert expected["lead"][0] == "lost" and expected["cadence"][0] == "exited"

    lead = make_lead(team=north, owner=bob)
    enrol_lead(lead, cadence)
    close(lead, bob)
    assert _state(lead) == expected


def test_the_api_refuses_a_blank_reason_and_a_second_close(
    make_lead: Any, bob: Any, north: Any
) -> None:
    from leadsieve.api.services import create_api_token

    lead = make_lead(team=north, owner=bob)
    api = ApiClient(create_api_token(bob, name="tests")[1])
    url = f"/leads/{lead.pk}/close"

    blank = api.post(url, {"outcome": "won", "reason": "  "})
    assert blank.status_code == 422
    assert blank.json()["errors"][0]["field"] == "reason"
    assert api.post(url, {"outcome": "won", "reason": "Signed"}).status_code == 200
    again = api.post(url, {"outcome": "won", "reason": "Signed again"})
    assert again.status_code == 422
    assert again.json()["errors"] == [{"field": "outcome", "message": "the lead is already won"}]
    assert StageChange.objects.filter(lead=lead).count() == 1
