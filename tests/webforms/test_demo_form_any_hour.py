"""#17: a lead posted through the demo's public form, at any hour of the day, has on its lead
page right after the post either its owner, its response deadline and "why this rep", or the
routing queue and the reason nobody could take it (the demo's reps work 09:00–17:00 in their
team's zone, Monday to Friday: nobody is on duty at night).

The demo is loaded once, on a Tuesday of December; the clock then stops at each of the 24
hours and a visitor from the US posts the form.
"""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import pytest
import time_machine
from django.core.management import call_command
from django.test import Client
from django.utils.html import escape

# Tuesday 8 December 2026, 00:00 UTC. New York is UTC-5 then: the North America team works
# 14:00–22:00 UTC.
TUESDAY = dt.datetime(2026, 12, 8, tzinfo=dt.UTC)
NORTH_AMERICA_ON_DUTY = range(14, 22)


def _post(client: Client, hour: int, capture: Any) -> Any:
    from leadsieve.leads.models import Lead

    email = f"visitor{hour}@northwind.example"
    with capture(execute=True):
        response = client.post(
            "/f/contact/",
            {
                "first_name": "Visitor",
                "last_name": f"Hour {hour}",
                "email": email,
                "company_name": "Northwind Traders",
                "country": "US",
                "timeline": "quarter",
                "consent": "on",
            },
            REMOTE_ADDR=f"203.0.113.{hour + 1}",  # one visitor each: no rate limit
        )
    assert response.status_code == 303, response.content[:500]  # to the thank-you page
    return Lead.objects.get(email_key=email)


@pytest.mark.django_db
def test_a_demo_form_lead_shows_its_owner_or_its_queue_reason_at_every_hour(
    client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    from leadsieve.accounts.models import Role, User
    from leadsieve.routing.models import Assignment, LeadDeadline, QueuedLead

    owned, queued = [], []
    with time_machine.travel(TUESDAY, tick=False) as traveller:
        call_command("load_demo", leads=40, seed=7, stdout=io.StringIO())
        admin = User.objects.create_superuser(username="root", password="x", role=Role.ADMIN)
        reader = Client()
        reader.force_login(admin)
        for hour in range(24):
            traveller.move_to(TUESDAY + dt.timedelta(hours=hour, minutes=30))
            lead = _post(client, hour, django_capture_on_commit_callbacks)
            page = reader.get(f"/leads/{lead.pk}/").content.decode()
            if lead.owner_id is not None:
                assignment = Assignment.objects.get(lead=lead)
                deadline = LeadDeadline.objects.get(lead=lead)
                assert deadline.owner_id == lead.owner_id
                assert f"Why: {escape(assignment.reason)}" in page
                assert "first response due" in page and "No response deadline" not in page
                owned.append(hour)
            else:
                reason = QueuedLead.objects.get(lead=lead).reason
                assert reason and f"In the routing queue: {escape(reason)}" in page
                assert "outside working hours" in reason
                queued.append(hour)

    assert set(NORTH_AMERICA_ON_DUTY) <= set(owned)
    assert sorted(owned + queued) == list(range(24))
    assert queued, "the demo team is not on duty at night: the queue explains it"
