"""Segments: saved filters and prospecting lists, their scoping, and the list filtered by one."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from leadsieve.segments.filters import get_segment_rule_for_user, parse_segment_query
from leadsieve.segments.models import Segment, SegmentMember
from leadsieve.segments.queries import list_segments_for_user
from leadsieve.segments.services import add_leads_to_segment, save_segment


def listed_ids(response: Any) -> set[int]:
    assert response.status_code == 200, response.content[:2000]
    return {lead.pk for lead in response.context["page"].leads}


@pytest.fixture
def leads(make_lead: Callable[..., Any], north: Any, south: Any, bob: Any, dave: Any) -> Any:
    """North: bob's hot and cold leads, an unassigned one, dave's; South: one."""
    return {
        "bob_hot": make_lead(first_name="Hot", team=north, owner=bob, rating=90, status="sql"),
        "bob_cold": make_lead(first_name="Cold", team=north, owner=bob, rating=20, status="new"),
        "open": make_lead(first_name="Open", team=north, owner=None, rating=80, status="sql"),
        "dave": make_lead(first_name="Dave", team=north, owner=dave, rating=95, status="sql"),
        "south": make_lead(first_name="Sue", team=south, owner=None, rating=99, status="sql"),
    }


# --- Saving and scoping -----------------------------------------------------------------------


def test_it_saves_the_current_filters_and_opens_the_list_filtered_by_them(
    client_for: Callable[[Any], Client], bob: Any, leads: Any
) -> None:
    client = client_for(bob)

    response = client.post(
        reverse("segments:create"),
        {"name": "Hot ones", "query": "status=sql&rating_min=50&sort=name&cursor=x"},
    )

    segment = Segment.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/leads/?segment={segment.pk}"
    assert (segment.owner, segment.query, segment.is_shared) == (
        bob,
        "status=sql&rating_min=50",
        False,
    )
    assert listed_ids(client.get(response["Location"])) == {leads["bob_hot"].pk, leads["open"].pk}


def test_it_refuses_a_nameless_segment_or_bad_filters_and_names_the_field(
    client_for: Callable[[Any], Client], bob: Any
) -> None:
    client = client_for(bob)

    nameless = client.post(reverse("segments:create"), {"name": "", "query": "status=sql"})
    bad = client.post(reverse("segments:create"), {"name": "Bad", "query": "rating_min=abc"})

    assert (
        nameless.status_code == 400 and "Name: give the segment a name" in nameless.content.decode()
    )
    assert bad.status_code == 400 and "these filters are not valid" in bad.content.decode()
    assert not Segment.objects.exists()


def test_a_rep_sees_own_and_team_shared_segments_only(
    alice: Any, bob: Any, carol: Any, dave: Any
) -> None:
    own = save_segment(bob, "Mine")
    shared = save_segment(alice, "Team list", is_shared=True)
    save_segment(alice, "Alice private")
    save_segment(dave, "Dave private")
    save_segment(carol, "South shared", is_shared=True)

    assert {s.name for s in list_segments_for_user(bob)} == {own.name, shared.name}
    assert {s.name for s in list_segments_for_user(carol)} == {"South shared"}


def test_a_shared_segment_never_reveals_leads_outside_the_viewers_scope(
    client_for: Callable[[Any], Client], alice: Any, bob: Any, leads: Any
) -> None:
    shared = save_segment(alice, "All SQL", query="status=sql", is_shared=True)
    listed = save_segment(alice, "Picked", is_shared=True, is_list=True)
    add_leads_to_segment(listed, [leads["dave"], leads["bob_hot"]], user=alice)

    as_alice = listed_ids(client_for(alice).get(f"/leads/?segment={shared.pk}"))
    as_bob = listed_ids(client_for(bob).get(f"/leads/?segment={shared.pk}"))
    list_as_bob = listed_ids(client_for(bob).get(f"/leads/?segment={listed.pk}"))

    assert as_alice == {leads["bob_hot"].pk, leads["open"].pk, leads["dave"].pk}
    assert as_bob == {leads["bob_hot"].pk, leads["open"].pk}
    assert list_as_bob == {leads["bob_hot"].pk}


def test_it_refuses_a_segment_the_viewer_may_not_open(
    client_for: Callable[[Any], Client], alice: Any, carol: Any, leads: Any
) -> None:
    private = save_segment(alice, "Alice private", query="status=sql")
    shared_north = save_segment(alice, "North", query="status=sql", is_shared=True)
    client = client_for(carol)

    for segment in (private, shared_north):
        response = client.get(f"/leads/?segment={segment.pk}")
        assert response.status_code == 400
        assert "no such segment, or it is not shared with you" in response.content.decode()
        assert client.get(reverse("segments:open", args=[segment.pk])).status_code == 404
    assert get_segment_rule_for_user(carol, private.pk) is None


def test_an_empty_list_shows_no_lead_and_a_list_shows_only_members_matching_its_filter(
    client_for: Callable[[Any], Client], bob: Any, leads: Any
) -> None:
    empty = save_segment(bob, "Empty list", is_list=True)
    picky = save_segment(bob, "SQL picks", query="status=sql", is_list=True)
    add_leads_to_segment(picky, [leads["bob_hot"], leads["bob_cold"]], user=bob)
    client = client_for(bob)

    assert listed_ids(client.get(f"/leads/?segment={empty.pk}")) == set()
    assert listed_ids(client.get(f"/leads/?segment={picky.pk}")) == {leads["bob_hot"].pk}
    # The list's own filters narrow a segment further.
    assert listed_ids(client.get(f"/leads/?segment={picky.pk}&rating_max=50")) == set()


def test_the_owner_filter_of_a_shared_segment_means_the_viewer(alice: Any, bob: Any) -> None:
    filters = parse_segment_query("owner=me&status=sql&segment=3&sort=name")

    assert filters is not None
    assert (filters.owner, filters.status, filters.segment) == ("me", "sql", None)
    assert parse_segment_query("owner=../../x") is None


# --- Adding leads (the list's bulk action) ---------------------------------------------------


def test_it_adds_ticked_leads_to_an_own_segment_once(
    client_for: Callable[[Any], Client], bob: Any, leads: Any
) -> None:
    segment = save_segment(bob, "Call this week")
    client = client_for(bob)
    ticked = [leads["bob_hot"].pk, leads["open"].pk]

    first = client.post(
        reverse("segments:add_leads"),
        {"lead": ticked, "segment": segment.pk, "next": "/leads/?status=sql"},
        follow=True,
    )
    client.post(reverse("segments:add_leads"), {"lead": ticked, "segment": segment.pk})

    assert first.redirect_chain[-1][0] == "/leads/?status=sql"
    assert "2 of 2 ticked leads added to “Call this week”." in first.content.decode()
    assert SegmentMember.objects.filter(segment=segment).count() == 2
    segment.refresh_from_db()
    assert segment.is_list
    assert listed_ids(client.get(f"/leads/?segment={segment.pk}")) == set(ticked)


def test_it_adds_ticked_leads_to_a_new_list(
    client_for: Callable[[Any], Client], bob: Any, leads: Any
) -> None:
    client_for(bob).post(
        reverse("segments:add_leads"),
        {"lead": [leads["bob_cold"].pk], "segment": "new", "new_name": "Revive"},
    )

    segment = Segment.objects.get(name="Revive")
    assert segment.owner == bob and segment.is_list
    assert list(segment.members.values_list("lead_id", flat=True)) == [leads["bob_cold"].pk]


def test_it_refuses_to_add_out_of_scope_leads_or_to_anothers_segment(
    client_for: Callable[[Any], Client], alice: Any, bob: Any, leads: Any
) -> None:
    own = save_segment(bob, "Mine")
    shared = save_segment(alice, "Alice's", is_shared=True)
    client = client_for(bob)

    outside = client.post(
        reverse("segments:add_leads"),
        {"lead": [leads["bob_hot"].pk, leads["dave"].pk], "segment": own.pk},
        follow=True,
    )
    foreign = client.post(
        reverse("segments:add_leads"),
        {"lead": [leads["bob_hot"].pk], "segment": shared.pk},
        follow=True,
    )
    nothing = client.post(reverse("segments:add_leads"), {"segment": own.pk}, follow=True)

    assert "not available to you; nothing changed" in outside.content.decode()
    assert "Segment: Select a valid choice" in foreign.content.decode()
    assert "Leads: tick at least one lead" in nothing.content.decode()
    assert not SegmentMember.objects.exists()


# --- Rename, share, delete -------------------------------------------------------------------


def test_the_owner_renames_shares_and_deletes_a_segment(
    client_for: Callable[[Any], Client], bob: Any, leads: Any
) -> None:
    segment = save_segment(bob, "Old", is_list=True)
    add_leads_to_segment(segment, [leads["bob_hot"]], user=bob)
    client = client_for(bob)

    client.post(reverse("segments:edit", args=[segment.pk]), {"name": "New", "is_shared": "on"})
    segment.refresh_from_db()
    assert (segment.name, segment.is_shared) == ("New", True)

    client.post(reverse("segments:delete", args=[segment.pk]))
    assert not Segment.objects.exists()
    assert not SegmentMember.objects.exists()
    leads["bob_hot"].refresh_from_db()


@pytest.mark.parametrize("action", ["edit", "delete"])
def test_nobody_but_the_owner_changes_a_segment(
    client_for: Callable[[Any], Client],
    alice: Any,
    bob: Any,
    carol: Any,
    admin_user: Any,
    action: str,
) -> None:
    segment = save_segment(alice, "Alice's", is_shared=True)

    for user in (bob, carol, admin_user):
        response = client_for(user).post(
            reverse(f"segments:{action}", args=[segment.pk]), {"name": "Taken"}
        )
        assert response.status_code == 404
    segment.refresh_from_db()
    assert segment.name == "Alice's"


def test_it_names_the_field_when_a_rename_is_empty(
    client_for: Callable[[Any], Client], bob: Any
) -> None:
    segment = save_segment(bob, "Keep")

    response = client_for(bob).post(
        reverse("segments:edit", args=[segment.pk]), {"name": ""}, follow=True
    )

    assert "Name: give the segment a name" in response.content.decode()
    segment.refresh_from_db()
    assert segment.name == "Keep"


# --- The segments page and access ------------------------------------------------------------


def test_the_segments_page_lists_own_and_shared_segments_with_hostile_names_as_text(
    client_for: Callable[[Any], Client],
    alice: Any,
    bob: Any,
    django_assert_max_num_queries: Any,
) -> None:
    save_segment(bob, "<img src=x onerror=alert(1)>", query="q=<script>")
    for n in range(20):
        save_segment(alice, f"Shared {n}", is_shared=True)
    client = client_for(bob)

    with django_assert_max_num_queries(5):
        response = client.get(reverse("segments:list"))

    body = response.content.decode()
    assert response.status_code == 200
    assert "&lt;img src=x onerror=alert(1)&gt;" in body and "<img src=x" not in body
    assert "Shared 19" in body and "by Alice" in body


def test_the_segments_page_says_what_to_do_when_empty(
    client_for: Callable[[Any], Client], carol: Any
) -> None:
    body = client_for(carol).get(reverse("segments:list")).content.decode()

    assert "You have no segments yet." in body
    assert "Save these filters as a segment" in body


@pytest.mark.parametrize(
    ("name", "method", "args"),
    [
        ("segments:list", "get", False),
        ("segments:open", "get", True),
        ("segments:create", "post", False),
        ("segments:add_leads", "post", False),
        ("segments:edit", "post", True),
        ("segments:delete", "post", True),
    ],
)
def test_it_sends_anonymous_visitors_to_sign_in(
    alice: Any, name: str, method: str, args: bool
) -> None:
    segment = save_segment(alice, "Alice's", is_shared=True)
    url = reverse(name, args=[segment.pk] if args else [])

    response = getattr(Client(), method)(url, {"name": "x"})

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert Segment.objects.get().name == "Alice's"


def test_team_members_open_a_shared_segment_and_outsiders_get_404(
    client_for: Callable[[Any], Client], alice: Any, bob: Any, carol: Any, admin_user: Any
) -> None:
    segment = save_segment(alice, "Team", is_shared=True)
    url = reverse("segments:open", args=[segment.pk])

    for user in (alice, bob, admin_user):
        assert client_for(user).get(url)["Location"] == f"/leads/?segment={segment.pk}"
    assert client_for(carol).get(url).status_code == 404
