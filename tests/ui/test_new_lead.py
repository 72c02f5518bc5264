"""Manual entry (/leads/new/): a lead typed in by hand goes through capture like any other,
and merges only into a lead the person can see."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.test import Client
from django.urls import reverse

from leadsieve.leads.models import Channel, DuplicateCandidate, Lead
from tests.leads.scope import NORTH_IDENTITY, footprint, make_north_lead, secrets_in

URL = reverse("leads:new")


def test_anonymous_visitors_are_sent_to_sign_in(client: Client, db: None) -> None:
    assert client.get(URL)["Location"].startswith("/accounts/login/")
    assert client.post(URL, {"email": "a@b.test"})["Location"].startswith("/accounts/login/")
    assert not Lead.objects.exists()


def test_it_refuses_a_lead_without_identity_or_with_a_bad_email_naming_the_field(
    client_for: Callable[[Any], Client], bob: Any
) -> None:
    client = client_for(bob)
    empty = client.post(URL, {"city": "Lyon"})
    bad = client.post(URL, {"email": "ada-at-example", "first_name": "Ada"})

    assert empty.status_code == bad.status_code == 400
    assert "A lead needs an email, a phone, an external id or a name." in empty.content.decode()
    assert "Enter a valid email address" in bad.content.decode()
    assert not Lead.objects.exists()


def test_it_creates_a_lead_in_the_users_team_and_opens_it(
    client_for: Callable[[Any], Client], bob: Any, north: Any
) -> None:
    client = client_for(bob)
    assert client.get(URL).status_code == 200
    assert URL in client.get(reverse("leads:list")).content.decode()

    response = client.post(URL, {"first_name": "ada", "email": " Ada@Example.org ", "city": "Lyon"})

    lead = Lead.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("leads:detail", args=[lead.pk])
    assert (lead.first_name, lead.email_key, lead.team) == ("Ada", "ada@example.org", north)
    assert lead.created_via == Channel.MANUAL
    assert client.get(response["Location"]).status_code == 200


def test_an_identity_of_another_team_makes_a_lead_of_ones_own_and_reveals_nothing(
    client_for: Callable[[Any], Client], carol: Any, bob: Any, north: Any, make_lead: Any
) -> None:
    nora = make_north_lead(make_lead, north, owner=bob)
    before = footprint(nora)

    response = client_for(carol).post(
        URL, {"email": NORTH_IDENTITY["email"], "city": "Evilcity"}, follow=True
    )

    new = Lead.objects.exclude(pk=nora.pk).get()
    assert response.redirect_chain == [(reverse("leads:detail", args=[new.pk]), 302)]
    page = response.content.decode()
    assert "Lead created." in page and secrets_in(page) == []
    assert new.team == carol.team and new.city == "Evilcity"
    assert footprint(nora) == before
    assert list(DuplicateCandidate.objects.values_list("lead_id", "duplicate_of_id")) == [
        (new.pk, nora.pk)
    ]


def test_an_identity_in_scope_merges_into_that_lead(
    client_for: Callable[[Any], Client], bob: Any, north: Any, make_lead: Any
) -> None:
    unassigned = make_north_lead(make_lead, north)

    response = client_for(bob).post(URL, {"phone": "(415) 555-0100", "city": "Lyon"})

    assert response["Location"] == reverse("leads:detail", args=[unassigned.pk])
    assert Lead.objects.count() == 1
    assert Lead.objects.get().city == "Lyon"
