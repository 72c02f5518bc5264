"""The lead page: profile, score card, timeline, and the htmx actions on it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from leadsieve.cadences.manual_tasks import add_task
from leadsieve.cadences.models import Appointment
from leadsieve.leads.models import Activity, Company, LeadChange, Status
from leadsieve.stages.models import Stage, StageChange

HTMX = {"HX-Request": "true", "HX-Target": "lead-panel"}
XSS_NAME = "<img src=x onerror=alert(1)>"
XSS_COMPANY = '"><script>alert(1)</script>'


@pytest.fixture
def lead(make_lead: Callable[..., Any], north: Any, bob: Any) -> Any:
    return make_lead(first_name="Nora", last_name="North", team=north, owner=bob)


# --- Failure paths first ---------------------------------------------------------------------


def test_it_refuses_to_disqualify_without_a_reason(
    client_for: Callable[[Any], Client], bob: Any, lead: Any
) -> None:
    response = client_for(bob).post(reverse("leads:disqualify", args=[lead.pk]), {"reason": " "})

    assert response.status_code == 400
    assert "say why this lead is disqualified" in response.content.decode()
    lead.refresh_from_db()
    assert lead.status == Status.NEW
    assert not LeadChange.objects.exists()


def test_it_refuses_a_status_change_without_a_reason_over_htmx_with_a_fragment(
    client_for: Callable[[Any], Client], bob: Any, lead: Any
) -> None:
    response = client_for(bob).post(
        reverse("leads:set_status", args=[lead.pk]), {"status": "sql"}, headers=HTMX
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html
    assert "say why you set the status by hand" in html
    lead.refresh_from_db()
    assert lead.status == Status.NEW


def test_it_refuses_an_unknown_status_or_activity_kind(
    client_for: Callable[[Any], Client], bob: Any, lead: Any
) -> None:
    client = client_for(bob)

    status = client.post(
        reverse("leads:set_status", args=[lead.pk]), {"status": "won", "reason": "x"}
    )
    activity = client.post(
        reverse("leads:log_activity", args=[lead.pk]), {"kind": "page_visit", "subject": "x"}
    )

    assert status.status_code == 400
    assert activity.status_code == 400
    assert not Activity.objects.exists()
    assert not LeadChange.objects.exists()


def test_it_refuses_an_activity_in_the_future_or_an_empty_note(
    client_for: Callable[[Any], Client], bob: Any, lead: Any
) -> None:
    client = client_for(bob)
    tomorrow = (timezone.localtime() + dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")

    future = client.post(
        reverse("leads:log_activity", args=[lead.pk]), {"kind": "call", "occurred_at": tomorrow}
    )
    empty_note = client.post(reverse("leads:log_activity", args=[lead.pk]), {"kind": "note"})

    assert "cannot be logged in the future" in future.content.decode()
    assert "a note needs some text" in empty_note.content.decode()
    assert not Activity.objects.exists()


def test_it_refuses_get_on_an_action(
    client_for: Callable[[Any], Client], bob: Any, lead: Any
) -> None:
    response = client_for(bob).get(reverse("leads:disqualify", args=[lead.pk]))

    assert response.status_code == 405


def test_it_escapes_a_hostile_name_and_company_on_the_lead_page(
    client_for: Callable[[Any], Client], alice: Any, north: Any, make_lead: Callable[..., Any]
) -> None:
    company = Company.objects.create(name=XSS_COMPANY, domain="evil.test")
    hostile = make_lead(
        first_name=XSS_NAME, last_name="", company_name=XSS_COMPANY, company=company, team=north
    )
    client = client_for(alice)
    client.post(
        reverse("leads:log_activity", args=[hostile.pk]), {"kind": "note", "subject": XSS_NAME}
    )

    html = client.get(reverse("leads:detail", args=[hostile.pk])).content.decode()

    assert XSS_NAME not in html
    assert XSS_COMPANY not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in html


# --- The page -------------------------------------------------------------------------------


def test_it_says_not_scored_yet_for_a_lead_without_a_score(
    client_for: Callable[[Any], Client], bob: Any, lead: Any
) -> None:
    html = client_for(bob).get(reverse("leads:detail", args=[lead.pk])).content.decode()

    assert "Not scored yet" in html
    assert "Nothing happened yet" in html


def test_it_shows_the_score_card_of_a_scored_lead(
    client_for: Callable[[Any], Client], alice: Any, north: Any, make_lead: Callable[..., Any]
) -> None:
    scored = make_lead(
        team=north,
        rating=83,
        rating_source="model",
        fit_grade="A",
        fit_points=42.0,
        interest_points=17.5,
        readiness_points=12.0,
        status="sql",
        status_reason="Fit A and asked for a demo",
        horizon="short",
        horizon_reason="Wants to start this month",
        scored_at=timezone.now(),
    )

    response = client_for(alice).get(reverse("leads:detail", args=[scored.pk]))

    html = response.content.decode()
    assert response.status_code == 200
    for text in (
        "83",
        "conversion model",
        "Sales-qualified",
        "Fit A and asked for a demo",
        "Wants to start this month",
        "Short-range",
        "17.5",
    ):
        assert text in html


def test_it_merges_activities_stage_moves_and_edits_newest_first_with_who(
    client_for: Callable[[Any], Client], bob: Any, lead: Any
) -> None:
    stage = Stage.objects.filter(is_active=True).first()
    client = client_for(bob)
    with time_machine.travel(dt.datetime(2026, 5, 1, 9, tzinfo=dt.UTC), tick=False):
        client.post(
            reverse("leads:log_activity", args=[lead.pk]), {"kind": "call", "subject": "Intro"}
        )
    with time_machine.travel(dt.datetime(2026, 5, 2, 9, tzinfo=dt.UTC), tick=False):
        client.post(reverse("leads:move_stage", args=[lead.pk]), {"stage": stage.pk})
    with time_machine.travel(dt.datetime(2026, 5, 3, 9, tzinfo=dt.UTC), tick=False):
        client.post(
            reverse("leads:set_status", args=[lead.pk]), {"status": "sql", "reason": "Budget ok"}
        )
        response = client.get(reverse("leads:detail", args=[lead.pk]))

    timeline = response.context["timeline"]
    assert [entry.kind for entry in timeline] == ["change", "stage", "activity"]
    assert all(entry.who == "Bob" for entry in timeline)
    assert "Budget ok" in timeline[0].detail
    assert StageChange.objects.filter(lead=lead).count() == 1


def test_a_timeline_entry_does_not_repeat_its_title_as_its_detail(
    client_for: Callable[[Any], Client], bob: Any, lead: Any
) -> None:
    Activity.objects.create(lead=lead, kind="email_opened", subject="Email Opened")
    Activity.objects.create(lead=lead, kind="email_opened", subject="Spring offer")
    timeline = client_for(bob).get(reverse("leads:detail", args=[lead.pk])).context["timeline"]
    details = sorted(entry.detail for entry in timeline if entry.kind == "activity")
    assert details == ["", "Spring offer"]


def test_it_shows_the_lead_page_in_a_fixed_number_of_queries(
    client_for: Callable[[Any], Client],
    bob: Any,
    lead: Any,
    django_assert_max_num_queries: Any,
) -> None:
    for n in range(60):
        Activity.objects.create(lead=lead, kind="call", subject=f"Call {n}", user=bob)
        LeadChange.objects.create(lead=lead, user=bob, via="web", action="edit", changes={})
    stages = list(Stage.objects.filter(is_active=True)[:2])
    for n in range(20):
        StageChange.objects.create(lead=lead, to_stage=stages[n % 2], user=bob)
    soon = timezone.now() + dt.timedelta(days=2)
    for n in range(5):
        add_task(lead, user=bob, title=f"Task {n}", due_at=soon)
        Appointment.objects.create(
            lead=lead, owner=bob, uid=f"a{n}@test", title=f"Meeting {n}", starts_at=soon
        )
    client = client_for(bob)

    # Session, user, lead, 3 timeline reads, follow-up (enrolment, deadline, assignment, tasks),
    # appointments, merges, duplicates count, the user's team, the stage choices.
    with django_assert_max_num_queries(17):
        response = client.get(reverse("leads:detail", args=[lead.pk]))

    assert response.status_code == 200
    assert len(response.context["timeline"]) == 100
    assert len(response.context["appointments"]) == 5
    assert "Meeting 4" in response.content.decode()
    assert "Task 4" in response.content.decode()


# --- Actions --------------------------------------------------------------------------------


def test_it_logs_a_call_over_htmx_and_returns_the_refreshed_panel(
    client_for: Callable[[Any], Client], bob: Any, lead: Any
) -> None:
    response = client_for(bob).post(
        reverse("leads:log_activity", args=[lead.pk]),
        {"kind": "call", "subject": "Discussed pricing"},
        headers=HTMX,
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html
    assert "Discussed pricing" in html
    assert "Call logged." in html
    activity = Activity.objects.get(lead=lead)
    assert activity.user == bob
    lead.refresh_from_db()
    assert lead.last_activity_at == activity.occurred_at


def test_it_logs_a_meeting_in_the_past_without_javascript(
    client_for: Callable[[Any], Client], bob: Any, lead: Any
) -> None:
    response = client_for(bob).post(
        reverse("leads:log_activity", args=[lead.pk]),
        {"kind": "meeting", "subject": "Demo", "occurred_at": "2026-01-05T10:30"},
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("leads:detail", args=[lead.pk])
    activity = Activity.objects.get(lead=lead)
    assert activity.kind == "meeting"
    assert timezone.localtime(activity.occurred_at).date() == dt.date(2026, 1, 5)


def test_it_disqualifies_with_the_reason_and_an_audit_row(
    client_for: Callable[[Any], Client], bob: Any, lead: Any
) -> None:
    response = client_for(bob).post(
        reverse("leads:disqualify", args=[lead.pk]), {"reason": "Student, no budget"}, headers=HTMX
    )

    assert "Lead disqualified." in response.content.decode()
    lead.refresh_from_db()
    assert lead.status == Status.DISQUALIFIED
    assert lead.status_reason == "Student, no budget"
    assert lead.status_is_manual
    change = LeadChange.objects.get(lead=lead)
    assert change.user == bob
    assert change.changes["status"] == ["new", "disqualified"]


def test_it_overrides_the_status_by_hand(
    client_for: Callable[[Any], Client], alice: Any, lead: Any
) -> None:
    client_for(alice).post(
        reverse("leads:set_status", args=[lead.pk]), {"status": "mql", "reason": "Downloaded guide"}
    )

    lead.refresh_from_db()
    assert lead.status == Status.MQL
    assert lead.status_is_manual
    assert LeadChange.objects.get(lead=lead).action == "status_override"


def test_it_moves_the_lead_to_another_stage(
    client_for: Callable[[Any], Client], bob: Any, lead: Any
) -> None:
    stage = Stage.objects.filter(is_active=True).order_by("position").last()

    client_for(bob).post(
        reverse("leads:move_stage", args=[lead.pk]), {"stage": stage.pk, "reason": "Signed"}
    )

    lead.refresh_from_db()
    assert lead.stage == stage
    assert StageChange.objects.get(lead=lead).reason == "Signed"


def test_an_unowned_lead_says_why_it_waits_on_its_page_and_in_the_list(
    client_for: Callable[[Any], Client], alice: Any, north: Any, make_lead: Callable[..., Any]
) -> None:
    from leadsieve.routing.models import QueuedLead

    waiting = make_lead(team=north, first_name="Wendy")
    QueuedLead.objects.create(lead=waiting, reason="No rep of North is working now", team=north)
    fresh = make_lead(team=north, first_name="Fred")
    client = client_for(alice)

    page = client.get(reverse("leads:detail", args=[waiting.pk])).content.decode()
    assert "In the routing queue: No rep of North is working now" in page
    other = client.get(reverse("leads:detail", args=[fresh.pk])).content.decode()
    assert "Not placed yet" in other
    listing = client.get(reverse("leads:list")).content.decode()
    assert listing.count("No rep of North is working now") == 2  # the cell and its title


def test_the_lead_page_says_why_a_qualified_lead_rates_low(
    client_for: Callable[[Any], Client], alice: Any, north: Any, make_lead: Callable[..., Any]
) -> None:
    low = make_lead(team=north, status="sql", rating=9, rating_source="model")
    agreeing = make_lead(team=north, status="sql", rating=80, rating_source="model")
    client = client_for(alice)

    page = client.get(reverse("leads:detail", args=[low.pk])).content.decode()
    assert "Meets the scorecard&#x27;s SQL rules, but leads like this one closed about 9 %" in page
    other = client.get(reverse("leads:detail", args=[agreeing.pk])).content.decode()
    assert 'id="rating-gap"' not in other


def test_the_timeline_names_the_owner_and_team_an_assignment_set(
    client_for: Callable[[Any], Client], alice: Any, bob: Any, north: Any, lead: Any
) -> None:
    LeadChange.objects.create(
        lead=lead,
        user=None,
        via="arrival",
        action="assign",
        changes={"owner": [None, bob.pk], "team": [None, north.pk]},
    )
    timeline = client_for(alice).get(reverse("leads:detail", args=[lead.pk])).context["timeline"]
    (entry,) = [entry for entry in timeline if entry.title == "Assign"]
    # PostgreSQL's jsonb keeps its own key order: the parts, in any order.
    assert set(entry.detail.split("; ")) == {"owner: – → Bob", f"team: – → {north.name}"}
