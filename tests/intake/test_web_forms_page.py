"""The web forms page: list, create, edit and copy the embed snippet."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from leadsieve.leads.models import Campaign, Source
from leadsieve.webforms.models import WebForm

FIELDS = [{"name": "email", "required": True}, {"name": "first_name", "label": "First name"}]


def _data(**overrides: Any) -> dict[str, Any]:
    data = {
        "name": "Spring demo",
        "slug": "spring-demo",
        "fields_json": json.dumps(FIELDS),
        "source": "",
        "campaign": "",
        "team": "",
        "thank_you_url": "",
        "thank_you_message": "Thanks!",
        "consent_text": "",
        "allowed_origins_text": "",
        "is_active": "on",
    }
    data.update(overrides)
    return data


@pytest.fixture
def admin_client(client_for: Callable[[Any], Client], admin_user: Any) -> Client:
    return client_for(admin_user)


def test_it_refuses_a_field_list_the_endpoint_cannot_serve(admin_client: Client) -> None:
    fields = json.dumps([{"name": "salary"}, {"name": "email", "type": "checkbox"}])

    response = admin_client.post("/intake/forms/new/", _data(fields_json=fields))

    page = response.content.decode()
    assert response.status_code == 422
    assert "Fields:" in page and "field 1: &#x27;salary&#x27; is not a form field" in page
    assert "field 2: email must use type email" in page
    assert not WebForm.objects.exists()


def test_it_refuses_text_that_is_not_json(admin_client: Client) -> None:
    response = admin_client.post("/intake/forms/new/", _data(fields_json="[{name: email"))

    assert response.status_code == 422
    assert "Fields: Enter a valid JSON." in response.content.decode()


def test_it_refuses_bad_origins_a_taken_slug_and_a_foreign_campaign(admin_client: Client) -> None:
    WebForm.objects.create(name="Old", slug="spring-demo")
    fair = Source.objects.create(name="Fair")
    ads = Source.objects.create(name="Ads")
    campaign = Campaign.objects.create(source=ads, name="Search")

    response = admin_client.post(
        "/intake/forms/new/",
        _data(allowed_origins_text="www.example.com", source=fair.pk, campaign=campaign.pk),
    )

    page = response.content.decode()
    assert response.status_code == 422
    assert "Allowed origins: &#x27;www.example.com&#x27; is not an origin" in page
    assert "Slug: Web form with this Slug already exists." in page
    assert "Campaign: This campaign belongs to Ads." in page


def test_an_admin_creates_a_form_and_gets_its_snippet(admin_client: Client, north: Any) -> None:
    fair = Source.objects.create(name="Fair")

    response = admin_client.post(
        "/intake/forms/new/",
        _data(
            source=fair.pk,
            team=north.pk,
            allowed_origins_text="https://www.example.com\n\nhttps://shop.example.com/",
        ),
    )

    web_form = WebForm.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/intake/forms/{web_form.pk}/"
    assert web_form.fields == FIELDS and web_form.source == fair and web_form.team == north
    assert web_form.allowed_origins == ["https://www.example.com", "https://shop.example.com/"]
    page = admin_client.get(response["Location"]).content.decode()
    assert "Embed snippet" in page
    assert "action=&quot;http://testserver/f/spring-demo/&quot;" in page  # escaped in the textarea
    assert 'data-copy="#embed-snippet"' in page
    assert "https://www.example.com\nhttps://shop.example.com/" in page


def test_a_manager_form_always_belongs_to_her_team(
    client_for: Callable[[Any], Client], alice: Any, north: Any, south: Any
) -> None:
    response = client_for(alice).post("/intake/forms/new/", _data(team=south.pk))

    assert response.status_code == 302
    assert WebForm.objects.get().team == north


def test_editing_keeps_the_slug_unique_check_to_other_forms(admin_client: Client) -> None:
    web_form = WebForm.objects.create(name="Old", slug="spring-demo", fields=FIELDS)

    response = admin_client.post(f"/intake/forms/{web_form.pk}/", _data(name="Renamed"))

    assert response.status_code == 302
    web_form.refresh_from_db()
    assert web_form.name == "Renamed"


def test_names_are_shown_as_text(admin_client: Client) -> None:
    WebForm.objects.create(name="<img src=x onerror=alert(1)>", slug="xss", fields=FIELDS)

    page = admin_client.get("/intake/forms/").content.decode()

    assert "<img src=x" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page


def test_a_new_form_starts_with_sensible_fields(admin_client: Client) -> None:
    page = admin_client.get("/intake/forms/new/").content.decode()

    assert "&quot;name&quot;: &quot;email&quot;" in page
    assert "Embed snippet" not in page


def test_the_form_list_has_a_bounded_number_of_queries(
    admin_client: Client, north: Any, django_assert_max_num_queries: Any
) -> None:
    source = Source.objects.create(name="Fair")
    campaign = Campaign.objects.create(source=source, name="Spring")
    for n in range(15):
        WebForm.objects.create(
            name=f"Form {n}", slug=f"form-{n}", source=source, campaign=campaign, team=north
        )

    with django_assert_max_num_queries(5):
        response = admin_client.get("/intake/forms/")

    assert response.content.decode().count("/f/form-") == 30


def test_the_editor_sets_the_forms_look_and_refuses_a_bad_logo(admin_client: Client) -> None:
    import io

    from PIL import Image

    picture = io.BytesIO()
    Image.new("RGB", (900, 300), (15, 118, 110)).save(picture, format="PNG")
    picture.seek(0)
    picture.name = "logo.png"
    look = {"intro": "Answers within the hour.", "submit_label": "Book a demo"}
    response = admin_client.post(
        "/intake/forms/new/", _data(**look, accent_color="#0f766e", logo_file=picture)
    )
    assert response.status_code == 302
    web_form = WebForm.objects.get()
    assert (web_form.intro, web_form.submit_label) == (look["intro"], look["submit_label"])
    assert web_form.accent_color == "#0f766e" and bytes(web_form.logo).startswith(b"\x89PNG")
    edit_page = admin_client.get(response["Location"]).content.decode()
    assert f'src="/f/{web_form.slug}/logo.png"' in edit_page

    not_a_picture = io.BytesIO(b"MZ\x90\x00 an executable")
    not_a_picture.name = "logo.png"
    refused = admin_client.post(
        response["Location"],
        _data(**look, accent_color="blue", logo_file=not_a_picture),
    )
    page = refused.content.decode()
    assert refused.status_code == 422
    assert "not a picture LeadSieve can read" in page
    assert "Enter a colour as # and six hex digits" in page
    web_form.refresh_from_db()
    assert bytes(web_form.logo).startswith(b"\x89PNG") and web_form.accent_color == "#0f766e"

    removed = admin_client.post(
        response["Location"], _data(**look, accent_color="", remove_logo="on")
    )
    assert removed.status_code == 302
    web_form.refresh_from_db()
    assert web_form.logo is None and web_form.accent_color == ""
    css = admin_client.get(f"/f/{web_form.slug}/theme.css").content.decode()
    assert "--ls-accent: #1d4ed8" in css  # blank colour: the default
