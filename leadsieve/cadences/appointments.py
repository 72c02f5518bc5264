"""Appointments after booking: reschedule, record the outcome, the calendar feed's token.

Booking one is ``stages.appointments.book_appointment`` (it also moves the stage); every
write is one service; the ``.ics`` text comes from ``cadences.ics``.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.db import transaction
from django.utils import timezone

from leadsieve.cadences.models import Appointment, AppointmentOutcome, CalendarToken
from leadsieve.cadences.services import CadenceError
from leadsieve.leads.models import LeadChange

MAX_DURATION_MINUTES = 24 * 60
MAX_ATTENDEES = 50


def check_booking(starts_at: datetime, duration_minutes: int, time_zone: str) -> None:
    if timezone.is_naive(starts_at):
        raise CadenceError("starts_at: give a time zone (an aware date and time)")
    if not 1 <= duration_minutes <= MAX_DURATION_MINUTES:
        raise CadenceError(f"duration_minutes: between 1 and {MAX_DURATION_MINUTES}")
    try:
        ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise CadenceError(f"time_zone: unknown zone {time_zone!r}") from None


def clean_attendees(attendees: list[dict[str, str]] | None) -> list[dict[str, str]]:
    cleaned = []
    for number, attendee in enumerate(attendees or [], start=1):
        email = str(attendee.get("email", "")).strip()
        if "@" not in email or any(c in email for c in '\r\n:;," <>'):
            raise CadenceError(f"attendees[{number}].email: {email!r} is not an email address")
        cleaned.append({"name": str(attendee.get("name", ""))[:120], "email": email[:254]})
    if len(cleaned) > MAX_ATTENDEES:
        raise CadenceError(f"attendees: at most {MAX_ATTENDEES}")
    return cleaned


@transaction.atomic
def reschedule_appointment(
    appointment: Appointment, *, user: Any, starts_at: datetime, now: datetime | None = None
) -> Appointment:
    """Move the meeting: the old one is marked rescheduled, a new one keeps the link."""
    now = now or timezone.now()
    check_booking(starts_at, appointment.duration_minutes, appointment.time_zone)
    Appointment.objects.filter(pk=appointment.pk).update(
        outcome=AppointmentOutcome.RESCHEDULED, sequence=appointment.sequence + 1, updated_at=now
    )
    moved = Appointment.objects.create(
        lead_id=appointment.lead_id,
        owner_id=appointment.owner_id,
        uid=f"{uuid.uuid4()}@leadsieve",
        title=appointment.title,
        starts_at=starts_at,
        duration_minutes=appointment.duration_minutes,
        time_zone=appointment.time_zone,
        location=appointment.location,
        url=appointment.url,
        attendees=appointment.attendees,
        notes=appointment.notes,
        rescheduled_from=appointment,
        created_at=now,
        updated_at=now,
    )
    LeadChange.objects.create(
        lead_id=appointment.lead_id,
        changed_at=now,
        user=user,
        via="web",
        action="appointment",
        changes={
            "appointment": [
                f"{appointment.starts_at:%Y-%m-%d %H:%M}",
                f"{starts_at:%Y-%m-%d %H:%M}",
            ]
        },
        note="rescheduled",
    )
    return moved


@transaction.atomic
def record_appointment_outcome(
    appointment: Appointment, *, user: Any, outcome: str, now: datetime | None = None
) -> Appointment:
    """Held, no-show or cancelled (use ``reschedule_appointment`` to move it)."""
    allowed = {AppointmentOutcome.HELD, AppointmentOutcome.NO_SHOW, AppointmentOutcome.CANCELLED}
    if outcome not in allowed:
        raise CadenceError(f"outcome: {outcome!r} must be one of {sorted(allowed)}")
    now = now or timezone.now()
    LeadChange.objects.create(
        lead_id=appointment.lead_id,
        changed_at=now,
        user=user,
        via="web",
        action="appointment",
        changes={"appointment_outcome": [appointment.outcome, outcome]},
    )
    Appointment.objects.filter(pk=appointment.pk).update(
        outcome=outcome, sequence=appointment.sequence + 1, updated_at=now
    )
    appointment.refresh_from_db()
    return appointment


@transaction.atomic
def issue_calendar_token(user: Any) -> CalendarToken:
    """A new secret feed URL for ``user``; the old URL stops working."""
    token, _ = CalendarToken.objects.update_or_create(
        user=user, defaults={"token": secrets.token_urlsafe(32), "created_at": timezone.now()}
    )
    return token
