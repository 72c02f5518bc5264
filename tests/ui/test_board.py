"""The pipeline board: columns, values, bounded cards, moves (form and htmx) and access."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from leadsieve.leads.models import LeadChange
from leadsieve.segments.filters import LeadFilters
from leadsieve.segments.services import add_leads_to_segment, save_segment
from leadsieve.stages.models import Stage, StageChange
from leadsieve.workspace.queries import BOARD_CARDS_PER_STAGE, list_board_for_user

HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "board"}


def stage(slug: str) -> Stage:
    return Stage.objects.get(slug=slug)


def column(columns: list[Any], slug: str) -> Any:
    return next(c for c in columns if c.stage.slug == slug)


@pytest.fixture
def north_lead(make_lead: Callable[..., Any], north: Any, bob: Any) -> Any:
    return make_lead(first_name="Nora", team=north, owner=bob, stage=stage("new"), rating=60)


# --- What the board shows -------------------------------------------------------------------


def test_it_counts_and_values_each_column_over_every_lead_in_scope(
    alice: Any, bob: Any, carol: Any, north: Any, south: Any, make_lead: Callable[..., Any]
) -> None:
    contacted = stage("contacted")
    make_lead(team=north, owner=bob, stage=contacted, expected_value=Decimal("1000"), rating=50)
    make_lead(team=north, owner=None, stage=contacted, expected_value=Decimal("3000"), rating=10)
    make_lead(team=north, owner=bob, stage=contacted, expected_value=None, rating=90)
    make_lead(team=north, stage=contacted, status="disqualified", expected_value=Decimal("7"))
    make_lead(team=south, owner=carol, stage=contacted, expected_value=Decimal("99999"))

    columns = list_board_for_user(alice)

    col = column(columns, "contacted")
    assert col.n_leads == 3
    assert col.total_value == Decimal("4000")
    # 1000 x 50% + 3000 x 10%; a lead without a value adds nothing.
    assert col.weighted_value == Decimal("800")
    assert [lead.rating for lead in col.leads] == [90, 50, 10]
    assert column(columns, "new").n_leads == 0


def test_it_bounds_the_cards_of_a_column_and_links_to_the_rest(
    client_for: Callable[[Any], Client], alice: Any, north: Any, make_lead: Callable[..., Any]
) -> None:
    proposal = stage("proposal")
    for n in range(BOARD_CARDS_PER_STAGE + 2):
        make_lead(team=north, stage=proposal, rating=n % 100 + 1)
    make_lead(team=north, stage=proposal, status="disqualified")
    client = client_for(alice)

    col = column(list_board_for_user(alice, limit=5), "proposal")
    body = client.get("/board/?owner=none").content.decode()
    listed = client.get(f"/leads/?stage={proposal.pk}&status=not_disqualified&owner=none")

    assert (col.n_leads, len(col.leads), col.n_more) == (BOARD_CARDS_PER_STAGE + 2, 5, 17)
    assert [lead.rating for lead in col.leads] == [22, 21, 20, 19, 18]
    link = f"/leads/?stage={proposal.pk}&amp;status=not_disqualified&amp;owner=none"
    assert f'<a href="{link}">All 22 in the lead list</a>' in body
    assert f"/board/column/{proposal.pk}/?cursor=" in body
    assert listed.context["n_leads"].n == BOARD_CARDS_PER_STAGE + 2


def test_a_rep_sees_own_leads_and_the_teams_unassigned_ones_only(
    bob: Any, dave: Any, north: Any, make_lead: Callable[..., Any]
) -> None:
    new = stage("new")
    mine = make_lead(team=north, owner=bob, stage=new, rating=10)
    unassigned = make_lead(team=north, owner=None, stage=new, rating=20)
    make_lead(team=north, owner=dave, stage=new, rating=99)

    col = column(list_board_for_user(bob), "new")

    assert col.n_leads == 2
    assert [lead.pk for lead in col.leads] == [unassigned.pk, mine.pk]


def test_it_filters_the_board_by_owner_team_and_segment(
    client_for: Callable[[Any], Client],
    admin_user: Any,
    alice: Any,
    bob: Any,
    north: Any,
    south: Any,
    make_lead: Callable[..., Any],
) -> None:
    new = stage("new")
    bobs = make_lead(team=north, owner=bob, stage=new, rating=40)
    make_lead(team=north, owner=None, stage=new, rating=30)
    make_lead(team=south, owner=None, stage=new, rating=20)
    hot = save_segment(alice, "Hot", query="rating_min=35", is_shared=True)
    picked = save_segment(alice, "Picked", is_list=True)
    add_leads_to_segment(picked, [bobs], user=alice)
    client = client_for(admin_user)

    def n_new(query: str, user_client: Client = client) -> int:
        response = user_client.get(f"/board/?{query}")
        assert response.status_code == 200, response.content
        return int(column(response.context["columns"], "new").n_leads)

    assert n_new("") == 3
    assert n_new(f"team={south.pk}") == 1
    assert n_new("owner=none") == 2
    assert n_new(f"owner={bob.pk}") == 1
    assert n_new(f"segment={picked.pk}", client_for(alice)) == 1
    assert n_new(f"segment={hot.pk}", client_for(bob)) == 1


def test_it_refuses_a_segment_the_user_may_not_open(
    client_for: Callable[[Any], Client], alice: Any, carol: Any
) -> None:
    private = save_segment(alice, "Mine")

    response = client_for(carol).get(f"/board/?segment={private.pk}")

    assert response.status_code == 400
    assert "Segment" in response.content.decode()


def test_it_shows_hostile_names_as_text(
    client_for: Callable[[Any], Client], bob: Any, north: Any, make_lead: Callable[..., Any]
) -> None:
    make_lead(
        first_name="<img src=x onerror=alert(1)>",
        last_name="",
        company_name='"><script>alert(1)</script>',
        team=north,
        owner=bob,
        stage=stage("new"),
    )

    body = client_for(bob).get("/board/").content.decode()

    assert "<img src=x" not in body
    assert "<script>alert(1)" not in body
    assert "&lt;img src=x onerror=alert(1)&gt;" in body
    assert "&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in body


def test_the_board_costs_a_fixed_number_of_queries(
    client_for: Callable[[Any], Client],
    alice: Any,
    bob: Any,
    north: Any,
    make_lead: Callable[..., Any],
    django_assert_max_num_queries: Any,
) -> None:
    stages = list(Stage.objects.filter(is_active=True))
    for n in range(120):
        make_lead(
            team=north,
            owner=bob if n % 2 else None,
            stage=stages[n % len(stages)],
            rating=n % 100 + 1,
            expected_value=Decimal(n),
        )
    as_alice, as_bob = client_for(alice), client_for(bob)
    # session, user, team (nav), stages, owners, segments, grouped totals, a page per stage
    budget = 7 + len(stages)

    with django_assert_max_num_queries(budget):
        response = as_alice.get("/board/")
    # A rep's scope is two parts: one more grouped query and two walks per column.
    with django_assert_max_num_queries(budget + 1 + len(stages)):
        as_bob.get("/board/")

    assert sum(c.n_leads for c in response.context["columns"]) == 120


# --- Moving a card ----------------------------------------------------------------------------


def test_a_move_goes_through_advance_stage_and_records_history(
    client_for: Callable[[Any], Client], bob: Any, north_lead: Any
) -> None:
    target = stage("contacted")

    response = client_for(bob).post(
        reverse("stages:move_lead", args=[north_lead.pk]), {"stage": target.pk, "owner": "me"}
    )

    assert response.status_code == 302
    assert response["Location"] == "/board/?owner=me"
    north_lead.refresh_from_db()
    assert north_lead.stage == target
    move = StageChange.objects.get(lead=north_lead)
    assert (move.from_stage.slug, move.to_stage, move.user) == ("new", target, bob)
    assert LeadChange.objects.filter(lead=north_lead, action="stage").count() == 1


def test_an_htmx_move_returns_the_board_with_new_counts(
    client_for: Callable[[Any], Client], bob: Any, north_lead: Any
) -> None:
    response = client_for(bob).post(
        reverse("stages:move_lead", args=[north_lead.pk]),
        {"stage": stage("contacted").pk},
        **HTMX,
    )

    body = response.content.decode()
    assert response.status_code == 200
    assert body.startswith('<div id="board"')
    assert "Nora Tester1 moved to Contacted." in body
    columns = response.context["columns"]
    assert (column(columns, "new").n_leads, column(columns, "contacted").n_leads) == (0, 1)


def test_it_refuses_a_drop_on_won_without_a_reason_and_leaves_the_lead(
    client_for: Callable[[Any], Client], bob: Any, north_lead: Any
) -> None:
    response = client_for(bob).post(
        reverse("stages:move_lead", args=[north_lead.pk]), {"stage": stage("won").pk}, **HTMX
    )

    body = response.content.decode()
    assert response.status_code == 200
    assert "was not moved" in body
    assert "needs a reason" in body
    north_lead.refresh_from_db()
    assert north_lead.stage.slug == "new"
    assert not StageChange.objects.exists()
    assert column(response.context["columns"], "new").n_leads == 1


def test_it_refuses_an_inactive_or_unknown_stage(
    client_for: Callable[[Any], Client], bob: Any, north_lead: Any
) -> None:
    gone = stage("proposal")
    gone.is_active = False
    gone.save()
    client = client_for(bob)

    for value in (gone.pk, 99999, "abc"):
        response = client.post(
            reverse("stages:move_lead", args=[north_lead.pk]), {"stage": value}, follow=True
        )
        assert "was not moved" in response.content.decode()

    north_lead.refresh_from_db()
    assert north_lead.stage.slug == "new"


def test_a_move_to_the_current_stage_records_nothing(
    client_for: Callable[[Any], Client], bob: Any, north_lead: Any
) -> None:
    response = client_for(bob).post(
        reverse("stages:move_lead", args=[north_lead.pk]), {"stage": stage("new").pk}, follow=True
    )

    assert "already in New" in response.content.decode()
    assert not StageChange.objects.exists()


# --- Access -----------------------------------------------------------------------------------


def test_it_sends_anonymous_visitors_to_sign_in_and_moves_nothing(north_lead: Any) -> None:
    client = Client()

    page = client.get("/board/")
    move = client.post(
        reverse("stages:move_lead", args=[north_lead.pk]), {"stage": stage("contacted").pk}
    )
    htmx_move = client.post(
        reverse("stages:move_lead", args=[north_lead.pk]),
        {"stage": stage("contacted").pk},
        **HTMX,
    )

    assert page.status_code == 302 and page["Location"].startswith("/accounts/login/")
    assert move.status_code == 302 and move["Location"].startswith("/accounts/login/")
    assert htmx_move.status_code == 204 and "/accounts/login/" in htmx_move["HX-Redirect"]
    north_lead.refresh_from_db()
    assert north_lead.stage.slug == "new"


@pytest.mark.parametrize("who", ["carol", "dave"])
def test_an_outsider_cannot_move_a_lead_and_gets_404(
    request: pytest.FixtureRequest,
    client_for: Callable[[Any], Client],
    who: str,
    north_lead: Any,
) -> None:
    outsider = request.getfixturevalue(who)

    response = client_for(outsider).post(
        reverse("stages:move_lead", args=[north_lead.pk]), {"stage": stage("contacted").pk}, **HTMX
    )

    assert response.status_code == 404
    north_lead.refresh_from_db()
    assert north_lead.stage.slug == "new"
    assert "Nora" not in client_for(outsider).get("/board/").content.decode()


@pytest.mark.parametrize("who", ["bob", "alice", "admin_user"])
def test_the_owner_the_manager_and_an_admin_may_move_the_lead(
    request: pytest.FixtureRequest, client_for: Callable[[Any], Client], who: str, north_lead: Any
) -> None:
    user = request.getfixturevalue(who)

    response = client_for(user).post(
        reverse("stages:move_lead", args=[north_lead.pk]), {"stage": stage("proposal").pk}
    )

    assert response.status_code == 302
    north_lead.refresh_from_db()
    assert north_lead.stage.slug == "proposal"


def test_it_refuses_a_move_without_the_csrf_token(bob: Any, north_lead: Any) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(bob)

    response = client.post(
        reverse("stages:move_lead", args=[north_lead.pk]), {"stage": stage("contacted").pk}
    )

    assert response.status_code == 403
    north_lead.refresh_from_db()
    assert north_lead.stage.slug == "new"


def test_the_board_default_filters_are_empty(alice: Any) -> None:
    assert list_board_for_user(alice, LeadFilters())[0].stage.slug == "new"


def test_show_more_fetches_the_next_cards_of_that_column_only(
    client_for: Callable[[Any], Client], alice: Any, north: Any, make_lead: Callable[..., Any]
) -> None:
    proposal, contacted = stage("proposal"), stage("contacted")
    for n in range(BOARD_CARDS_PER_STAGE * 2 + 3):
        make_lead(team=north, stage=proposal, rating=n + 1)
    make_lead(team=north, stage=contacted, rating=99, first_name="Elsewhere")
    client = client_for(alice)
    first = client.get("/board/?owner=none")
    cursor = column(first.context["columns"], "proposal").next_cursor
    assert cursor is not None

    second = client.get(f"/board/column/{proposal.pk}/", {"cursor": cursor, "owner": "none"})
    third = client.get(
        f"/board/column/{proposal.pk}/", {"cursor": second.context["next_cursor"], "owner": "none"}
    )

    top = BOARD_CARDS_PER_STAGE * 2 + 3
    assert [lead.rating for lead in second.context["leads"]] == list(
        range(top - BOARD_CARDS_PER_STAGE, top - 2 * BOARD_CARDS_PER_STAGE, -1)
    )
    assert [lead.rating for lead in third.context["leads"]] == [3, 2, 1]
    assert third.context["next_cursor"] is None
    html = second.content.decode()
    assert "<html" not in html and "Elsewhere" not in html
    assert html.count('class="board-card"') == BOARD_CARDS_PER_STAGE
    assert "Show more in Proposal" in html and "Show more" not in third.content.decode()
    assert 'name="owner" value="none"' in html  # a card's move keeps the board's filters


def test_show_more_refuses_a_damaged_cursor(
    client_for: Callable[[Any], Client], alice: Any
) -> None:
    response = client_for(alice).get(
        f"/board/column/{stage('new').pk}/", {"cursor": "not-a-cursor"}
    )
    assert response.status_code == 400
    assert "cursor" in response.content.decode()


@pytest.mark.parametrize("role", ["manager", "rep", "admin"])
def test_kept_counts_equal_the_grouped_counts_of_each_scope(
    role: str,
    make_user: Callable[..., Any],
    north: Any,
    south: Any,
    bob: Any,
    make_lead: Callable[..., Any],
) -> None:
    """The board reads the kept counts; a segment reads the leads: both agree per scope."""
    from leadsieve.workspace import queries

    user = make_user(f"who-{role}", role=role, team=north)
    for n, (team, owner, slug) in enumerate(
        [
            (north, bob, "new"),
            (north, None, "new"),
            (north, user, "contacted"),
            (south, None, "contacted"),
            (None, user, "proposal"),
            (north, None, "proposal"),
        ]
    ):
        make_lead(team=team, owner=owner, stage=stage(slug), rating=n * 10, expected_value=n)
    make_lead(team=north, stage=stage("new"), status="disqualified")
    for owner in ("", "me", "none", str(bob.pk)):
        filters = queries.board_filters(LeadFilters(owner=owner))
        kept = queries._counted_board_totals(user, filters)
        assert kept is not None
        grouped = queries._grouped_board_totals(user, filters)
        assert {k: v.n for k, v in kept.items() if v.n} == {k: v.n for k, v in grouped.items()}
        assert {k: v.weighted for k, v in kept.items() if v.n} == {
            k: v.weighted for k, v in grouped.items()
        }
