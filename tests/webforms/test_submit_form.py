"""A visitor fills the form: failure paths first, then the lead, its touch and its origin."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

JSON = {"HTTP_ACCEPT": "application/json"}


@pytest.fixture
def client() -> Client:
    # enforce_csrf_checks: the snippet posts cross-site without a token, and must work.
    return Client(enforce_csrf_checks=True)


def test_it_answers_404_for_an_unknown_or_inactive_form(client: Client, web_form: Any) -> None:
    assert client.get("/f/nope/").status_code == 404
    web_form.is_active = False
    web_form.save()
    assert client.get("/f/contact/").status_code == 404


def test_it_lists_every_invalid_field_with_its_message(
    client: Client, web_form: Any, good_post: dict[str, str]
) -> None:
    from leadsieve.leads.models import Lead

    post = {**good_post, "first_name": "", "consent": "", "custom.industry": "Mining"}
    response = client.post("/f/contact/", post, **JSON)
    assert response.status_code == 422
    fields = {error["field"] for error in response.json()["errors"]}
    assert fields == {"first_name", "consent", "custom.industry"}
    assert Lead.objects.count() == 0


def test_it_names_an_invalid_email_found_by_capture(
    client: Client, web_form: Any, good_post: dict[str, str]
) -> None:
    from leadsieve.leads.models import Lead

    response = client.post("/f/contact/", {**good_post, "email": "not-an-email"}, **JSON)
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["email"]
    assert Lead.objects.count() == 0


def test_it_re_renders_the_form_with_messages_for_browsers(
    client: Client, web_form: Any, good_post: dict[str, str]
) -> None:
    response = client.post("/f/contact/", {**good_post, "email": "nope", "phone": "12"})
    assert response.status_code == 422
    page = response.content.decode()
    assert "Enter a valid email address" in page
    assert "phone" in page
    assert 'value="ada"' in page  # what the visitor typed is kept


def test_it_rejects_unknown_and_repeated_fields(
    client: Client, web_form: Any, good_post: dict[str, str]
) -> None:
    from leadsieve.leads.models import Lead

    response = client.post("/f/contact/", {**good_post, "is_admin": "1", "owner": "1"}, **JSON)
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert {e["field"] for e in errors} == {"is_admin", "owner"}
    assert all(e["message"] == "Unknown field." for e in errors)
    body = "email=a%40b.org&email=c%40d.org&first_name=A&consent=on"
    response = client.post(
        "/f/contact/", body, content_type="application/x-www-form-urlencoded", **JSON
    )
    assert response.status_code == 422
    assert {"field": "email", "message": "Sent more than once."} in response.json()["errors"]
    assert Lead.objects.count() == 0


def test_it_refuses_over_long_values_instead_of_truncating(
    client: Client, web_form: Any, good_post: dict[str, str]
) -> None:
    response = client.post("/f/contact/", {**good_post, "first_name": "x" * 151}, **JSON)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "first_name"


def test_it_refuses_a_post_from_an_origin_not_allowed(
    client: Client, web_form: Any, good_post: dict[str, str]
) -> None:
    web_form.allowed_origins = ["https://www.example.org"]
    web_form.save()
    refused = client.post("/f/contact/", good_post, HTTP_ORIGIN="https://evil.example", **JSON)
    assert refused.status_code == 403
    allowed = client.post("/f/contact/", good_post, HTTP_ORIGIN="https://www.example.org", **JSON)
    assert allowed.status_code == 201


def test_it_serves_the_form_page_with_its_fields_and_no_external_asset(
    client: Client, web_form: Any
) -> None:
    response = client.get("/f/contact/")
    assert response.status_code == 200
    page = response.content.decode()
    for name in ("first_name", "email", "custom.industry", "consent", "utm_source", "fax"):
        assert f'name="{name}"' in page
    assert "I agree to be contacted." in page
    # Its stylesheets and script are LeadSieve's own files, none inline (the CSP).
    assets = re.findall(r'(?:src|href)="([^"]*)"', page)
    assert sorted(assets) == [
        "/f/contact/theme.css",
        "/static/leadsieve/icon.svg",
        "/static/webforms/form.css",
        "/static/webforms/tracking.js",
    ]
    assert "<script>" not in page and "<style" not in page and "style=" not in page
    assert "form-action" not in response["Content-Security-Policy"]
    assert "script-src 'self'" in response["Content-Security-Policy"]


def test_it_captures_a_lead_with_its_origin_touch_and_consent(
    client: Client, web_form: Any, good_post: dict[str, str], source: Any, campaign: Any
) -> None:
    from leadsieve.leads.models import Activity, ActivityKind, Channel, Lead

    response = client.post("/f/contact/", good_post)
    assert response.status_code == 303
    assert response["Location"] == "/f/contact/thanks/"
    lead = Lead.objects.get()
    assert (lead.first_name, lead.email_key) == ("Ada", "ada@example.org")
    assert lead.created_via == Channel.WEB_FORM
    assert (lead.source, lead.campaign) == (source, campaign)
    assert lead.consent and lead.consent_text == "I agree to be contacted."
    assert lead.custom == {"industry": "SaaS", "seats": 12}
    assert lead.utm_source == "newsletter"
    activity = Activity.objects.get(lead=lead)
    assert activity.kind == ActivityKind.FORM_SUBMIT
    assert activity.payload["form"] == "contact"
    assert activity.payload["utm_source"] == "newsletter"
    assert activity.payload["referrer"] == "https://news.example.net/"
    assert activity.payload["landing_page"].startswith("https://www.example.org/pricing")
    thanks = client.get(response["Location"])
    assert thanks.status_code == 200


def test_it_answers_json_when_asked(
    client: Client, web_form: Any, good_post: dict[str, str]
) -> None:
    response = client.post("/f/contact/", good_post, **JSON)
    assert response.status_code == 201
    assert response.json() == {"ok": True, "redirect": "/f/contact/thanks/"}


def test_it_redirects_to_the_forms_own_thank_you_url(
    client: Client, web_form: Any, good_post: dict[str, str]
) -> None:
    web_form.thank_you_url = "https://www.example.org/thanks"
    web_form.save()
    response = client.post("/f/contact/", good_post)
    assert response.status_code == 303
    assert response["Location"] == "https://www.example.org/thanks"


def test_a_second_post_with_the_same_email_in_another_case_touches_the_same_lead(
    client: Client, web_form: Any, good_post: dict[str, str]
) -> None:
    from leadsieve.leads.models import Activity, Lead

    first = client.post("/f/contact/", good_post, **JSON)
    again = {**good_post, "email": "ADA@example.ORG", "job_title": "Countess"}
    second = client.post("/f/contact/", again, **JSON)
    assert first.json() == second.json()  # a merge answers exactly like a capture
    first = Lead.objects.get().pk
    assert Lead.objects.filter(merged_into__isnull=True).count() == 1
    assert Activity.objects.filter(lead_id=first).count() == 2
    assert Lead.objects.get(pk=first).job_title == "Countess"


def test_a_post_merges_into_a_lead_of_any_team_and_answers_as_a_new_capture_does(
    client: Client, web_form: Any, good_post: dict[str, str], make_lead: Any, bob: Any
) -> None:
    from leadsieve.leads.models import Activity, DuplicateCandidate, Lead

    bobs = make_lead(email="ada@example.org", email_key="ada@example.org", team=bob.team)
    fresh = client.post("/f/contact/", {**good_post, "email": "grace@example.org"}, **JSON)

    merged = client.post("/f/contact/", good_post, **JSON)  # a public form has no scope

    assert merged.status_code == fresh.status_code and merged.json() == fresh.json()
    assert Lead.objects.count() == 2
    assert Activity.objects.filter(lead=bobs).count() == 1
    assert not DuplicateCandidate.objects.exists()


def test_it_works_cross_site_without_a_csrf_token(
    client: Client, web_form: Any, good_post: dict[str, str]
) -> None:
    response = client.post(
        "/f/contact/",
        good_post,
        HTTP_ORIGIN="https://www.example.org",
        HTTP_REFERER="https://www.example.org/contact",
    )
    assert response.status_code == 303


def test_a_hand_broken_field_list_answers_503_not_500(client: Client, web_form: Any) -> None:
    from leadsieve.webforms.models import WebForm

    WebForm.objects.filter(pk=web_form.pk).update(fields=[{"name": "owner"}])
    assert client.get("/f/contact/").status_code == 503
    assert client.post("/f/contact/", {"email": "a@b.org"}, **JSON).status_code == 503


def test_a_non_numeric_content_length_is_refused(client: Client, web_form: Any) -> None:
    response = client.post("/f/contact/", {"email": "a@b.org"}, CONTENT_LENGTH="12abc", **JSON)
    assert response.status_code == 400


def test_a_budget_field_is_captured_as_money(
    client: Client, web_form: Any, good_post: dict[str, str]
) -> None:
    from decimal import Decimal

    from leadsieve.leads.models import Lead

    web_form.fields = [*web_form.fields, {"name": "budget"}, {"name": "timeline"}]
    web_form.save()
    post = {**good_post, "budget": "12500.50", "timeline": "quarter"}
    assert client.post("/f/contact/", post, **JSON).status_code == 201
    lead = Lead.objects.get()
    assert (lead.budget, lead.timeline) == (Decimal("12500.50"), "quarter")
    bad = client.post("/f/contact/", {**good_post, "budget": "lots"}, **JSON)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "budget"
