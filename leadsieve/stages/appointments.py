"""Booking an appointment: the meeting exits the prospecting cadence and moves the stage.

Here and not in cadences/ because it moves the lead's stage, like ``outcomes.close_lead``:
stages sit above cadences (a stage move may end a cadence; a cadence never moves a stage).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from leadsieve.cadences.appointments import check_booking, clean_attendees
from leadsieve.cadences.models import Appointment
from leadsieve.cadences.services import CadenceError, exit_cadence
from leadsieve.leads.models import Lead, LeadChange
from leadsieve.stages.models import Stage
from leadsieve.stages.services import advance_stage

APPOINTMENT_STAGE = "appointment"


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
    check_booking(starts_at, duration_minutes, time_zone)
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
        attendees=clean_attendees(attendees),
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
