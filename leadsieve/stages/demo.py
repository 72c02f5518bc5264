"""Demo meetings for ``leadsieve load-demo``: a few of the best open leads get one.

Runs right after ``cadences.demo`` (the meeting ends the lead's cadence and moves its stage).
"""

from __future__ import annotations

import random
from datetime import timedelta

from django.utils import timezone

from leadsieve.cadences.appointments import issue_calendar_token
from leadsieve.leads.models import Lead, Outcome
from leadsieve.stages.appointments import book_appointment


def seed_demo(rng: random.Random) -> None:
    owned = list(
        Lead.objects.filter(
            owner__isnull=False, outcome=Outcome.OPEN, horizon="short", do_not_contact=False
        )
        .select_related("owner")
        .order_by("-rating")[:8]
    )
    start = timezone.now().replace(minute=0, second=0, microsecond=0) + timedelta(days=1)
    for number, lead in enumerate(owned):
        if lead.owner is None:
            continue
        book_appointment(
            lead,
            user=lead.owner,
            starts_at=start + timedelta(hours=rng.choice([1, 2, 3, 5]) + 24 * (number % 4)),
            duration_minutes=rng.choice([30, 45, 60]),
            time_zone=lead.owner.team.timezone if lead.owner.team else "UTC",
            location=rng.choice(["Video call", "Phone", "Their office"]),
            attendees=[{"name": lead.display_name(), "email": lead.email}] if lead.email else [],
        )
    for owner in {lead.owner for lead in owned}:
        issue_calendar_token(owner)
