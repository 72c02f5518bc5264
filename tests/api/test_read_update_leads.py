"""Reading, listing and changing leads, scoped by the token user's role like the UI."""

from __future__ import annotations

import datetime as dt
from typing import Any

import time_machine

from tests.api.conftest import ApiClient


def _fields(response: Any) -> set[str]:
    return {error["field"] for error in response.json()["errors"]}


def test_a_rep_gets_404_on_another_teams_lead(
    api_as: Any, bob: Any, carol: Any, make_lead: Any
) -> None:
    bobs = make_lead(owner=bob, team=bob.team)
    carol_api = api_as(carol)
    assert carol_api.get(f"/leads/{bobs.pk}").status_code == 404
    assert carol_api.patch(f"/leads/{bobs.pk}", {"city": "Paris"}).status_code == 404
    response = carol_api.post(f"/leads/{bobs.pk}/activities", {"kind": "call"})
    assert response.status_code == 404
    assert _fields(response) == {"id"}
    assert carol_api.get("/leads").json()["results"] == []


def test_scope_follows_the_role(
    api_as: Any, alice: Any, bob: Any, carol: Any, admin_user: Any, make_lead: Any
) -> None:
    own = make_lead(owner=bob, team=bob.team)
    unassigned = make_lead(team=bob.team)
    colleague = make_lead(owner=alice, team=bob.team)
    south = make_lead(owner=carol, team=carol.team)

    def ids(user: Any) -> set[int]:
        return {lead["id"] for lead in api_as(user).get("/leads").json()["results"]}

    assert ids(bob) == {own.pk, unassigned.pk}
    assert ids(alice) == {own.pk, unassigned.pk, colleague.pk}
    assert ids(carol) == {south.pk}
    assert ids(admin_user) == {own.pk, unassigned.pk, colleague.pk, south.pk}


def test_it_reads_a_lead(bob_api: ApiClient, bob: Any, make_lead: Any) -> None:
    lead = make_lead(owner=bob, team=bob.team, city="Lyon")
    body = bob_api.get(f"/leads/{lead.pk}").json()
    assert (body["id"], body["city"], body["owner_id"]) == (lead.pk, "Lyon", bob.pk)
    assert bob_api.get("/leads/999999").status_code == 404


def test_a_patch_refuses_bad_values_and_changes_nothing(
    bob_api: ApiClient, bob: Any, make_lead: Any
) -> None:
    from leadsieve.leads.models import Lead, LeadChange

    lead = make_lead(owner=bob, team=bob.team)
    taken = make_lead(owner=bob, team=bob.team)
    for body, field in [
        ({"email": "nope"}, "email"),
        ({"phone": "12"}, "phone"),
        ({"country": "France"}, "country"),
        ({"status": "won"}, "status"),
        ({"email": taken.email.upper()}, "email"),
        ({"timeline": "someday"}, "timeline"),
    ]:
        response = bob_api.patch(f"/leads/{lead.pk}", body)
        assert response.status_code == 422, body
        assert _fields(response) == {field}, body
    assert Lead.objects.get(pk=lead.pk).email == lead.email
    assert not LeadChange.objects.exists()


def test_a_patch_normalises_and_audits_old_and_new(
    bob_api: ApiClient, bob: Any, make_lead: Any
) -> None:
    from leadsieve.leads.models import Lead, LeadChange

    lead = make_lead(owner=bob, team=bob.team, city="Lyon", phone="")
    response = bob_api.patch(
        f"/leads/{lead.pk}",
        {"email": " New@Example.ORG ", "phone": "+33 1 42 68 53 00", "city": None, "consent": True},
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["email"], body["phone"], body["city"]) == ("New@example.org", "+33142685300", "")
    stored = Lead.objects.get(pk=lead.pk)
    assert stored.email_key == "new@example.org"
    assert stored.consent_at is not None
    change = LeadChange.objects.get(lead=lead)
    assert change.user == bob and change.via.startswith("api:") and change.action == "update"
    assert change.changes["city"] == ["Lyon", ""]
    assert change.changes["phone"] == ["", "+33142685300"]
    assert set(change.changes) == {"email", "phone", "city", "consent"}
    # The same patch again changes nothing and writes no audit row.
    bob_api.patch(f"/leads/{lead.pk}", {"city": None})
    assert LeadChange.objects.filter(lead=lead).count() == 1


