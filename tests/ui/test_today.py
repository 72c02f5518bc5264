"""Today: the signed-in rep's short list of leads to work, each with why it is there."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.test import Client


def test_it_shows_an_empty_state_that_says_what_to_do(
    client_for: Callable[[Any], Client], bob: Any
) -> None:
    html = client_for(bob).get("/").content.decode()

    assert "Nothing urgent right now." in html
    assert "/leads/?owner=me" in html


def test_it_lists_the_reps_open_qualified_short_range_leads_best_first(
    client_for: Callable[[Any], Client],
    bob: Any,
    dave: Any,
    north: Any,
    make_lead: Callable[..., Any],
) -> None:
    ready = {"team": north, "owner": bob, "horizon": "short"}
    best = make_lead(status="sql", rating=91, horizon_reason="Budget approved", **ready)
    second = make_lead(status="mql", rating=55, **ready)
    make_lead(status="sql", rating=99, team=north, owner=bob, horizon="long")
    make_lead(status="new", rating=99, **ready)
    make_lead(status="sql", rating=99, outcome="won", **ready)
    make_lead(status="sql", rating=99, team=north, owner=dave, horizon="short")
    make_lead(status="sql", rating=99, team=north, owner=None, horizon="short")

    response = client_for(bob).get("/")

    items = response.context["items"]
    assert [item.lead.pk for item in items] == [best.pk, second.pk]
    assert "Budget approved" in items[0].reason
    assert "Sales-qualified" in items[0].reason
    assert "Budget approved" in response.content.decode()


def test_it_shows_a_manager_the_whole_team_including_unassigned_leads(
    client_for: Callable[[Any], Client],
    alice: Any,
    bob: Any,
    dave: Any,
    north: Any,
    south: Any,
    make_lead: Callable[..., Any],
) -> None:
    ready = {"status": "sql", "horizon": "short", "rating": 70}
    team = {
        make_lead(team=north, owner=bob, **ready),
        make_lead(team=north, owner=dave, **ready),
        make_lead(team=north, owner=None, **ready),
    }
    make_lead(team=south, **ready)

    items = client_for(alice).get("/").context["items"]

    assert {item.lead for item in items} == team
    assert any("unassigned" in item.reason for item in items)


def test_it_renders_the_board_with_open_leads_per_stage(
    client_for: Callable[[Any], Client], alice: Any, north: Any, make_lead: Callable[..., Any]
) -> None:
    from leadsieve.stages.models import Stage

    stage = Stage.objects.filter(is_active=True).first()
    make_lead(first_name="Boardie", team=north, stage=stage)

    response = client_for(alice).get("/board/")

    assert response.status_code == 200
    assert "Boardie" in response.content.decode()
