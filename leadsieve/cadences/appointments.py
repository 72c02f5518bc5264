"""Booking appointments: the meeting exits the prospecting cadence and moves the stage.

Every write is one service here; the ``.ics`` text comes from ``cadences.ics``.
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
from leadsieve.cadences.services import CadenceError, exit_cadence
from leadsieve.leads.models import Lead, LeadChange
from leadsieve.stages.models import Stage
from leadsieve.stages.services import advance_stage

APPOINTMENT_STAGE = "appointment"
MAX_DURATION_MINUTES = 24 * 60
MAX_ATTENDEES = 50


def _check(starts_at: datetime, duration_minutes: int, time_zone: str) -> None:
    if timezone.is_naive(starts_at):
        raise CadenceError("starts_at: give a time zone (an aware date and time)")
    if not 1 <= duration_minutes <= MAX_DURATION_MINUTES:
        raise CadenceError(f"duration_minutes: between 1 and {MAX_DURATION_MINUTES}")
    try:
        ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise CadenceError(f"time_zone: unknown zone {time_zone!r}") from None


def _clean_attendees(attendees: list[dict[str, str]] | None) -> list[dict[str, str]]:
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
def book_appointment(
    lead: Lead,
    *,
    user: Any,
    starts_at: datetime,
    duration_minutes: int = 30,
    time_zone: str = "UTC",
    title: str = "",
    location: str = "",
    url: str = "",
    attendees: list[dict[str, str]] | None = None,
    notes: str = "",
    now: datetime | None = None,
) -> Appointment:
    """Book a meeting for ``lead`` with ``user`` (the owner unless given).

    Exits the lead's cadence ("meeting booked") and moves the stage to "appointment".
    """
    now = now or timezone.now()
    _check(starts_at, duration_minutes, time_zone)
    if lead.do_not_contact:
        raise CadenceError(f"lead {lead.pk} is marked do-not-contact: no meeting can be booked")
    appointment = Appointment.objects.create(
        lead=lead,
        owner=user,
        uid=f"{uuid.uuid4()}@leadsieve",
        title=(title or f"Meeting with {lead.display_name()}")[:200],
        starts_at=starts_at,
        duration_minutes=duration_minutes,
        time_zone=time_zone,
        location=location[:300],
        url=url[:500],
        attendees=_clean_attendees(attendees),
        notes=notes,
        created_at=now,
        updated_at=now,
    )
    LeadChange.objects.create(
        lead=lead,
        changed_at=now,
        user=user,
        via="web",
        action="appointment",
        changes={"appointment": [None, f"{starts_at:%Y-%m-%d %H:%M} UTC"]},
    )
    exit_cadence(lead, reason="meeting booked", now=now)
    stage = Stage.objects.filter(slug=APPOINTMENT_STAGE).first()
    if stage is not None:
        advance_stage(lead, stage, user=user, reason="appointment booked", now=now)
    return appointment


@transaction.atomic
def reschedule_appointment(
    appointment: Appointment, *, user: Any, starts_at: datetime, now: datetime | None = None
) -> Appointment:
    """Move the meeting: the old one is marked rescheduled, a new one keeps the link."""
    now = now or timezone.now()
    _check(starts_at, appointment.duration_minutes, appointment.time_zone)
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
