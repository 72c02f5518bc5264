"""The duplicates review queue (/duplicates/) and undoing a merge from the lead page."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from leadsieve.leads.capture import capture_lead
from leadsieve.leads.models import (
    Activity,
    Channel,
    DuplicateCandidate,
    DuplicateStatus,
    Lead,
    LeadChange,
    MergeRecord,
)
from leadsieve.leads.services.merging import merge_leads
from tests.leads.scope import NORTH_IDENTITY, make_north_lead

HTMX = {"HX-Request": "true", "HX-Target": "lead-panel"}
XSS_NAME = "<img src=x onerror=alert(1)>"


@pytest.fixture
def pair(make_lead: Callable[..., Any], north: Any, bob: Any) -> tuple[Any, Any, Any]:
    """Bob's older lead and a newer one on the team's unassigned queue, likely the same."""
    older = make_lead(first_name="Ada", last_name="Lovelace", team=north, owner=bob, phone="")
    newer = make_lead(
        first_name="Ada", last_name="Lovelace", team=north, owner=None, phone="+442079460000"
    )
    Activity.objects.create(lead=newer, kind="form_submit", subject="Pricing page form")
    candidate = DuplicateCandidate.objects.create(
        lead=newer, duplicate_of=older, reason="same name at the same company"
    )
    return older, newer, candidate


# --- Access ----------------------------------------------------------------------------------


def test_anonymous_visitors_are_sent_to_sign_in(client: Client, pair: Any) -> None:
    _, _, candidate = pair
    urls = [
        reverse("leads:duplicate_merge", args=[candidate.pk]),
        reverse("leads:duplicate_dismiss", args=[candidate.pk]),
    ]
    assert client.get(reverse("leads:duplicates"))["Location"].startswith("/accounts/login/")
    for url in urls:
        assert client.post(url, {"survivor": "lead"})["Location"].startswith("/accounts/login/")
    assert DuplicateCandidate.objects.get().status == DuplicateStatus.OPEN


def test_an_outsider_rep_sees_an_empty_queue_and_gets_404_on_every_action(
    client_for: Callable[[Any], Client], carol: Any, pair: Any
) -> None:
    older, _, candidate = pair
    client = client_for(carol)
    merge = merge_leads(older, pair[1], user=None)
    DuplicateCandidate.objects.filter(pk=candidate.pk).update(status=DuplicateStatus.OPEN)

    html = client.get(reverse("leads:duplicates")).content.decode()
    assert "No duplicates to review." in html and "Lovelace" not in html
    merge_url = reverse("leads:duplicate_merge", args=[candidate.pk])
    dismiss_url = reverse("leads:duplicate_dismiss", args=[candidate.pk])
    unmerge_url = reverse("leads:unmerge", args=[older.pk, merge.pk])
    assert client.post(merge_url, {"survivor": "lead"}).status_code == 404
    assert client.post(dismiss_url).status_code == 404
    assert client.post(unmerge_url).status_code == 404
    assert client.post(unmerge_url, headers=HTMX).status_code == 404
    assert not MergeRecord.objects.get().is_undone()


def test_a_pair_with_one_lead_out_of_scope_is_hidden_and_refused(
    client_for: Callable[[Any], Client],
    bob: Any,
    dave: Any,
    north: Any,
    make_lead: Callable[..., Any],
) -> None:
    mine = make_lead(first_name="Mia", team=north, owner=bob)
    daves = make_lead(first_name="Mia", team=north, owner=dave)
    candidate = DuplicateCandidate.objects.create(lead=daves, duplicate_of=mine, reason="same")
    client = client_for(bob)

    html = client.get(reverse("leads:duplicates")).content.decode()
    response = client.post(
        reverse("leads:duplicate_merge", args=[candidate.pk]), {"survivor": "duplicate_of"}
    )

    assert "No duplicates to review." in html
    assert response.status_code == 404
    assert Lead.objects.get(pk=daves.pk).merged_into is None


@pytest.mark.parametrize("who", ["bob", "alice", "admin_user"])
def test_the_rep_the_manager_and_an_admin_see_the_pair_side_by_side(
    request: pytest.FixtureRequest, client_for: Callable[[Any], Client], pair: Any, who: str
) -> None:
    older, newer, _ = pair

    response = client_for(request.getfixturevalue(who)).get(reverse("leads:duplicates"))

    html = response.content.decode()
    assert response.status_code == 200
    assert reverse("leads:detail", args=[older.pk]) in html
    assert reverse("leads:detail", args=[newer.pk]) in html
    assert "+442079460000" in html
    assert "1 pair to review" in html


# --- Likely duplicates a capture across scopes opened -------------------------------------------


@pytest.fixture
def stan(make_user: Callable[..., Any], south: Any) -> Any:
    """Manager of South: sees Carol's lead, not Bob's."""
    return make_user("stan", role="manager", team=south)


@pytest.fixture
def crossed(bob: Any, carol: Any, north: Any, make_lead: Callable[..., Any]) -> Any:
    """Carol (South) captured the email of Bob's North lead: a South lead and a candidate."""
    make_north_lead(make_lead, north, owner=bob)
    capture_lead(
        {"email": NORTH_IDENTITY["email"], "first_name": "Eve"},
        channel=Channel.API,
        via="api:test",
        user=carol,
        team=carol.team,
    )
    return DuplicateCandidate.objects.get()


