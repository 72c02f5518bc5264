"""Sign-in throttling: repeated failures lock a username out from an address for a while,
on the sign-in page and the admin's alike, and no answer tells whether the user exists.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
import time_machine
from django.test import Client

from tests.conftest import PASSWORD

LOGIN = "/accounts/login/"
ADMIN_LOGIN = "/admin/login/"


@pytest.fixture(autouse=True)
def fast_hashing(settings: Any) -> None:
    """Dozens of sign-ins per test: a fast hasher (the lock-out does not depend on it)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _sign_in(client: Client, username: str, password: str, url: str = LOGIN, **extra: str) -> Any:
    return client.post(url, {"username": username, "password": password}, **extra)  # type: ignore[arg-type]


def _is_signed_in(response: Any) -> bool:
    return "_auth_user_id" in response.wsgi_request.session


def _page(response: Any) -> tuple[int, str]:
    """The answer without what differs on every request (the CSRF token)."""
    text = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", response.content.decode())
    return response.status_code, text


def test_thirty_wrong_passwords_lock_out_the_right_one(db: None, bob: Any) -> None:
    client = Client()

    wrong = [_sign_in(client, "bob", f"guess {n}") for n in range(30)]
    right = _sign_in(client, "bob", PASSWORD)

    # The fifth failure reaches the limit (LEADSIEVE_LOGIN_FAILURE_LIMIT, 5) and is told so.
    assert [r.status_code for r in wrong[:4]] == [200] * 4
    assert {r.status_code for r in wrong[4:]} == {429}
    assert right.status_code == 429
    assert not _is_signed_in(right)
    assert "Sign-in paused" in right.content.decode()
    assert Client().get("/").status_code == 302


def test_the_admin_login_is_locked_out_too(db: None, admin_user: Any) -> None:
    client = Client()

    for n in range(5):
        _sign_in(client, admin_user.username, f"guess {n}", ADMIN_LOGIN)
    right = _sign_in(client, admin_user.username, PASSWORD, ADMIN_LOGIN)

    assert right.status_code == 429
    assert not _is_signed_in(right)
    assert client.get("/admin/").status_code == 302


def test_a_known_and_an_unknown_user_get_the_same_answers_locked_or_not(db: None, bob: Any) -> None:
    known = [_page(_sign_in(Client(), "bob", f"guess {n}")) for n in range(7)]
    unknown = [_page(_sign_in(Client(), "nobody", f"guess {n}")) for n in range(7)]

    assert [status for status, _ in known] == [200] * 4 + [429] * 3
    assert [p.replace("bob", "USER") for _, p in known] == [
        p.replace("nobody", "USER") for _, p in unknown
    ]
    assert [status for status, _ in known] == [status for status, _ in unknown]
    locked_page = known[-1][1]
    assert "bob" not in locked_page  # the lock-out page names nobody


def test_the_lock_out_ends_after_the_cool_off(db: None, bob: Any, settings: Any) -> None:
    client = Client()
    with time_machine.travel("2026-03-02 10:00:00+00:00", tick=False):
        for n in range(5):
            _sign_in(client, "bob", f"guess {n}")
        assert _sign_in(client, "bob", PASSWORD).status_code == 429
    with time_machine.travel("2026-03-02 10:14:00+00:00", tick=False):
        still = _sign_in(client, "bob", PASSWORD)  # a try during the lock restarts the wait
    with time_machine.travel("2026-03-02 10:29:30+00:00", tick=False):
        later = _sign_in(client, "bob", PASSWORD)

    assert still.status_code == 429
    assert later.status_code == 302 and _is_signed_in(later)


def test_it_counts_per_username_and_address(db: None, bob: Any, settings: Any) -> None:
    import ipaddress

    settings.LEADSIEVE_TRUSTED_PROXIES = [ipaddress.ip_network("10.0.0.1/32")]
    attacker = {"REMOTE_ADDR": "10.0.0.1", "HTTP_X_FORWARDED_FOR": "203.0.113.9"}
    office = {"REMOTE_ADDR": "10.0.0.1", "HTTP_X_FORWARDED_FOR": "198.51.100.20"}
    for n in range(5):
        _sign_in(Client(), "bob", f"guess {n}", **attacker)

    # The attacker cannot get rid of the lock by forging a left-most address...
    forged = {**attacker, "HTTP_X_FORWARDED_FOR": "192.0.2.1, 203.0.113.9"}
    assert _sign_in(Client(), "bob", PASSWORD, **forged).status_code == 429
    # ...and bob, signing in from the office, is not locked out by the attacker.
    assert _sign_in(Client(), "bob", PASSWORD, **office).status_code == 302


def test_a_successful_sign_in_clears_the_failures(db: None, bob: Any) -> None:
    client = Client()
    for n in range(4):
        _sign_in(client, "bob", f"guess {n}")
    assert _sign_in(client, "bob", PASSWORD).status_code == 302
    client.post("/accounts/logout/")
    for n in range(4):
        _sign_in(client, "bob", f"guess {n}")

    assert _sign_in(client, "bob", PASSWORD).status_code == 302


@pytest.mark.parametrize("limit", [1, 3])
def test_the_failure_limit_is_a_setting(db: None, bob: Any, settings: Any, limit: int) -> None:
    settings.AXES_FAILURE_LIMIT = limit
    client = Client()
    for n in range(limit):
        _sign_in(client, "bob", f"guess {n}")

    assert _sign_in(client, "bob", PASSWORD).status_code == 429


def test_a_sign_in_without_a_peer_address_is_counted_and_cleared(db: None, bob: Any) -> None:
    """``force_login`` and other in-process sign-ins carry no REMOTE_ADDR (PostgreSQL once
    refused the text "unknown" in axes' address column).
    """
    from axes.models import AccessAttempt

    client = Client()
    _sign_in(client, "bob", "guess", REMOTE_ADDR="")
    assert AccessAttempt.objects.get().ip_address is None
    client.force_login(bob)

    assert AccessAttempt.objects.count() == 0  # the sign-in cleared it
    assert client.get("/").status_code == 200
