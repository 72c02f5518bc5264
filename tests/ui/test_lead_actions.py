"""The lead page's actions: set an appointment (and its .ics), add and finish tasks, won/lost.

Every endpoint: anonymous -> sign-in, carol (South) -> 404 and nothing changes, bob (rep,
North) on his own lead and on the team's unassigned lead, alice (North's manager) on the team's.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from leadsieve.cadences.manual_tasks import add_task
from leadsieve.cadences.models import Appointment, Task, TaskStatus
from leadsieve.leads.models import Activity, LeadChange, Outcome
from leadsieve.stages.appointments import book_appointment
from leadsieve.stages.models import StageChange

HTMX = {"HX-Request": "true", "HX-Target": "lead-panel"}


def _in_days(days: int, hour: int = 10) -> dt.datetime:
    day = timezone.localdate() + dt.timedelta(days=days)
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour, 0)))


def _appointment_post(days: int = 3, **extra: str) -> dict[str, str]:
    when = _in_days(days)
    values = {
        "date": when.strftime("%Y-%m-%d"),
        "time": "10:00",
        "duration": "45",
        "attendees": "Ann Smith <ann@example.com>\nbuyer@example.com",
    }
    values.update(extra)
    return values


@pytest.fixture
def lead(make_lead: Callable[..., Any], north: Any, bob: Any) -> Any:
    return make_lead(first_name="Nora", last_name="North", team=north, owner=bob, consent=True)


@pytest.fixture
def unassigned(make_lead: Callable[..., Any], north: Any) -> Any:
    return make_lead(first_name="Una", last_name="Signed", team=north, owner=None)


# --- Access: every new endpoint ---------------------------------------------------------------


def _posts(lead: Any, task: Any) -> list[tuple[str, dict[str, str]]]:
    return [
        (reverse("leads:book_appointment", args=[lead.pk]), _appointment_post()),
        (
            reverse("leads:add_task", args=[lead.pk]),
            {"title": "Send the proposal", "channel": "task", "due_at": "2030-01-02T09:00"},
        ),
        (reverse("leads:finish_task", args=[lead.pk, task.pk]), {"action": "done"}),
        (reverse("leads:close", args=[lead.pk]), {"outcome": "won", "reason": "Signed"}),
    ]


def test_anonymous_visitors_are_sent_to_sign_in_and_nothing_changes(
    client: Client, lead: Any, bob: Any
) -> None:
    task = add_task(lead, user=bob, title="Call back", due_at=_in_days(1))
    for url, data in _posts(lead, task):
        response = client.post(url, data)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/accounts/login/"), url
    assert not Appointment.objects.exists()
    assert Task.objects.get().status == TaskStatus.OPEN
    lead.refresh_from_db()
    assert lead.outcome == Outcome.OPEN


def test_an_outsider_rep_gets_404_on_every_action_and_nothing_changes(
    client_for: Callable[[Any], Client], carol: Any, lead: Any, bob: Any
) -> None:
    task = add_task(lead, user=bob, title="Call back", due_at=_in_days(1))
    n_changes = LeadChange.objects.count()
    client = client_for(carol)
    for url, data in _posts(lead, task):
        assert client.post(url, data).status_code == 404, url
        assert client.post(url, data, headers=HTMX).status_code == 404, url
    assert not Appointment.objects.exists()
    assert Task.objects.count() == 1
    assert Task.objects.get().status == TaskStatus.OPEN
    assert LeadChange.objects.count() == n_changes
    lead.refresh_from_db()
    assert lead.outcome == Outcome.OPEN


def test_another_rep_of_the_team_gets_404_on_a_lead_he_does_not_own(
    client_for: Callable[[Any], Client], dave: Any, lead: Any, bob: Any
) -> None:
    task = add_task(lead, user=bob, title="Call back", due_at=_in_days(1))
    client = client_for(dave)
    for url, data in _posts(lead, task):
        assert client.post(url, data).status_code == 404, url


@pytest.mark.parametrize("who", ["bob", "alice", "admin_user"])
def test_the_owner_rep_the_manager_and_an_admin_may_act(
    request: pytest.FixtureRequest, client_for: Callable[[Any], Client], lead: Any, who: Any
) -> None:
    user = request.getfixturevalue(who)
    task = add_task(lead, user=user, title="Call back", due_at=_in_days(1))
    client = client_for(user)
    for url, data in _posts(lead, task):
        response = client.post(url, data)
        assert response.status_code == 302, (url, response.content.decode()[:2000])
    assert Appointment.objects.filter(lead=lead).count() == 1
    assert Task.objects.get(pk=task.pk).status == TaskStatus.DONE
    lead.refresh_from_db()
    assert lead.outcome == Outcome.WON


def test_a_rep_may_work_the_teams_unassigned_lead_and_gets_its_tasks(
    client_for: Callable[[Any], Client], bob: Any, unassigned: Any
) -> None:
    response = client_for(bob).post(
        reverse("leads:add_task", args=[unassigned.pk]),
        {"title": "Qualify", "channel": "call", "due_at": "2030-01-02T09:00"},
    )

    assert response.status_code == 302
    assert Task.objects.get(lead=unassigned).owner == bob


def test_a_task_of_another_lead_is_404_on_this_leads_url(
    client_for: Callable[[Any], Client], bob: Any, lead: Any, unassigned: Any
) -> None:
    task = add_task(unassigned, user=bob, title="Call back", due_at=_in_days(1))

    response = client_for(bob).post(
        reverse("leads:finish_task", args=[lead.pk, task.pk]), {"action": "done"}
    )

    assert response.status_code == 404
    assert Task.objects.get().status == TaskStatus.OPEN


# --- Appointments ------------------------------------------------------------------------------


def test_it_refuses_an_appointment_in_the_past_or_with_a_bad_attendee(
    client_for: Callable[[Any], Client], bob: Any, lead: Any
) -> None:
    client = client_for(bob)
    url = reverse("leads:book_appointment", args=[lead.pk])

    past = client.post(url, _appointment_post(days=-2))
    bad = client.post(url, _appointment_post(attendees="Ann <not-an-email>"))
    missing = client.post(url, {"duration": "30"})

    assert past.status_code == 400
    assert "the appointment would be in the past" in past.content.decode()
    assert "is not an email address" in bad.content.decode()
    assert "This field is required" in missing.content.decode()
    assert not Appointment.objects.exists()


def test_it_refuses_to_book_a_do_not_contact_lead_and_names_why_in_the_panel(
    client_for: Callable[[Any], Client], bob: Any, lead: Any
) -> None:
    lead.do_not_contact = True
    lead.save()

    response = client_for(bob).post(
        reverse("leads:book_appointment", args=[lead.pk]), _appointment_post(), headers=HTMX
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html
    assert "do-not-contact" in html
    assert not Appointment.objects.exists()


def test_it_sets_an_appointment_over_htmx_and_offers_its_ics(
    client_for: Callable[[Any], Client], bob: Any, lead: Any
) -> None:
    client = client_for(bob)

    response = client.post(
        reverse("leads:book_appointment", args=[lead.pk]),
        _appointment_post(title="Demo, pricing; next steps"),
        headers=HTMX,
    )

    html = response.content.decode()
    appointment = Appointment.objects.get(lead=lead)
    assert "Appointment set for" in html
    assert reverse("cadences:appointment_ics", args=[appointment.pk]) in html
    assert appointment.duration_minutes == 45
    assert appointment.owner == bob
    assert appointment.attendees == [
        {"name": "Ann Smith", "email": "ann@example.com"},
        {"name": "", "email": "buyer@example.com"},
    ]
    assert timezone.localtime(appointment.starts_at).hour == 10
    assert LeadChange.objects.filter(lead=lead, action="appointment").exists()
    lead.refresh_from_db()
    assert lead.stage is not None and lead.stage.slug == "appointment"

    ics = client.get(reverse("cadences:appointment_ics", args=[appointment.pk]))
    body = ics.content.decode()
    assert ics["Content-Disposition"].startswith("attachment;")
    assert body.startswith("BEGIN:VCALENDAR")
    assert "SUMMARY:Demo\\, pricing\\; next steps" in body
    assert 'ATTENDEE;CN="Ann Smith":mailto:ann@example.com' in body


def test_the_ics_follows_the_leads_scope_not_the_holders_team(
    client_for: Callable[[Any], Client],
    alice: Any,
    bob: Any,
    carol: Any,
    dave: Any,
    lead: Any,
    make_user: Callable[..., Any],
) -> None:
    appointment = book_appointment(lead, user=alice, starts_at=_in_days(2))
    url = reverse("cadences:appointment_ics", args=[appointment.pk])
    teamless_manager = make_user("tim", role="manager", team=None)

    assert client_for(bob).get(url).status_code == 200  # the lead is his
    assert client_for(alice).get(url).status_code == 200  # she holds it
    assert client_for(carol).get(url).status_code == 404
    assert client_for(dave).get(url).status_code == 404
    assert client_for(teamless_manager).get(url).status_code == 404
    assert Client().get(url).status_code == 302


def test_the_lead_page_lists_upcoming_appointments_only(
    client_for: Callable[[Any], Client], bob: Any, lead: Any
) -> None:
    book_appointment(lead, user=bob, starts_at=_in_days(4), title="Future demo")
    book_appointment(lead, user=bob, starts_at=_in_days(-10), title="Old demo")

    html = client_for(bob).get(reverse("leads:detail", args=[lead.pk])).content.decode()

    assert "Future demo" in html
    assert "Old demo" not in html


# --- Tasks -----------------------------------------------------------------------------------


def test_it_refuses_a_task_without_a_title_or_due_date(
    client_for: Callable[[Any], Client], bob: Any, lead: Any
) -> None:
    response = client_for(bob).post(reverse("leads:add_task", args=[lead.pk]), {"channel": "task"})

    html = response.content.decode()
    assert response.status_code == 400
    assert "say what needs doing" in html
    assert "say when it is due" in html
    assert not Task.objects.exists()


def test_it_adds_a_task_for_the_owner_with_an_audit_row(
    client_for: Callable[[Any], Client], alice: Any, bob: Any, lead: Any
) -> None:
    response = client_for(alice).post(
        reverse("leads:add_task", args=[lead.pk]),
        {"title": "Send the contract", "channel": "email", "due_at": "2030-03-01T16:30"},
        headers=HTMX,
    )

    task = Task.objects.get(lead=lead)
    assert "Task added." in response.content.decode()
    assert "Send the contract" in response.content.decode()
    assert (task.owner, task.channel, task.status) == (bob, "email", TaskStatus.OPEN)
    assert timezone.localtime(task.due_at).strftime("%Y-%m-%d %H:%M") == "2030-03-01 16:30"
    change = LeadChange.objects.get(lead=lead, action="task_added")
    assert change.user == alice


def test_it_completes_a_task_and_logs_the_touch(
    client_for: Callable[[Any], Client], bob: Any, lead: Any
) -> None:
    task = add_task(lead, user=bob, title="Call back", due_at=_in_days(0), channel="call")

    response = client_for(bob).post(
        reverse("leads:finish_task", args=[lead.pk, task.pk]),
        {"action": "done", "note": "Left a voicemail"},
        headers=HTMX,
    )

    assert "Task “Call back” done." in response.content.decode()
    task.refresh_from_db()
    assert task.status == TaskStatus.DONE and task.completed_by == bob
    assert Activity.objects.get(lead=lead).subject == "Left a voicemail"


def test_it_skips_a_task_only_with_a_reason(
    client_for: Callable[[Any], Client], bob: Any, lead: Any
) -> None:
    task = add_task(lead, user=bob, title="Call back", due_at=_in_days(0))
    client = client_for(bob)
    url = reverse("leads:finish_task", args=[lead.pk, task.pk])

    refused = client.post(url, {"action": "skip"})
    assert refused.status_code == 400
    assert "say why the task is skipped" in refused.content.decode()
    assert Task.objects.get().status == TaskStatus.OPEN

    client.post(url, {"action": "skip", "note": "Already met at the fair"})
    task.refresh_from_db()
    assert task.status == TaskStatus.SKIPPED
    assert task.skip_reason == "Already met at the fair"
    # A finished task is no longer open: finishing it again is a 404.
    assert client.post(url, {"action": "done"}).status_code == 404


def test_a_call_task_on_a_lead_without_consent_says_to_skip_it(
    client_for: Callable[[Any], Client], bob: Any, north: Any, make_lead: Callable[..., Any]
) -> None:
    silent = make_lead(team=north, owner=bob, consent=False)
    task = add_task(silent, user=bob, title="Cold call", due_at=_in_days(0), channel="call")

    response = client_for(bob).post(
        reverse("leads:finish_task", args=[silent.pk, task.pk]), {"action": "done"}
    )

    assert response.status_code == 400
    assert "skip this task instead" in response.content.decode()
    assert Task.objects.get().status == TaskStatus.OPEN


# --- Won / lost ---------------------------------------------------------------------------------


def test_it_refuses_to_close_without_a_reason_or_outcome(
    client_for: Callable[[Any], Client], bob: Any, lead: Any
) -> None:
    client = client_for(bob)
    url = reverse("leads:close", args=[lead.pk])

    no_reason = client.post(url, {"outcome": "lost", "reason": "  "})
    bad_outcome = client.post(url, {"outcome": "open", "reason": "x"})

    assert "say why the lead was won or lost" in no_reason.content.decode()
    assert bad_outcome.status_code == 400
    lead.refresh_from_db()
    assert lead.outcome == Outcome.OPEN
    assert not StageChange.objects.exists()


def test_it_marks_a_lead_lost_with_the_reason_in_its_history(
    client_for: Callable[[Any], Client], bob: Any, lead: Any
) -> None:
    response = client_for(bob).post(
        reverse("leads:close", args=[lead.pk]),
        {"outcome": "lost", "reason": "Chose a competitor"},
        headers=HTMX,
    )

    html = response.content.decode()
    assert "Lead marked lost." in html
    lead.refresh_from_db()
    assert (lead.outcome, lead.outcome_reason) == (Outcome.LOST, "Chose a competitor")
    assert lead.closed_at is not None
    assert lead.stage is not None and lead.stage.is_lost
    move = StageChange.objects.get(lead=lead)
    assert (move.user, move.reason) == (bob, "Chose a competitor")
    change = LeadChange.objects.get(lead=lead, action="stage")
    assert change.changes["outcome"] == ["open", "lost"]
    assert "Chose a competitor" in html  # the timeline shows it

    again = client_for(bob).post(
        reverse("leads:close", args=[lead.pk]), {"outcome": "lost", "reason": "twice"}
    )
    assert "already lost" in again.content.decode()
    assert StageChange.objects.filter(lead=lead).count() == 1


def test_the_stage_form_closes_a_lead_only_with_a_reason_like_mark_won_lost(
    client_for: Callable[[Any], Client], bob: Any, lead: Any
) -> None:
    from leadsieve.stages.models import Stage

    won = Stage.objects.filter(is_active=True, is_won=True).first()
    assert won is not None
    url = reverse("leads:move_stage", args=[lead.pk])

    refused = client_for(bob).post(url, {"stage": won.pk, "reason": ""})

    assert refused.status_code == 400
    assert f"Say why the lead is {won.name.lower()}." in refused.content.decode()
    lead.refresh_from_db()
    assert lead.outcome == Outcome.OPEN
    assert not StageChange.objects.exists()

    client_for(bob).post(url, {"stage": won.pk, "reason": "Signed the order"})

    lead.refresh_from_db()
    assert (lead.outcome, lead.outcome_reason) == (Outcome.WON, "Signed the order")
    assert StageChange.objects.get(lead=lead).reason == "Signed the order"
