"""Who sees what: every page and htmx endpoint enforces the role scope on the server."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from leadsieve.leads.models import Activity, Lead, LeadChange, Status
from leadsieve.stages.models import Stage

LEAD_POSTS = {
    "leads:log_activity": {"kind": "call", "subject": "Intro call"},
    "leads:disqualify": {"reason": "No budget"},
    "leads:set_status": {"status": "sql", "reason": "Asked for a quote"},
    "leads:move_stage": {"stage": "__first_stage__", "reason": "Demo booked"},
}


def _post_data(name: str) -> dict[str, Any]:
    """The valid body of each lead action (the stage id comes from the seeded stages)."""
    data = dict(LEAD_POSTS[name])
    if data.get("stage") == "__first_stage__":
        data["stage"] = Stage.objects.filter(is_active=True).values_list("pk", flat=True).first()
    return data


@pytest.fixture
def north_lead(make_lead: Callable[..., Any], north: Any, alice: Any) -> Any:
    return make_lead(first_name="Nora", team=north, owner=None)


@pytest.mark.parametrize(
    "url",
    ["/", "/board/", "/leads/", "/leads/export.csv", "/leads/1/", "/accounts/password/"],
)
def test_it_sends_anonymous_visitors_to_the_sign_in_page(db: None, url: str) -> None:
    response = Client().get(url)

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


@pytest.mark.parametrize("name", [*LEAD_POSTS, "leads:bulk"])
def test_it_refuses_anonymous_posts_without_changing_anything(name: str, north_lead: Any) -> None:
    args = [] if name == "leads:bulk" else [north_lead.pk]
    bulk = {"lead": [north_lead.pk], "action": "status", "status": "sql", "reason": "x"}
    data = bulk if name == "leads:bulk" else _post_data(name)

    response = Client().post(reverse(name, args=args), data)

    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]
    north_lead.refresh_from_db()
    assert north_lead.status == Status.NEW
    assert not Activity.objects.exists()


def test_it_answers_404_when_carol_opens_a_north_lead(
    client_for: Callable[[Any], Client], carol: Any, north_lead: Any
) -> None:
    response = client_for(carol).get(reverse("leads:detail", args=[north_lead.pk]))

    assert response.status_code == 404
    assert "Nora" not in response.content.decode()


@pytest.mark.parametrize("name", list(LEAD_POSTS))
def test_it_answers_404_when_carol_posts_to_a_north_lead(
    client_for: Callable[[Any], Client], carol: Any, north_lead: Any, name: str
) -> None:
    client = client_for(carol)

    response = client.post(reverse(name, args=[north_lead.pk]), _post_data(name))
    htmx = client.post(
        reverse(name, args=[north_lead.pk]),
        _post_data(name),
        headers={"HX-Request": "true", "HX-Target": "lead-panel"},
    )

    assert response.status_code == 404
    assert htmx.status_code == 404
    north_lead.refresh_from_db()
    assert north_lead.status == Status.NEW
    assert north_lead.stage_id is None
    assert not Activity.objects.exists()
    assert not LeadChange.objects.exists()


def test_it_answers_404_when_bob_opens_a_lead_another_rep_owns(
    client_for: Callable[[Any], Client],
    bob: Any,
    dave: Any,
    north: Any,
    make_lead: Callable[..., Any],
) -> None:
    daves = make_lead(first_name="Dana", team=north, owner=dave)
    client = client_for(bob)

    assert client.get(reverse("leads:detail", args=[daves.pk])).status_code == 404
    assert (
        client.post(reverse("leads:disqualify", args=[daves.pk]), {"reason": "x"}).status_code
        == 404
    )
    assert "Dana" not in client.get("/leads/").content.decode()


def test_it_refuses_a_bulk_change_that_includes_a_lead_out_of_scope(
    client_for: Callable[[Any], Client],
    carol: Any,
    south: Any,
    north_lead: Any,
    make_lead: Callable[..., Any],
) -> None:
    own = make_lead(first_name="Sam", team=south, owner=carol)

    response = client_for(carol).post(
        reverse("leads:bulk"),
        {
            "lead": [own.pk, north_lead.pk],
            "action": "status",
            "status": "sql",
            "reason": "Asked for a quote",
            "next": "/leads/",
        },
    )

    assert response.status_code == 302
    own.refresh_from_db()
    north_lead.refresh_from_db()
    assert own.status == Status.NEW
    assert north_lead.status == Status.NEW
    assert not LeadChange.objects.exists()


def test_it_shows_each_role_exactly_its_leads(
    client_for: Callable[[Any], Client],
    admin_user: Any,
    alice: Any,
    bob: Any,
    carol: Any,
    dave: Any,
    north: Any,
    south: Any,
    make_lead: Callable[..., Any],
) -> None:
    bobs = make_lead(first_name="Bobslead", team=north, owner=bob)
    daves = make_lead(first_name="Daveslead", team=north, owner=dave)
    unassigned = make_lead(first_name="Freelead", team=north, owner=None)
    southern = make_lead(first_name="Southlead", team=south, owner=carol)
    merged = make_lead(first_name="Mergedlead", team=north, owner=bob, merged_into=bobs)
    expected = {
        admin_user: {bobs, daves, unassigned, southern},
        alice: {bobs, daves, unassigned},
        bob: {bobs, unassigned},
        carol: {southern},
    }
    everyone = {bobs, daves, unassigned, southern, merged}

    for user, visible in expected.items():
        client = client_for(user)
        html = client.get("/leads/").content.decode()
        for lead in everyone:
            assert (lead.first_name in html) == (lead in visible), (user, lead.first_name)
            status = client.get(reverse("leads:detail", args=[lead.pk])).status_code
            assert status == (200 if lead in visible else 404), (user, lead.first_name)


def test_it_hides_the_admin_link_from_reps_and_shows_it_to_staff(
    client_for: Callable[[Any], Client], bob: Any, admin_user: Any
) -> None:
    assert "/admin/" not in client_for(bob).get("/").content.decode()
    assert "/admin/" in client_for(admin_user).get("/").content.decode()


def test_it_exports_only_the_leads_in_scope(
    client_for: Callable[[Any], Client], carol: Any, north_lead: Any, south: Any, make_lead: Any
) -> None:
    make_lead(first_name="Sam", team=south, owner=carol)

    body = b"".join(client_for(carol).get("/leads/export.csv").streaming_content).decode()

    assert "Sam" in body
    assert "Nora" not in body
    assert Lead.objects.count() == 2


def test_it_sends_an_expired_htmx_request_to_the_sign_in_page_as_a_full_reload(
    db: None,
) -> None:
    response = Client().get(
        "/leads/?status=sql",
        headers={
            "HX-Request": "true",
            "HX-Target": "results",
            "HX-Current-URL": "http://testserver/leads/?status=sql",
        },
    )

    assert response.status_code == 204
    assert response["HX-Redirect"] == "/accounts/login/?next=%2Fleads%2F%3Fstatus%3Dsql"
