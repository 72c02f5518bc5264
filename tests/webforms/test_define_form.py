"""Defining a form: its field list is checked, and its embeddable snippet renders."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.core.exceptions import ValidationError


def test_it_refuses_unknown_lead_fields_bad_types_and_duplicates(db: None) -> None:
    from leadsieve.webforms.models import WebForm

    form = WebForm(
        name="Bad",
        slug="bad",
        fields=[
            {"name": "owner"},
            {"name": "email", "type": "checkbox"},
            {"name": "custom.Bad Key"},
            {"name": "custom.size", "type": "select"},
            {"name": "first_name"},
            {"name": "first_name"},
        ],
        allowed_origins=["not an origin"],
        thank_you_url="javascript:alert(1)",
    )
    with pytest.raises(ValidationError) as caught:
        form.full_clean()
    errors = caught.value.message_dict
    text = " ".join(errors["fields"])
    assert "field 1: 'owner' is not a form field" in text
    assert "field 2: email must use type email" in text
    assert "field 3" in text and "field 4" in text and "field 6: first_name appears twice" in text
    assert "allowed_origins" in errors and "thank_you_url" in errors


def test_the_snippet_posts_to_the_public_url_with_honeypot_and_utm_fields(web_form: Any) -> None:
    from leadsieve.webforms.embed import snippet_for

    html = snippet_for(web_form, "https://leads.example.com/")
    assert '<form method="post" action="https://leads.example.com/f/contact/"' in html
    for name in ("first_name", "email", "custom.industry", "consent", "fax", "utm_source"):
        assert f'name="{name}"' in html
    assert "URLSearchParams" in html  # fills the UTM fields from the page URL
    assert not re.search(r"(src|href)=", html)  # no external asset
    assert "csrfmiddlewaretoken" not in html


def test_the_admin_page_shows_the_snippet(admin_user: Any, web_form: Any) -> None:
    from django.test import Client

    client = Client()
    client.force_login(admin_user)
    page = client.get(f"/admin/webforms/webform/{web_form.pk}/change/").content.decode()
    assert "Embed this form" in page
    assert "http://testserver/f/contact/" in page


def test_the_demo_seed_creates_the_contact_form_once(db: None) -> None:
    import random

    from leadsieve.webforms.demo import seed_demo
    from leadsieve.webforms.models import WebForm

    seed_demo(random.Random(0))
    seed_demo(random.Random(0))
    form = WebForm.objects.get(slug="contact")
    form.full_clean()
    assert WebForm.objects.count() == 1


def test_the_demo_form_asks_for_a_country_so_phone_numbers_read_right(db: None) -> None:
    import random

    from django.test import Client

    from leadsieve.leads.models import Lead
    from leadsieve.webforms.demo import seed_demo

    seed_demo(random.Random(0))
    client = Client()
    page = client.get("/f/contact/").content.decode()
    assert '<select name="country"' in page and '<option value="US">United States</option>' in page
    client.post(
        "/f/contact/",
        {
            "first_name": "Ada",
            "last_name": "Byron",
            "email": "ada@byron.example",
            "company_name": "Engines",
            "country": "US",
            "phone": "(202) 555-0104",
            "consent": "on",
        },
    )
    lead = Lead.objects.get(email="ada@byron.example")
    assert (lead.country, lead.phone) == ("US", "+12025550104")


def test_a_form_saved_with_country_as_text_still_loads(db: None) -> None:
    from leadsieve.webforms.fields import parse_field_specs

    specs = parse_field_specs([{"name": "email"}, {"name": "country", "type": "text"}])
    assert [spec.type for spec in specs] == ["email", "text"]
