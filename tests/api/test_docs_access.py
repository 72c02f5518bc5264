"""The API docs and schema (issue #16, finding 9): a signed-in user or a token reads them;
anyone else is refused unless ``LEADSIEVE_API_DOCS_PUBLIC`` is on.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

DOCS = "/api/v1/docs"
SCHEMA = "/api/v1/openapi.json"


def test_an_anonymous_script_gets_a_json_401_for_the_schema_and_the_docs() -> None:
    for path in (SCHEMA, DOCS):
        response = Client().get(path)
        assert response.status_code == 401, path
        assert response["WWW-Authenticate"] == "Bearer"
        assert response.json()["errors"][0]["field"] == "Authorization"


def test_an_anonymous_browser_is_sent_to_sign_in_first() -> None:
    response = Client().get(DOCS, HTTP_ACCEPT="text/html,application/xhtml+xml")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/api/v1/docs"


def test_an_unknown_or_revoked_token_cannot_read_the_schema(bob: Any) -> None:
    from leadsieve.api.services import create_api_token, revoke_api_token

    token, raw = create_api_token(bob)
    revoke_api_token(token)
    for value in (f"Bearer {raw}", "Bearer ls_nope_nope", raw):
        assert Client().get(SCHEMA, HTTP_AUTHORIZATION=value).status_code == 401, value


def test_a_token_reads_the_schema(bob: Any) -> None:
    from leadsieve.api.services import create_api_token

    _, raw = create_api_token(bob)
    response = Client().get(SCHEMA, HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert response.status_code == 200
    assert "/api/v1/leads" in response.json()["paths"]


def test_a_signed_in_user_reads_the_docs_and_the_schema(bob: Any) -> None:
    client = Client()
    client.force_login(bob)
    assert client.get(DOCS).status_code == 200
    assert client.get(SCHEMA).status_code == 200


def test_the_docs_are_public_with_the_setting(settings: Any) -> None:
    settings.LEADSIEVE_API_DOCS_PUBLIC = True
    assert Client().get(SCHEMA).status_code == 200
    assert Client().get(DOCS).status_code == 200
