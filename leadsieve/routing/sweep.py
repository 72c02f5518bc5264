"""Routing's periodic part: place the open leads still without an owner.

Arrival routing places a lead when it is captured; this sweep is its retry, for the leads it
could not place then (nobody on duty, no matching rule) and for those whose owner left. It
goes through ``assign_leads`` like arrival routing, so the same rules decide.
"""

from __future__ import annotations

from datetime import datetime

from leadsieve.leads.models import Lead, Outcome, Status
from leadsieve.routing.services import AssignmentResult, assign_leads

# Unowned leads placed per sweep, best rating first; the rest wait for the next one.
PLACE_PER_SWEEP = 5000


def place_waiting_leads(*, now: datetime, limit: int = PLACE_PER_SWEEP) -> AssignmentResult:
    """Route up to ``limit`` open, unowned, live leads (best rating, then oldest, first)."""
    waiting = (
        Lead.objects.filter(owner__isnull=True, outcome=Outcome.OPEN, merged_into__isnull=True)
        .exclude(status=Status.DISQUALIFIED)
        .order_by("-rating", "created_at")
        .values_list("id", flat=True)[:limit]
    )
    return assign_leads(Lead.objects.filter(id__in=list(waiting)), now=now, via="tick")