@pytest.mark.parametrize(
    ("who", "listed"),
    [("admin_user", True), ("alice", False), ("stan", False), ("bob", False), ("carol", False)],
)
def test_a_pair_across_teams_is_listed_only_for_whoever_sees_both_leads(
    request: pytest.FixtureRequest,
    client_for: Callable[[Any], Client],
    crossed: Any,
    who: str,
    listed: bool,
) -> None:
    client = client_for(request.getfixturevalue(who))

    html = client.get(reverse("leads:duplicates")).content.decode()
    dismiss = client.post(reverse("leads:duplicate_dismiss", args=[crossed.pk]))

    assert (reverse("leads:detail", args=[crossed.duplicate_of_id]) in html) is listed
    assert ("Halvorsen" in html) is listed
    assert dismiss.status_code == (302 if listed else 404)


def test_a_pair_inside_one_team_is_listed_for_its_manager_not_for_the_rep_who_made_it(
    client_for: Callable[[Any], Client],
    alice: Any,
    bob: Any,
    dave: Any,
    north: Any,
    make_lead: Callable[..., Any],
) -> None:
    theirs = make_north_lead(make_lead, north, owner=dave)
    made = capture_lead(
        {"email": NORTH_IDENTITY["email"]},
        channel=Channel.API,
        via="api:test",
        user=bob,
        team=north,
    )

    def listed(user: Any) -> bool:
        html = client_for(user).get(reverse("leads:duplicates")).content.decode()
        return reverse("leads:detail", args=[theirs.pk]) in html

    assert made.created and made.lead.pk != theirs.pk
    assert listed(alice) and not listed(bob)
    assert listed(dave)  # dave owns one and sees the team's unassigned other


# --- Merge, dismiss, unmerge ---------------------------------------------------------------------


def test_it_refuses_a_merge_without_choosing_the_survivor(
    client_for: Callable[[Any], Client], bob: Any, pair: Any
) -> None:
    _, _, candidate = pair
    client = client_for(bob)

    response = client.post(reverse("leads:duplicate_merge", args=[candidate.pk]), {})

    assert response.status_code == 302
    assert "Keep: choose which lead to keep" in client.get(response["Location"]).content.decode()
    assert not MergeRecord.objects.exists()


def test_it_merges_into_the_lead_the_user_keeps(
    client_for: Callable[[Any], Client], bob: Any, pair: Any
) -> None:
    older, newer, candidate = pair
    client = client_for(bob)

    response = client.post(
        reverse("leads:duplicate_merge", args=[candidate.pk]), {"survivor": "duplicate_of"}
    )

    assert response.status_code == 302
    newer.refresh_from_db()
    older.refresh_from_db()
    assert newer.merged_into == older
    assert older.phone == "+442079460000"  # blanks filled from the merged lead
    assert Activity.objects.get().lead == older
    candidate.refresh_from_db()
    assert candidate.status == DuplicateStatus.MERGED
    assert MergeRecord.objects.get().created_by == bob
    assert "No duplicates to review." in client.get(response["Location"]).content.decode()


def test_it_can_keep_the_newer_lead_instead(
    client_for: Callable[[Any], Client], alice: Any, pair: Any
) -> None:
    older, newer, candidate = pair

    client_for(alice).post(
        reverse("leads:duplicate_merge", args=[candidate.pk]), {"survivor": "lead"}
    )

    older.refresh_from_db()
    assert older.merged_into_id == newer.pk


