"""A capture by a user merges only into leads that user can see; a system capture into any.

Outside the scope, a match is no match: the row becomes a lead of the capturer's team and a
likely duplicate for someone who sees both, and the other lead keeps everything it had.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from leadsieve.leads.capture import capture_lead, capture_leads
from leadsieve.leads.models import Channel, DuplicateCandidate, DuplicateStatus, Lead
from tests.leads.importing import run
from tests.leads.scope import (
    NORTH_IDENTITY,
    TYPED_IDENTITIES,
    footprint,
    make_north_lead,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def dave(make_user: Callable[..., Any], north: Any) -> Any:
    """Another rep on North: bob cannot see the leads dave owns."""
    return make_user("dave", role="rep", team=north)


def capture_as(user: Any, values: dict[str, Any]) -> Any:
    return capture_lead(values, channel=Channel.API, via="api:test", user=user, team=user.team)


def candidates() -> list[tuple[int, int, str]]:
    return list(
        DuplicateCandidate.objects.filter(status=DuplicateStatus.OPEN).values_list(
            "lead_id", "duplicate_of_id", "reason"
        )
    )


@pytest.mark.parametrize("identity", TYPED_IDENTITIES, ids=["email", "phone", "external_id"])
def test_a_rep_capturing_another_teams_identity_gets_a_new_lead_and_a_candidate(
    identity: dict[str, str], carol: Any, bob: Any, north: Any, make_lead: Any
) -> None:
    nora = make_north_lead(make_lead, north, owner=bob)
    before = footprint(nora)

    outcome = capture_as(carol, {**identity, "first_name": "Eve", "city": "Evilcity"})

    assert outcome.created and outcome.merge is None
    assert outcome.lead.pk != nora.pk and outcome.lead.team == carol.team
    assert outcome.lead.city == "Evilcity" and outcome.lead.last_name == ""
    assert footprint(nora) == before
    [(lead, other, reason)] = candidates()
    assert (lead, other) == (outcome.lead.pk, nora.pk)
    assert reason.startswith("Same ") and "could not see the other lead" in reason


def test_a_rep_does_not_merge_into_a_teammates_lead(
    bob: Any, dave: Any, north: Any, make_lead: Any
) -> None:
    theirs = make_north_lead(make_lead, north, owner=dave)
    before = footprint(theirs)

    outcome = capture_as(bob, {"email": NORTH_IDENTITY["email"], "city": "Lyon"})

    assert outcome.created and outcome.lead.team == north and outcome.lead.owner is None
    assert footprint(theirs) == before
    assert [(lead, other) for lead, other, _ in candidates()] == [(outcome.lead.pk, theirs.pk)]


def test_a_rep_still_merges_into_the_teams_unassigned_lead_and_her_own(
    bob: Any, north: Any, make_lead: Any
) -> None:
    unassigned = make_north_lead(make_lead, north)
    own = make_lead(team=north, owner=bob, phone="+14155550199")

    first = capture_as(bob, {"email": NORTH_IDENTITY["email"], "city": "Lyon"})
    second = capture_as(bob, {"phone": "(415) 555-0199", "city": "Nice"})

    assert (first.created, first.lead.pk, first.lead.city) == (False, unassigned.pk, "Lyon")
    assert (second.created, second.lead.pk, second.lead.city) == (False, own.pk, "Nice")
    assert first.merge is not None and second.merge is not None
    assert candidates() == []


def test_a_manager_and_an_admin_merge_into_any_lead_they_can_see(
    alice: Any, admin_user: Any, dave: Any, north: Any, south: Any, make_lead: Any
) -> None:
    theirs = make_north_lead(make_lead, north, owner=dave)
    southern = make_lead(team=south, external_id="crm-south-1")

    by_manager = capture_as(alice, {"email": NORTH_IDENTITY["email"], "city": "Lyon"})
    by_admin = capture_as(admin_user, {"external_id": "crm-south-1", "city": "Austin"})

    assert (by_manager.created, by_manager.lead.pk) == (False, theirs.pk)
    assert (by_admin.created, by_admin.lead.pk) == (False, southern.pk)
    assert candidates() == []


def test_a_capture_without_a_user_merges_into_the_oldest_live_lead_of_any_team(
    bob: Any, carol: Any, north: Any, south: Any, make_lead: Any
) -> None:
    older = make_north_lead(make_lead, north, owner=bob)
    make_north_lead(make_lead, south, owner=carol)  # the same identity, captured later

    outcome = capture_lead(
        {"email": NORTH_IDENTITY["email"], "city": "Lyon"}, channel=Channel.WEB_FORM, via="form:x"
    )

    assert (outcome.created, outcome.lead.pk) == (False, older.pk)
    assert candidates() == []


def test_when_several_leads_share_an_identity_a_user_merges_into_the_one_in_scope(
    bob: Any, carol: Any, north: Any, south: Any, make_lead: Any
) -> None:
    northern = make_north_lead(make_lead, north)
    southern = make_north_lead(make_lead, south)  # newer, the same email, phone and id
    before = footprint(northern)

    outcome = capture_as(carol, {"email": NORTH_IDENTITY["email"], "city": "Austin"})
    again = capture_as(bob, {"phone": NORTH_IDENTITY["phone"], "city": "Lyon"})

    assert (outcome.created, outcome.lead.pk) == (False, southern.pk)
    assert (again.created, again.lead.pk) == (False, northern.pk)
    assert footprint(northern)["row"]["city"] == "Lyon" and before["row"]["city"] == ""
    assert candidates() == []


def test_a_batch_repeating_an_outside_identity_makes_one_lead_and_one_candidate(
    carol: Any, bob: Any, north: Any, make_lead: Any
) -> None:
    nora = make_north_lead(make_lead, north, owner=bob)
    before = footprint(nora)
    rows = [
        {"email": NORTH_IDENTITY["email"], "first_name": "Eve"},
        {"email": NORTH_IDENTITY["email"].upper(), "city": "Evilcity"},
        {"external_id": NORTH_IDENTITY["external_id"], "phone": NORTH_IDENTITY["phone"]},
    ]

    batch = capture_leads(rows, channel=Channel.API, via="api:test", user=carol, team=carol.team)

    first, second, third = batch.results
    assert first.created and second.merged_into == first.lead_id and third.created
    assert nora.pk not in batch.lead_ids
    assert footprint(nora) == before
    found = {(lead, other): reason for lead, other, reason in candidates()}
    assert set(found) == {(first.lead_id, nora.pk), (third.lead_id, nora.pk)}
    assert found[(third.lead_id, nora.pk)].startswith("Same external id and phone")


def test_a_row_merged_in_scope_that_names_an_outside_lead_flags_the_pair_once(
    carol: Any, bob: Any, north: Any, south: Any, make_lead: Any
) -> None:
    nora = make_north_lead(make_lead, north, owner=bob)
    before = footprint(nora)
    mine = make_lead(team=south, owner=carol, phone="+14155550199")  # kept: never overwritten
    row = {"email": mine.email, "phone": NORTH_IDENTITY["phone"]}

    first = capture_as(carol, row)
    second = capture_as(carol, row)

    assert first.lead.pk == second.lead.pk == mine.pk and not first.created
    assert footprint(nora) == before
    assert [(lead, other) for lead, other, _ in candidates()] == [(mine.pk, nora.pk)]


def test_an_import_by_a_user_merges_only_into_leads_that_user_can_see(
    tmp_path: Path, carol: Any, bob: Any, north: Any, south: Any, make_lead: Any
) -> None:
    nora = make_north_lead(make_lead, north, owner=bob)
    before = footprint(nora)
    source = tmp_path / "leads.csv"
    source.write_text(f"email,city\n{NORTH_IDENTITY['email']},Evilcity\n", encoding="utf-8")
    mapping = tmp_path / "mapping.toml"
    mapping.write_text('[columns]\n"email" = "email"\n"city" = "city"\n', encoding="utf-8")

    output = run(source, mapping, "--user", "carol")

    assert "1 leads created, 0 merged" in output
    new = Lead.objects.exclude(pk=nora.pk).get()
    assert (new.team, new.city) == (south, "Evilcity")
    assert footprint(nora) == before
    assert [(lead, other) for lead, other, _ in candidates()] == [(new.pk, nora.pk)]
    assert "0 leads created, 1 merged" in run(source, mapping, "--user", "carol")
    assert "0 leads created, 1 merged" in run(source, mapping)  # a system import: the oldest
    assert Lead.objects.get(pk=nora.pk).city == "Evilcity"
