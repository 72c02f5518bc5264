"""A lead's path on arrival, read top to bottom: capture → score → route → deadline.

1. ``capture_lead`` (leads) cleans, deduplicates and stores the lead, in the caller's
   transaction;
2. when that transaction commits, capture's touched hooks score it (scoring: fit, interest,
   readiness, status, rating);
3. then, for a new lead nobody owns, ``assign_lead`` (routing) places it by the team's rules
   and starts its first-response deadline, or queues it with the reason nobody could take it.

So a form or API lead has its owner, its deadline and its "why this rep" as soon as the
answer is sent, not at the next tick. Routing runs after scoring because rules may read the
rating and the horizon; it runs after the commit so a routing failure never loses the lead
(it is logged, and the tick places the lead a minute later).

Not yet through here (issue #17): imports and bulk API calls (routed by the tick) and the
manual entry page.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from django.db import transaction

from leadsieve.leads.capture import CaptureOutcome, capture_lead
from leadsieve.leads.models import Lead
from leadsieve.routing.services import assign_lead

logger = logging.getLogger(__name__)
ARRIVAL_VIA = "arrival"


def receive_lead(values: Mapping[str, Any], **capture_options: Any) -> CaptureOutcome:
    """Capture one lead (``capture_lead``'s arguments), then score and route it on commit."""
    outcome = capture_lead(values, **capture_options)
    lead = outcome.lead
    if outcome.created and lead.owner_id is None:
        # Registered after capture's own hook (scoring): callbacks run in order.
        transaction.on_commit(lambda: route_on_arrival(lead.pk))
    return outcome


def route_on_arrival(lead_id: int) -> None:
    """Place one newly arrived lead; a failure is logged and left to the tick."""
    lead = Lead.objects.filter(pk=lead_id, owner__isnull=True).first()
    if lead is None or not lead.is_open():
        return
    try:
        assign_lead(lead, via=ARRIVAL_VIA)
    except Exception:
        logger.exception("Routing lead %s on arrival failed; the next tick places it", lead_id)
