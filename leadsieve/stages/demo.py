"""Demo meetings for ``leadsieve load-demo``: a few of the best sales-qualified open leads
get one (a meeting is booked with a lead sales has accepted, never with a "New" one).

Runs right after ``cadences.demo`` (the meeting ends the lead's cadence and moves its stage).
"""

from __future__ import annotations

import random
from datetime import timedelta

from django.utils import timezone

from leadsieve.cadences.appointments import issue_calendar_token
from leadsieve.leads.models import Lead, Outcome, Status
from leadsieve.stages.appointments import book_appointment

MEETING_PLACES = ("Video call", "Phone", "Their office")


N_MEETINGS = 8


def seed_demo(rng: random.Random) -> None:
    # Every slot's draws are taken even when fewer leads qualify, so the demos seeded after
    # this one see the same random sequence whatever the leads' statuses.
    slots = [
        (rng.choice([1, 2, 3, 5]), rng.choice([30, 45, 60]), rng.choice(MEETING_PLACES))
        for _ in range(N_MEETINGS)
    ]
    owned = list(
        Lead.objects.filter(
            owner__isnull=False,
            outcome=Outcome.OPEN,
            horizon="short",
            do_not_contact=False,
            status__in=[Status.SQL, Status.MQL],
        )
        .select_related("owner")
        .order_by("-status", "-rating")[:N_MEETINGS]
    )
    start = timezone.now().replace(minute=0, second=0, microsecond=0) + timedelta(days=1)
    for number, (lead, (hours, minutes, place)) in enumerate(zip(owned, slots, strict=False)):
        if lead.owner is None:
            continue
        book_appointment(
            lead,
            user=lead.owner,
            starts_at=start + timedelta(hours=hours + 24 * (number % 4)),
            duration_minutes=minutes,
            time_zone=lead.owner.team.timezone if lead.owner.team else "UTC",
            location=place,
            attendees=[{"name": lead.display_name(), "email": lead.email}] if lead.email else [],
        )
    for owner in {lead.owner for lead in owned}:
        issue_calendar_token(owner)
