from __future__ import annotations

from typing import Any

import pytest
import time_machine
from django.test import Client

from leadsieve.cadences.models import Cadence, Enrolment
from leadsieve.cadences.services import enrol_due_leads, publish_new_version_of
from tests.cadences.conftest import MONDAY_MORNING


@time_machine.travel(MONDAY_MORNING, tick=False)
def test_a_new_version_copies_the_steps_and_enrolled_leads_keep_theirs(
    make_lead: Any, dan: Any, call_now: Any
) -> None:
    lead = make_lead(owner=dan, team=dan.team, horizon="short", status="sql")
    enrol_due_leads()
    copy = publish_new_version_of(call_now)

    call_now.refresh_from_db()
    assert copy.version == call_now.version + 1 and copy.is_current and not call_now.is_current
    assert list(copy.steps.values_list("position", "channel")) == list(
        call_now.steps.values_list("position", "channel")
    )
    assert Enrolment.objects.get(lead=lead).cadence == call_now


@time_machine.travel(MONDAY_MORNING, tick=False)
def test_the_admin_freezes_a_version_with_enrolments_and_publishes_a_new_one(
    make_lead: Any, dan: Any, call_now: Any, admin_user: Any
) -> None:
    make_lead(owner=dan, team=dan.team, horizon="short", status="sql")
    enrol_due_leads()
    client = Client()
    client.force_login(admin_user)

    page = client.get(f"/admin/cadences/cadence/{call_now.pk}/change/")
    assert page.status_code == 200 and b'name="_save"' not in page.content

    response = client.post(
        "/admin/cadences/cadence/",
        {"action": "new_version", "_selected_action": [call_now.pk]},
        follow=True,
    )
    assert response.status_code == 200
    current = Cadence.objects.get(team=call_now.team, key=call_now.key, is_current=True)
    assert current.version == call_now.version + 1
    editable = client.get(f"/admin/cadences/cadence/{current.pk}/change/")
    assert b'name="_save"' in editable.content


@pytest.mark.django_db
def test_a_version_nobody_is_enrolled_in_stays_editable(call_now: Any, admin_user: Any) -> None:
    client = Client()
    client.force_login(admin_user)
    page = client.get(f"/admin/cadences/cadence/{call_now.pk}/change/")
    assert b'name="_save"' in page.content
