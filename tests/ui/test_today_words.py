"""Today's reasons in a rep's words: no scoring jargon, and no "newly scored" for leads that
were only scored for the first time long after they came in (a demo just loaded)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from django.test import Client
from django.utils import timezone


def test_a_near_timeline_reads_as_plain_words_on_today(
    client_for: Callable[[Any], Client], bob: Any, north: Any, make_lead: Callable[..., Any]
) -> None:
    from leadsieve.leads.models import Lead
    from leadsieve.scoring.rescoring import rescore_leads

    lead = make_lead(team=north, owner=bob, timeline="quarter")
    rescore_leads([lead.pk])
    lead.refresh_from_db()
    assert (lead.horizon, lead.horizon_reason) == ("short", "plans to buy within 3 months")
    Lead.objects.filter(pk=lead.pk).update(status="sql")

    (item,) = client_for(bob).get("/").context["work"].group("rest").items

    assert "plans to buy within 3 months" in item.reason
    assert "timeline is" not in item.reason and "'" not in item.reason


def test_a_first_score_is_news_only_for_a_lead_captured_lately(
    client_for: Callable[[Any], Client], bob: Any, north: Any, make_lead: Callable[..., Any]
) -> None:
    from leadsieve.leads.models import Lead
    from leadsieve.scoring.models import ScoreSnapshot

    now = timezone.now()
    ready = {"team": north, "owner": bob, "status": "sql", "horizon": "short"}
    old = make_lead(rating=80, **ready)  # loaded today, captured three months ago
    new = make_lead(rating=70, **ready)
    Lead.objects.filter(pk=old.pk).update(created_at=now - dt.timedelta(days=90))
    Lead.objects.filter(pk=new.pk).update(created_at=now - dt.timedelta(hours=2))
    for lead in (old, new):
        ScoreSnapshot.objects.create(
            lead=lead, at=now - dt.timedelta(minutes=5), rating=lead.rating
        )

    items = client_for(bob).get("/").context["work"].group("rest").items

    reasons = {item.lead.pk: item.reason for item in items}
    assert "scored" not in reasons[old.pk]
    assert "new lead, scored today" in reasons[new.pk]
