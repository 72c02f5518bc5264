"""The lead list's default order: open, workable leads first (best rated, unrated last), then
the closed ones (won, lost, disqualified), across keyset pages and for every role."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from leadsieve.leads.queries import DEFAULT_SORT, decode_cursor
from leadsieve.segments.filters import LeadFilters
from leadsieve.workspace.queries import list_leads_for_user


def _mixed(make_lead: Callable[..., Any], **where: Any) -> dict[str, Any]:
    return {
        "open_high": make_lead(rating=90, **where),
        "disqualified": make_lead(rating=67, status="disqualified", **where),
        "won": make_lead(rating=95, outcome="won", **where),
        "open_mid": make_lead(rating=40, **where),
        "lost": make_lead(rating=None, outcome="lost", **where),
        "open_unrated": make_lead(rating=None, **where),
        "open_low": make_lead(rating=12, **where),
    }


EXPECTED = ["open_high", "open_mid", "open_low", "open_unrated", "won", "disqualified", "lost"]


@pytest.mark.parametrize("who", ["alice", "bob", "admin_user"])
def test_the_default_order_lists_workable_leads_before_closed_ones(
    who: str, request: pytest.FixtureRequest, make_lead: Callable[..., Any]
) -> None:
    user = request.getfixturevalue(who)
    owner = user if who == "bob" else None
    leads = _mixed(make_lead, team=user.team, owner=owner)
    names = {lead.pk: name for name, lead in leads.items()}

    page = list_leads_for_user(user, LeadFilters())

    assert DEFAULT_SORT == "open"
    assert [names[lead.pk] for lead in page.leads if lead.pk in names] == EXPECTED


@pytest.mark.parametrize("size", [1, 2, 3, 4, 5])
def test_keyset_pages_cross_from_open_to_closed_leads_without_loss_or_repeat(
    size: int, alice: Any, north: Any, make_lead: Callable[..., Any]
) -> None:
    leads = _mixed(make_lead, team=north)
    names = {lead.pk: name for name, lead in leads.items()}
    seen: list[str] = []
    after = None
    for _ in range(20):
        page = list_leads_for_user(alice, LeadFilters(), after=after, limit=size)
        seen += [names[lead.pk] for lead in page.leads]
        if page.next_cursor is None:
            break
        after = decode_cursor(DEFAULT_SORT, page.next_cursor)

    assert seen == EXPECTED


def test_the_list_page_shows_the_disqualified_lead_after_the_open_ones(
    client_for: Callable[[Any], Client], alice: Any, north: Any, make_lead: Callable[..., Any]
) -> None:
    leads = _mixed(make_lead, team=north)

    response = client_for(alice).get("/leads/")

    html = response.content.decode()
    positions = [html.index(f'href="/leads/{leads[name].pk}/"') for name in EXPECTED]
    assert positions == sorted(positions)
    assert "Open leads first, best rated" in html