def test_it_adds_an_activity_and_moves_last_activity_at(
    bob_api: ApiClient, bob: Any, make_lead: Any
) -> None:
    from leadsieve.leads.models import Activity, Lead

    lead = make_lead(owner=bob, team=bob.team)
    bad = bob_api.post(f"/leads/{lead.pk}/activities", {"kind": "telepathy", "extra": 1})
    assert bad.status_code == 422 and _fields(bad) == {"kind", "extra"}
    response = bob_api.post(
        f"/leads/{lead.pk}/activities",
        {
            "kind": "page_visit",
            "occurred_at": "2026-03-01T09:30:00Z",
            "url": "https://www.example.org/pricing",
            "payload": {"seconds": 42},
        },
    )
    assert response.status_code == 201
    body = response.json()
    assert (body["kind"], body["channel"], body["payload"]) == (
        "page_visit",
        "api",
        {"seconds": 42},
    )
    expected = dt.datetime(2026, 3, 1, 9, 30, tzinfo=dt.UTC)
    assert Lead.objects.get(pk=lead.pk).last_activity_at == expected
    older = {"kind": "email_opened", "occurred_at": "2026-02-01T00:00:00"}
    assert bob_api.post(f"/leads/{lead.pk}/activities", older).status_code == 201
    assert Lead.objects.get(pk=lead.pk).last_activity_at == expected
    assert Activity.objects.filter(lead=lead).count() == 2


def test_the_list_filters(bob_api: ApiClient, bob: Any, make_lead: Any) -> None:
    from leadsieve.leads.models import Source

    web = Source.objects.create(name="Web")
    with time_machine.travel("2026-01-10 12:00:00+00:00", tick=False):
        old = make_lead(owner=bob, team=bob.team, status="mql", source=web, company_name="Acme")
    with time_machine.travel("2026-02-10 12:00:00+00:00", tick=False):
        new = make_lead(
            owner=bob, team=bob.team, email="Zed@Example.org", email_key="zed@example.org"
        )

    def ids(**params: Any) -> list[int]:
        response = bob_api.get("/leads", params)
        assert response.status_code == 200, response.content
        return [lead["id"] for lead in response.json()["results"]]

    assert ids() == [old.pk, new.pk]
    assert ids(status="mql") == [old.pk]
    assert ids(source=web.pk) == [old.pk]
    assert ids(owner=bob.pk) == [old.pk, new.pk]
    assert ids(created_after="2026-02-01T00:00:00Z") == [new.pk]
    assert ids(created_before="2026-02-01T00:00:00Z") == [old.pk]
    assert ids(email="ZED@example.org") == [new.pk]
    assert ids(q="acme") == [old.pk]
    assert ids(updated_after="2026-02-01T00:00:00Z") == [new.pk]
    bad = bob_api.get("/leads", {"status": "hot", "limit": 0})
    assert bad.status_code == 422 and _fields(bad) == {"status", "limit"}


def test_the_cursor_walks_every_lead_once_across_pages(
    bob_api: ApiClient, bob: Any, make_lead: Any
) -> None:
    with time_machine.travel("2026-01-10 12:00:00+00:00", tick=False):
        same_instant = [make_lead(team=bob.team) for _ in range(4)]
    later = [make_lead(team=bob.team) for _ in range(3)]
    seen: list[int] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        body = bob_api.get("/leads", params).json()
        seen += [lead["id"] for lead in body["results"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == [lead.pk for lead in same_instant + later]
    assert pages == 4


def test_a_tampered_cursor_is_refused(bob_api: ApiClient) -> None:
    response = bob_api.get("/leads", {"cursor": "eyJjIjoxfQ:forged:sig"})
    assert response.status_code == 400
    assert _fields(response) == {"cursor"}


def test_the_list_costs_a_fixed_number_of_queries(
    bob_api: ApiClient, bob: Any, make_lead: Any, django_assert_max_num_queries: Any
) -> None:
    for _ in range(30):
        make_lead(owner=bob, team=bob.team)
    bob_api.get("/leads")  # token last-used written once a minute
    with django_assert_max_num_queries(3):
        assert len(bob_api.get("/leads", {"limit": 30}).json()["results"]) == 30


def test_a_patch_of_money_and_choices_is_stored_typed(
    bob_api: ApiClient, bob: Any, make_lead: Any
) -> None:
    from decimal import Decimal

    from leadsieve.leads.models import Lead, LeadChange

    lead = make_lead(owner=bob, team=bob.team)
    response = bob_api.patch(
        f"/leads/{lead.pk}", {"budget": "2500.50", "timeline": "quarter", "custom": {"seats": 3}}
    )
    assert response.status_code == 200, response.content
    stored = Lead.objects.get(pk=lead.pk)
    assert (stored.budget, stored.timeline, stored.custom) == (
        Decimal("2500.50"),
        "quarter",
        {"seats": 3},
    )
    assert LeadChange.objects.get(lead=lead).changes["budget"] == [None, "2500.50"]


def test_an_activity_and_an_edit_rescore_the_lead_after_commit(
    bob_api: ApiClient,
    bob: Any,
    make_lead: Any,
    monkeypatch: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    from leadsieve import pipeline

    touched: list[list[int]] = []
    monkeypatch.setattr(pipeline, "rescore_touched_leads", touched.append)
    lead = make_lead(owner=bob, team=bob.team)
    with django_capture_on_commit_callbacks(execute=True):
        bob_api.post(f"/leads/{lead.pk}/activities", {"kind": "email_replied"})
        bob_api.patch(f"/leads/{lead.pk}", {"job_title": "CTO"})
    assert touched == [[lead.pk], [lead.pk]]
