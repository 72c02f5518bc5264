"""The lead page's right column: follow-up, next up, rating history, profile and company,
refreshed with the rest of the panel after an htmx action."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from django.test import Client
from django.utils import timezone

from leadsieve.workspace.queries import list_rating_history_for_lead

HTMX = {"HX-Request": "true", "HX-Target": "lead-panel"}


def test_the_rating_history_lists_each_change_once_newest_first(
    make_lead: Callable[..., Any],
) -> None:
    from leadsieve.scoring.models import ScoreSnapshot

    lead = make_lead(rating=70, status="sql")
    now = timezone.now()
    values = [(30, "new"), (30, "new"), (55, "mql"), (55, "mql"), (55, "mql"), (70, "sql")]
    for days_ago, (rating, status) in zip(range(6, 0, -1), values, strict=True):
        ScoreSnapshot.objects.create(
            lead=lead, at=now - dt.timedelta(days=days_ago), rating=rating, status=status
        )

    rows = list_rating_history_for_lead(lead)

    assert [(row.rating, row.status_label) for row in rows] == [
        (70, "Sales-qualified"),
        (55, "Marketing-qualified"),
        (30, "New"),
    ]
    # Each value is dated when it was first reached.
    assert rows[1].at.date() == (now - dt.timedelta(days=4)).date()


def test_the_right_column_carries_the_follow_up_and_refreshes_with_the_panel(
    client_for: Callable[[Any], Client], bob: Any, north: Any, make_lead: Callable[..., Any]
) -> None:
    from leadsieve.scoring.models import ScoreSnapshot

    lead = make_lead(team=north, owner=bob, rating=64, status="mql")
    ScoreSnapshot.objects.create(lead=lead, at=timezone.now(), rating=64, status="mql")
    client = client_for(bob)

    html = client.get(f"/leads/{lead.pk}/").content.decode()
    side = html[html.index('<aside class="lead-side">') :]
    for heading in ("Follow-up", "Next up", "Rating history", "Profile", "Company"):
        assert f">{heading}</h2>" in side, heading
    main = html[: html.index('<aside class="lead-side">')]
    assert ">Timeline</h2>" in main and ">Actions</h2>" in main

    fragment = client.post(
        f"/leads/{lead.pk}/tasks/",
        {"title": "Send the quote", "channel": "email", "due_at": "2030-01-01T09:00"},
        headers=HTMX,
    ).content.decode()
    side = fragment[fragment.index('<aside class="lead-side">') :]
    assert "Send the quote" in side