def test_it_dismisses_a_pair_that_is_not_a_duplicate(
    client_for: Callable[[Any], Client], bob: Any, pair: Any
) -> None:
    _, newer, candidate = pair
    client = client_for(bob)

    client.post(reverse("leads:duplicate_dismiss", args=[candidate.pk]))

    candidate.refresh_from_db()
    assert (candidate.status, candidate.resolved_by) == (DuplicateStatus.DISMISSED, bob)
    assert LeadChange.objects.get(lead=newer).action == "duplicate_dismissed"
    # Resolved: it left the queue, and acting on it again is a 404.
    assert client.post(reverse("leads:duplicate_dismiss", args=[candidate.pk])).status_code == 404


def test_the_lead_page_links_to_its_duplicates_and_the_queue_filters_on_it(
    client_for: Callable[[Any], Client],
    bob: Any,
    pair: Any,
    north: Any,
    make_lead: Callable[..., Any],
) -> None:
    older, _, _ = pair
    other = make_lead(first_name="Zed", team=north, owner=bob)
    DuplicateCandidate.objects.create(
        lead=make_lead(first_name="Zed", team=north, owner=bob), duplicate_of=other, reason="x"
    )
    client = client_for(bob)

    page = client.get(reverse("leads:detail", args=[older.pk])).content.decode()
    queue = client.get(reverse("leads:duplicates"), {"lead": older.pk}).content.decode()

    assert "1 likely duplicate to review" in page
    assert f"{reverse('leads:duplicates')}?lead={older.pk}" in page
    assert "Lovelace" in queue and "Zed" not in queue


def test_it_undoes_a_merge_from_the_kept_leads_page(
    client_for: Callable[[Any], Client], bob: Any, pair: Any
) -> None:
    older, newer, candidate = pair
    record = merge_leads(older, newer, user=bob)
    client = client_for(bob)
    page = client.get(reverse("leads:detail", args=[older.pk])).content.decode()
    assert "Undo merge" in page

    response = client.post(reverse("leads:unmerge", args=[older.pk, record.pk]), headers=HTMX)

    html = response.content.decode()
    assert "Merge undone" in html
    assert "Undo merge" not in html
    newer.refresh_from_db()
    older.refresh_from_db()
    assert newer.merged_into is None
    assert older.phone == ""
    assert Activity.objects.get().lead == newer
    candidate.refresh_from_db()
    assert candidate.status == DuplicateStatus.OPEN  # back in the queue
    # Undone already: the merge is gone from the page and a second undo is a 404.
    assert client.post(reverse("leads:unmerge", args=[older.pk, record.pk])).status_code == 404


def test_a_merge_of_another_lead_is_404_on_this_leads_url(
    client_for: Callable[[Any], Client],
    bob: Any,
    pair: Any,
    north: Any,
    make_lead: Callable[..., Any],
) -> None:
    older, newer, _ = pair
    record = merge_leads(older, newer, user=bob)
    mine = make_lead(team=north, owner=bob)

    response = client_for(bob).post(reverse("leads:unmerge", args=[mine.pk, record.pk]))

    assert response.status_code == 404
    assert not MergeRecord.objects.get().is_undone()


def test_it_escapes_hostile_names_in_the_queue(
    client_for: Callable[[Any], Client], alice: Any, north: Any, make_lead: Callable[..., Any]
) -> None:
    a = make_lead(first_name=XSS_NAME, last_name="", team=north)
    b = make_lead(first_name=XSS_NAME, last_name="", team=north, company_name='"><script>x')
    DuplicateCandidate.objects.create(lead=b, duplicate_of=a, reason="<b>same</b>")

    html = client_for(alice).get(reverse("leads:duplicates")).content.decode()

    assert XSS_NAME not in html and "<script>x" not in html and "<b>same" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html


def test_it_lists_the_queue_in_a_fixed_number_of_queries(
    client_for: Callable[[Any], Client],
    alice: Any,
    bob: Any,
    north: Any,
    make_lead: Callable[..., Any],
    django_assert_max_num_queries: Any,
) -> None:
    for n in range(30):
        a = make_lead(team=north, owner=bob, company_name=f"Co {n}")
        b = make_lead(team=north, owner=None)
        DuplicateCandidate.objects.create(lead=b, duplicate_of=a, reason="same name")
    client = client_for(alice)

    # Session, user, the candidates with both leads, the user's team (nav).
    with django_assert_max_num_queries(5):
        response = client.get(reverse("leads:duplicates"))

    assert len(response.context["queue"].candidates) == 30
