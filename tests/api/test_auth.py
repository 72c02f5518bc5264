"""Token authentication: stored hashed, refused when missing, wrong or revoked."""

from __future__ import annotations

import hashlib
from typing import Any

from django.core.management import call_command

from tests.api.conftest import ApiClient


def test_it_answers_401_without_a_token(anonymous_api: ApiClient) -> None:
    response = anonymous_api.get("/leads")
    assert response.status_code == 401
    assert response.json()["errors"][0]["field"] == "Authorization"
    assert response["WWW-Authenticate"] == "Bearer"


def test_it_answers_401_with_an_unknown_or_malformed_token(bob: Any) -> None:
    from leadsieve.api.services import create_api_token

    _, raw = create_api_token(bob)
    forged = raw[:-4] + ("AAAA" if not raw.endswith("AAAA") else "BBBB")
    for token in (forged, "ls_nope", "garbage", "ls_" + "x" * 300):
        assert ApiClient(token).get("/leads").status_code == 401, token


def test_it_answers_401_with_a_revoked_token(bob: Any) -> None:
    from leadsieve.api.services import create_api_token, revoke_api_token

    token, raw = create_api_token(bob)
    assert ApiClient(raw).get("/leads").status_code == 200
    revoke_api_token(token)
    assert ApiClient(raw).get("/leads").status_code == 401


def test_it_answers_401_for_an_inactive_user(bob: Any) -> None:
    from leadsieve.api.services import create_api_token

    _, raw = create_api_token(bob)
    bob.is_active = False
    bob.save()
    assert ApiClient(raw).get("/leads").status_code == 401


def test_the_token_is_stored_only_as_a_sha256_hash(bob: Any) -> None:
    from leadsieve.api.models import ApiToken
    from leadsieve.api.services import create_api_token

    token, raw = create_api_token(bob, name="crm sync")
    stored = ApiToken.objects.get(pk=token.pk)
    assert stored.secret_hash == hashlib.sha256(raw.encode()).hexdigest()
    secret = raw.split("_", 2)[2]
    assert all(secret not in str(value) for value in stored.__dict__.values())
    ApiClient(raw).get("/leads")
    assert ApiToken.objects.get(pk=token.pk).last_used_at is not None


def test_the_command_prints_a_working_token_once(bob: Any, capsys: Any) -> None:
    call_command("create_api_token", user="bob", name="zapier")
    raw = capsys.readouterr().out.strip()
    assert raw.startswith("ls_")
    assert ApiClient(raw).get("/leads").status_code == 200


def test_the_command_refuses_an_unknown_user(db: None) -> None:
    import pytest
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="No user named 'nobody'"):
        call_command("create_api_token", user="nobody")


def test_the_token_its_user_and_team_are_read_in_one_statement(bob: Any) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from leadsieve.api.queries import get_active_token
    from leadsieve.api.services import create_api_token

    token, raw = create_api_token(bob)
    with CaptureQueriesContext(connection) as queries:
        found = get_active_token(raw)
        assert found is not None
        assert (found.pk, found.user.pk, found.user.team.slug) == (token.pk, bob.pk, "north")
        assert found.created_at == token.created_at  # a datetime, converted as the ORM does
        assert found.user.is_active is True and found.last_used_at is None
    assert len(queries) == 1


def test_a_user_moved_to_another_team_acts_for_it_from_the_next_request(
    bob: Any, south: Any
) -> None:
    from leadsieve.api.services import create_api_token

    _, raw = create_api_token(bob)
    client = ApiClient(raw)
    assert client.post("/leads", {"email": "one@acme.example"}).json()["lead"]["team_id"] == (
        bob.team_id
    )
    bob.team = south
    bob.save(update_fields=["team"])
    assert client.post("/leads", {"email": "two@acme.example"}).json()["lead"]["team_id"] == (
        south.pk
    )


def test_a_user_without_a_team_still_authenticates(make_user: Any) -> None:
    from leadsieve.api.queries import get_active_token
    from leadsieve.api.services import create_api_token

    loner = make_user("loner", role="admin")
    _, raw = create_api_token(loner)
    found = get_active_token(raw)
    assert found is not None and found.user.pk == loner.pk and found.user.team is None
