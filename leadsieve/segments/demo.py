"""Demo segments: per team, a shared filter the manager keeps and a rep's hand-picked list."""

from __future__ import annotations

import random

from django.db import transaction

from leadsieve.accounts.models import Role, User
from leadsieve.leads.models import Lead, Outcome
from leadsieve.segments.models import Segment
from leadsieve.segments.services import add_leads_to_segment, save_segment

LIST_SIZE = 6


@transaction.atomic
def seed_demo(rng: random.Random) -> None:
    """Two segments per team: "Ready to decide" (shared filter) and "Webinar follow-up" (a
    rep's list of open leads); idempotent."""
    if Segment.objects.exists():
        return
    for manager in User.objects.filter(role=Role.MANAGER, team__isnull=False).order_by("id"):
        save_segment(manager, "Ready to decide", query="status=sql&horizon=short", is_shared=True)
        rep = User.objects.filter(role=Role.REP, team=manager.team).order_by("id").first()
        if rep is None:
            continue
        webinar = save_segment(rep, "Webinar follow-up", is_list=True)
        open_leads = list(
            Lead.objects.filter(owner=rep, outcome=Outcome.OPEN, merged_into__isnull=True)[:50]
        )
        chosen = rng.sample(open_leads, min(LIST_SIZE, len(open_leads)))
        add_leads_to_segment(webinar, chosen, user=rep)
