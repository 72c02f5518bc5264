"""Response headers every answer shares: the Content-Security-Policy, no caching of personal
data, and HTTPS (redirect, HSTS) with the web form and the API still working behind a proxy.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

PACKAGE = Path(__file__).resolve().parents[2] / "leadsieve"
# The embeddable snippet is pasted into other sites, which set their own policy: it carries
# its script and its honeypot's style inline on purpose (webforms/embed.py).
SNIPPET_ONLY = {"webforms/snippet.html"}


@pytest.fixture
def bob_client(bob: Any) -> Client:
    client = Client()
    client.force_login(bob)
    return client


def test_every_page_carries_a_policy_without_inline_script_or_style(
    db: None, bob_client: Client
) -> None:
    for response in (Client().get("/accounts/login/"), bob_client.get("/leads/")):
        policy = response["Content-Security-Policy"]
        directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
        assert directives["default-src"] == "'self'"
        assert directives["script-src"] == "'self'"
        assert directives["style-src"] == "'self'"
        assert directives["object-src"] == "'none'"
        assert directives["frame-ancestors"] == "'none'"
        assert "unsafe" not in policy


def test_no_template_has_an_inline_script_handler_or_style() -> None:
    inline = re.compile(
        r"<script(?![^>]*\bsrc=)[^>]*>|<style|\son[a-z]+\s*=|\shx-on|style=\"|javascript:",
        re.IGNORECASE,
    )
    found = []
    for template in PACKAGE.glob("**/templates/**/*.html"):
        name = template.as_posix().split("/templates/", 1)[1]
        text = template.read_text(encoding="utf-8")
        if name == "webforms/_fields.html":  # inline style only in the snippet's branch
            text = re.sub(r"\{% if is_snippet %\}.*?\{% else %\}", "", text, flags=re.DOTALL)
        if name not in SNIPPET_ONLY:
            found += [f"{name}: {m.group(0)}" for m in inline.finditer(text)]

    assert found == []


def test_pages_api_answers_and_redirects_are_not_cached(
    db: None, bob_client: Client, bob: Any
) -> None:
    from leadsieve.api.services import create_api_token

    _, token = create_api_token(bob, name="tests")
    answers = {
        "page": bob_client.get("/leads/"),
        "fragment": bob_client.get("/leads/", HTTP_HX_REQUEST="true"),
        "not found": bob_client.get("/leads/999999/"),
        "redirect": Client().get("/leads/"),
        "sign-in page": Client().get("/accounts/login/"),
        "api": Client().get("/api/v1/leads", HTTP_AUTHORIZATION=f"Bearer {token}"),
        "api refusal": Client().get("/api/v1/leads"),
    }

    # The sign-in page keeps Django's never_cache, which says more but means the same.
    assert {name: r["Cache-Control"] for name, r in answers.items()} == {
        **{name: "private, no-store" for name in answers},
        "sign-in page": "max-age=0, no-cache, no-store, must-revalidate, private",
    }


@pytest.fixture
def web_form(db: None) -> Any:
    from leadsieve.webforms.models import WebForm

    fields = [{"name": "email", "label": "Email", "required": True}, {"name": "first_name"}]
    return WebForm.objects.create(name="Contact", slug="contact", fields=fields)


def test_the_public_web_form_page_may_be_cached_but_not_its_answers(web_form: Any) -> None:
    page = Client().get("/f/contact/")
    posted = Client().post("/f/contact/", {"email": "not an email", "first_name": "Ada"})

    assert page["Cache-Control"] == "public, max-age=300"
    assert posted.status_code == 422  # the page again, with what was typed
    assert posted["Cache-Control"] == "private, no-store"


@pytest.fixture
def https_behind_proxy(settings: Any) -> None:
    """What LEADSIEVE_HTTPS=true and LEADSIEVE_PROXY_SSL_HEADER=X-Forwarded-Proto set."""
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 31_536_000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = True
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")


VIA_TLS_PROXY = {"HTTP_X_FORWARDED_PROTO": "https"}


def test_plain_http_is_redirected_to_https(db: None, https_behind_proxy: None) -> None:
    response = Client().get("/accounts/login/")

    assert response.status_code == 301
    assert response["Location"] == "https://testserver/accounts/login/"


def test_the_web_form_and_the_api_work_through_a_tls_proxy_with_hsts(
    https_behind_proxy: None, web_form: Any, bob: Any
) -> None:
    from leadsieve.api.services import create_api_token
    from leadsieve.leads.models import Lead

    _, token = create_api_token(bob, name="tests")
    page = Client().get("/f/contact/", **VIA_TLS_PROXY)  # type: ignore[arg-type]
    posted = Client().post(
        "/f/contact/",
        {"email": "ada@example.org", "first_name": "Ada"},
        **VIA_TLS_PROXY,  # type: ignore[arg-type]
    )
    api = Client().post(
        "/api/v1/leads",
        {"email": "api@example.org", "first_name": "Api"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
        **VIA_TLS_PROXY,  # type: ignore[arg-type]
    )

    assert page.status_code == 200
    assert (posted.status_code, posted["Location"]) == (303, "/f/contact/thanks/")
    assert api.status_code == 201, api.content
    for response in (page, posted, api):
        assert response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    assert set(Lead.objects.values_list("email", flat=True)) == {
        "ada@example.org",
        "api@example.org",
    }


def test_sign_in_cookies_are_secure_over_https(
    db: None, https_behind_proxy: None, bob: Any
) -> None:
    from tests.conftest import PASSWORD

    client = Client()
    client.get("/accounts/login/", **VIA_TLS_PROXY)  # type: ignore[arg-type]
    response = client.post(
        "/accounts/login/",
        {"username": "bob", "password": PASSWORD},
        **VIA_TLS_PROXY,  # type: ignore[arg-type]
    )

    assert response.status_code == 302
    assert response.cookies["sessionid"]["secure"] is True
    assert client.cookies["csrftoken"]["secure"] is True
