"""Every byte is hostile: honeypot, rate limit, size limit, and markup stored as text."""

from __future__ import annotations

from typing import Any

import pytest
import time_machine
from django.test import Client

JSON = {"HTTP_ACCEPT": "application/json"}
SCRIPT = '<script>alert("x")</script><b onmouseover=alert(1)>&amp;'


@pytest.fixture
def client() -> Client:
    return Client(enforce_csrf_checks=True)


def test_a_filled_honeypot_pretends_success_and_stores_nothing(
    client: Client, web_form: Any, good_post: dict[str, str]
) -> None:
    from leadsieve.leads.models import Activity, Lead

    response = client.post("/f/contact/", {**good_post, "fax": "+1 555 0100"})
    assert response.status_code == 303
    assert response["Location"] == "/f/contact/thanks/"
    as_json = client.post("/f/contact/", {**good_post, "fax": "1"}, HTTP_ACCEPT="application/json")
    assert (as_json.status_code, as_json.json()) == (
        201,
        {"ok": True, "redirect": "/f/contact/thanks/"},
    )
    assert Lead.objects.count() == 0 and Activity.objects.count() == 0


def test_it_answers_429_with_retry_after_past_the_per_ip_limit(
    client: Client, web_form: Any, good_post: dict[str, str], settings: Any
) -> None:
    from leadsieve.leads.models import Lead

    settings.LEADSIEVE_FORM_RATE_LIMIT = 3
    settings.LEADSIEVE_FORM_RATE_WINDOW = 60
    with time_machine.travel("2026-03-02 10:00:05+00:00", tick=False):
        statuses = [
            client.post("/f/contact/", {**good_post, "email": f"p{i}@example.org"}, **JSON)
            for i in range(4)
        ]
        assert [r.status_code for r in statuses] == [201, 201, 201, 429]
        assert statuses[-1]["Retry-After"] == "20"  # a token back every 60 s / 3
        assert statuses[-1].json()["errors"][0]["field"] == "form"
        other_ip = client.post(
            "/f/contact/", {**good_post, "email": "q@example.org"}, REMOTE_ADDR="10.0.0.9", **JSON
        )
        assert other_ip.status_code == 201
    with time_machine.travel("2026-03-02 10:01:00+00:00", tick=False):
        later = client.post("/f/contact/", {**good_post, "email": "r@example.org"}, **JSON)
        assert later.status_code == 201
    assert Lead.objects.count() == 5


def test_it_refuses_an_oversize_body_with_413_before_reading_it(
    client: Client, web_form: Any, good_post: dict[str, str], settings: Any
) -> None:
    from leadsieve.leads.models import Lead

    settings.LEADSIEVE_FORM_MAX_BODY_BYTES = 2048
    response = client.post("/f/contact/", {**good_post, "need": "x" * 4000}, **JSON)
    assert response.status_code == 413
    assert response.json()["errors"][0]["field"] == "body"
    assert Lead.objects.count() == 0


def test_markup_in_every_text_field_is_stored_literally_and_escaped_on_the_error_page(
    client: Client, web_form: Any, good_post: dict[str, str]
) -> None:
    from leadsieve.leads.models import Lead

    text_fields = ("first_name", "last_name", "company_name", "job_title", "need")
    hostile = {**good_post, **{name: SCRIPT for name in text_fields}}
    # Invalid on purpose (no consent): the page echoes every value back.
    page = client.post("/f/contact/", {**hostile, "consent": ""}).content.decode()
    assert "<script>alert" not in page
    assert "onmouseover=alert(1)>" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    assert client.post("/f/contact/", hostile).status_code == 303
    lead = Lead.objects.get()
    for name in ("company_name", "job_title", "need"):
        assert getattr(lead, name) == SCRIPT, name
    # Names are title-cased by capture, never unescaped or stripped of markup.
    assert lead.first_name.lower() == lead.last_name.lower() == SCRIPT.lower()
    thanks = client.get("/f/contact/thanks/").content.decode()
    assert "<script>alert" not in thanks


def test_an_unknown_field_name_with_markup_is_escaped_on_the_error_page(
    client: Client, web_form: Any, good_post: dict[str, str]
) -> None:
    response = client.post("/f/contact/", {**good_post, "<img src=x onerror=alert(1)>": "1"})
    assert response.status_code == 422
    page = response.content.decode()
    assert "<img src=x" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page


def test_nul_bytes_are_refused_not_stored(
    client: Client, web_form: Any, good_post: dict[str, str]
) -> None:
    response = client.post("/f/contact/", {**good_post, "last_name": "a\x00b"}, **JSON)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "last_name"


def test_an_uploaded_file_is_refused(
    client: Client, web_form: Any, good_post: dict[str, str]
) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    from leadsieve.leads.models import Lead

    upload = SimpleUploadedFile("cv.exe", b"MZ...", content_type="application/octet-stream")
    response = client.post("/f/contact/", {**good_post, "need": upload}, **JSON)
    assert response.status_code == 422
    assert {"field": "need", "message": "Files are not accepted."} in response.json()["errors"]
    assert Lead.objects.count() == 0
