from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
import time_machine

from leadsieve.cadences.appointments import (
    issue_calendar_token,
    record_appointment_outcome,
    reschedule_appointment,
)
from leadsieve.cadences.ics import fold, ics_for
from leadsieve.cadences.models import Enrolment
from leadsieve.cadences.services import CadenceError, enrol_due_leads
from leadsieve.stages.appointments import book_appointment
from tests.cadences.conftest import MONDAY_MORNING

pytestmark = pytest.mark.django_db

TUESDAY_TEN = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def test_it_rejects_a_naive_start_time(make_lead: Any, bob: Any) -> None:
    with pytest.raises(CadenceError, match="starts_at: give a time zone"):
        book_appointment(make_lead(), user=bob, starts_at=datetime(2026, 11, 24, 10))


def test_it_rejects_an_unknown_time_zone(make_lead: Any, bob: Any) -> None:
    with pytest.raises(CadenceError, match="time_zone: unknown zone 'Mars/Base'"):
        book_appointment(make_lead(), user=bob, starts_at=TUESDAY_TEN, time_zone="Mars/Base")


def test_it_refuses_to_book_a_do_not_contact_lead(make_lead: Any, bob: Any) -> None:
    with pytest.raises(CadenceError, match="do-not-contact"):
        book_appointment(make_lead(do_not_contact=True), user=bob, starts_at=TUESDAY_TEN)


def test_it_rejects_an_attendee_email_that_would_inject_ics_lines(make_lead: Any, bob: Any) -> None:
    with pytest.raises(CadenceError, match=r"attendees\[1\].email"):
        book_appointment(
            make_lead(),
            user=bob,
            starts_at=TUESDAY_TEN,
            attendees=[{"email": "x@y.test\r\nATTENDEE:mailto:evil@z.test"}],
        )


@time_machine.travel(MONDAY_MORNING, tick=False)
def test_booking_exits_the_cadence_and_moves_the_stage(
    make_lead: Any, dan: Any, call_now: Any
) -> None:
    lead = make_lead(owner=dan, team=dan.team, horizon="short", status="sql")
    enrol_due_leads()
    book_appointment(lead, user=dan, starts_at=TUESDAY_TEN, time_zone="Europe/Paris")
    enrolment = Enrolment.objects.get(lead=lead)
    assert enrolment.status == "exited" and enrolment.exit_reason == "meeting booked"
    lead.refresh_from_db()
    assert lead.stage.slug == "appointment"


def test_the_ics_file_escapes_text_and_uses_utc(make_lead: Any, bob: Any) -> None:
    appointment = book_appointment(
        make_lead(),
        user=bob,
        starts_at=TUESDAY_TEN,
        duration_minutes=45,
        time_zone="Europe/Paris",
        title="Demo; pricing, next steps",
        location="Room 1\nBuilding B",
        attendees=[{"name": "Lee", "email": "lee@acme.test"}],
    )
    text = ics_for(appointment)
    assert text.startswith("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n")
    assert text.endswith("END:VCALENDAR\r\n")
    assert "SUMMARY:Demo\\; pricing\\, next steps\r\n" in text
    assert "LOCATION:Room 1\\nBuilding B\r\n" in text
    assert "DTSTART:20261124T090000Z\r\nDTEND:20261124T094500Z\r\n" in text
    assert 'ATTENDEE;CN="Lee":mailto:lee@acme.test' in text
    assert all(len(line.encode()) <= 75 for line in text.split("\r\n"))


def test_long_lines_are_folded_without_splitting_characters() -> None:
    folded = fold("SUMMARY:" + "é" * 80)
    assert all(len(part.encode()) <= 75 for part in folded.split("\r\n"))
    assert folded.replace("\r\n ", "") == "SUMMARY:" + "é" * 80


def test_rescheduling_keeps_the_old_meeting_marked(make_lead: Any, bob: Any) -> None:
    old = book_appointment(make_lead(), user=bob, starts_at=TUESDAY_TEN)
    new = reschedule_appointment(old, user=bob, starts_at=datetime(2026, 11, 25, 9, tzinfo=UTC))
    old.refresh_from_db()
    assert old.outcome == "rescheduled" and new.rescheduled_from == old
    assert "STATUS:CANCELLED" in ics_for(old)


def test_an_outcome_must_be_held_no_show_or_cancelled(make_lead: Any, bob: Any) -> None:
    appointment = book_appointment(make_lead(), user=bob, starts_at=TUESDAY_TEN)
    with pytest.raises(CadenceError, match="outcome: 'maybe'"):
        record_appointment_outcome(appointment, user=bob, outcome="maybe")
    assert record_appointment_outcome(appointment, user=bob, outcome="held").outcome == "held"


@pytest.fixture
def feed_client(client: Any) -> Any:
    """The project's URLs mount ``leadsieve.cadences.urls`` at the root."""
    return client


def test_the_feed_refuses_a_malformed_or_unknown_token(feed_client: Any, bob: Any) -> None:
    assert feed_client.get("/calendar/short.ics").status_code == 404
    assert feed_client.get("/calendar/" + "x" * 43 + ".ics").status_code == 404


def test_the_feed_lists_the_reps_appointments_only(
    feed_client: Any, make_lead: Any, bob: Any, carol: Any
) -> None:
    book_appointment(make_lead(), user=bob, starts_at=TUESDAY_TEN, title="Bob's demo")
    book_appointment(make_lead(), user=carol, starts_at=TUESDAY_TEN, title="Carol's demo")
    token = issue_calendar_token(bob).token
    response = feed_client.get(f"/calendar/{token}.ics")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    body = response.content.decode()
    assert "Bob's demo" in body and "Carol's demo" not in body


def test_the_ics_download_is_refused_to_another_team(
    feed_client: Any, make_lead: Any, bob: Any, carol: Any
) -> None:
    appointment = book_appointment(make_lead(), user=bob, starts_at=TUESDAY_TEN)
    feed_client.force_login(carol)
    assert feed_client.get(f"/appointments/{appointment.pk}.ics").status_code == 404
    feed_client.force_login(bob)
    assert feed_client.get(f"/appointments/{appointment.pk}.ics").status_code == 200
