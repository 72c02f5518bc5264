"""A token never reveals or changes a lead outside its user's scope through a capture or an
edit: the answer is the one a fresh identity gets, and a likely duplicate waits for review.
"""

from __future__ import annotations

from typing import Any

import pytest

from leadsieve.leads.duplicates import list_duplicates_for_user
from leadsieve.leads.models import DuplicateCandidate, Lead
from tests.api.conftest import ApiClient
from tests.leads.scope import (
    NORTH_IDENTITY,
    TYPED_IDENTITIES,
    footprint,
    make_north_lead,
    secrets_in,
)


@pytest.fixture
def nora(make_lead: Any, north: Any, bob: Any) -> Lead:
    """Bob's North lead, which carol (South) must neither read nor change."""
    return make_north_lead(make_lead, north, owner=bob)


@pytest.fixture
def carol_api(api_as: Any, carol: Any) -> ApiClient:
    return api_as(carol)


def pairs() -> list[tuple[int, int]]:
    return list(DuplicateCandidate.objects.values_list("lead_id", "duplicate_of_id"))


@pytest.mark.parametrize("identity", TYPED_IDENTITIES, ids=["email", "phone", "external_id"])
def test_a_capture_of_another_teams_identity_answers_as_a_new_lead_and_changes_nothing(
    identity: dict[str, str], carol_api: ApiClient, carol: Any, nora: Lead
) -> None:
    before = footprint(nora)

    response = carol_api.post("/leads", {**identity, "city": "Evilcity"})

    assert response.status_code == 201
    body = response.json()
    assert body["created"] is True
    new = Lead.objects.get(pk=body["lead"]["id"])
    assert new.pk != nora.pk and new.team == carol.team
    assert body["lead"]["last_name"] == "" and body["lead"]["city"] == "Evilcity"
    assert secrets_in(response.content.decode()) == []
    assert footprint(nora) == before
    assert pairs() == [(new.pk, nora.pk)]


def test_a_capture_in_scope_still_merges(bob_api: ApiClient, make_lead: Any, north: Any) -> None:
    unassigned = make_north_lead(make_lead, north)

    response = bob_api.post("/leads", {"email": NORTH_IDENTITY["email"], "city": "Lyon"})

    assert response.status_code == 200
    assert response.json()["lead"]["id"] == unassigned.pk
    assert Lead.objects.get(pk=unassigned.pk).city == "Lyon"
    assert pairs() == []


def test_a_bulk_capture_never_returns_or_changes_a_lead_outside_the_scope(
    carol_api: ApiClient, nora: Lead
) -> None:
    before = footprint(nora)
    rows = [{**identity, "city": "Evilcity"} for identity in TYPED_IDENTITIES]

    response = carol_api.post("/leads/bulk", {"leads": [*rows, rows[0]]})

    assert response.status_code == 200
    body = response.json()
    assert (body["n_created"], body["n_merged"], body["n_rejected"]) == (3, 1, 0)
    ids = [result["lead_id"] for result in body["results"]]
    assert nora.pk not in ids and ids[3] == ids[0]
    assert secrets_in(response.content.decode()) == []
    assert footprint(nora) == before
    assert sorted(pairs()) == sorted((pk, nora.pk) for pk in ids[:3])


def test_a_patch_to_an_identity_outside_the_scope_answers_like_a_fresh_one(
    carol_api: ApiClient, carol: Any, make_lead: Any, nora: Lead
) -> None:
    before = footprint(nora)
    taken = make_lead(owner=carol, team=carol.team)
    fresh = make_lead(owner=carol, team=carol.team)

    to_taken = carol_api.patch(
        f"/leads/{taken.pk}", {"email": NORTH_IDENTITY["email"], "phone": "(415) 555-0100"}
    )
    to_fresh = carol_api.patch(
        f"/leads/{fresh.pk}", {"email": "someone.new@south.test", "phone": "(415) 555-0177"}
    )

    assert to_taken.status_code == to_fresh.status_code == 200
    assert to_taken.json().keys() == to_fresh.json().keys()
    assert to_taken.json()["email"] == NORTH_IDENTITY["email"]
    assert secrets_in(to_taken.content.decode()) == []
    assert footprint(nora) == before
    assert list(DuplicateCandidate.objects.values_list("lead_id", "duplicate_of_id", "reason")) == [
        (
            taken.pk,
            nora.pk,
            "Same email and phone (not merged: the change could not see the other lead)",
        )
    ]
    again = carol_api.patch(f"/leads/{taken.pk}", {"email": NORTH_IDENTITY["email"].upper()})
    assert again.status_code == 200 and len(pairs()) == 1


def test_a_patch_to_an_identity_in_the_scope_is_refused_naming_the_field(
    bob_api: ApiClient, bob: Any, make_lead: Any, north: Any
) -> None:
    make_north_lead(make_lead, north)  # the team's unassigned lead: bob sees it
    own = make_lead(owner=bob, team=north)

    response = bob_api.patch(f"/leads/{own.pk}", {"email": NORTH_IDENTITY["email"]})

    assert response.status_code == 422
    [error] = response.json()["errors"]
    assert error["field"] == "email"
    assert error["message"] == "Another lead you can see has this email; merge them."
    assert Lead.objects.get(pk=own.pk).email != NORTH_IDENTITY["email"]
    assert pairs() == []


def test_a_rep_patching_to_a_teammates_identity_opens_a_candidate_her_manager_sees(
    api_as: Any, alice: Any, bob: Any, make_user: Any, north: Any, make_lead: Any
) -> None:
    dave = make_user("dave", role="rep", team=north)
    theirs = make_north_lead(make_lead, north, owner=dave)
    own = make_lead(owner=bob, team=north)

    response = api_as(bob).patch(f"/leads/{own.pk}", {"phone": NORTH_IDENTITY["phone"]})

    assert response.status_code == 200
    assert pairs() == [(own.pk, theirs.pk)]
    assert [c.lead_id for c in list_duplicates_for_user(alice).candidates] == [own.pk]
    assert list_duplicates_for_user(bob).candidates == []
