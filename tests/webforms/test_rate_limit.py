"""The per-IP form rate limit: a token bucket, keyed on the client seen through trusted proxies."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest
import time_machine
from django.test import Client, RequestFactory

from leadsieve.config.proxies import client_ip

JSON = {"HTTP_ACCEPT": "application/json"}


@pytest.fixture
def limited(settings: Any) -> None:
    settings.LEADSIEVE_FORM_RATE_LIMIT = 3
    settings.LEADSIEVE_FORM_RATE_WINDOW = 60


def _post(client: Client, good_post: dict[str, str], n: int, **extra: str) -> int:
    body = {**good_post, "email": f"p{n}@example.org"}
    return client.post("/f/contact/", body, **JSON, **extra).status_code  # type: ignore[arg-type]


def test_it_refuses_a_second_burst_right_after_a_window_boundary(
    web_form: Any, good_post: dict[str, str], limited: None
) -> None:
    client = Client()
    with time_machine.travel("2026-03-02 10:00:59+00:00", tick=False):
        first = [_post(client, good_post, n) for n in range(3)]
    with time_machine.travel("2026-03-02 10:01:01+00:00", tick=False):
        second = [_post(client, good_post, n) for n in range(3, 6)]
        retry_after = client.post("/f/contact/", good_post, **JSON)["Retry-After"]

    assert first == [201, 201, 201]
    assert second == [429, 429, 429]
    assert retry_after == "18"  # one post back 20 s after the burst began


def test_it_refills_one_post_per_window_over_limit(
    web_form: Any, good_post: dict[str, str], limited: None
) -> None:
    client = Client()
    with time_machine.travel("2026-03-02 10:00:00+00:00", tick=False):
        burst = [_post(client, good_post, n) for n in range(4)]
    with time_machine.travel("2026-03-02 10:00:20+00:00", tick=False):
        refilled = [_post(client, good_post, n) for n in range(4, 6)]
    with time_machine.travel("2026-03-02 10:02:00+00:00", tick=False):
        rested = [_post(client, good_post, n) for n in range(6, 10)]

    assert burst == [201, 201, 201, 429]
    assert refilled == [201, 429]
    assert rested == [201, 201, 201, 429]


def test_it_ignores_x_forwarded_for_from_an_untrusted_peer(
    web_form: Any, good_post: dict[str, str], limited: None
) -> None:
    client = Client()
    with time_machine.travel("2026-03-02 10:00:00+00:00", tick=False):
        statuses = [
            _post(
                client, good_post, n, REMOTE_ADDR="203.0.113.5", HTTP_X_FORWARDED_FOR=f"10.9.9.{n}"
            )
            for n in range(5)
        ]

    assert statuses == [201, 201, 201, 429, 429]


def test_it_counts_the_client_a_trusted_proxy_names(
    web_form: Any, good_post: dict[str, str], limited: None, settings: Any
) -> None:
    settings.LEADSIEVE_TRUSTED_PROXIES = [ipaddress.ip_network("10.0.0.0/8")]
    client = Client()
    via_proxy = {"REMOTE_ADDR": "10.0.0.2"}
    with time_machine.travel("2026-03-02 10:00:00+00:00", tick=False):
        visitor = [
            _post(client, good_post, n, HTTP_X_FORWARDED_FOR="198.51.100.7", **via_proxy)
            for n in range(4)
        ]
        # The client forges a left-most address; the proxy appends the real one.
        forged = _post(
            client, good_post, 4, HTTP_X_FORWARDED_FOR="192.0.2.1, 198.51.100.7", **via_proxy
        )
        neighbour = _post(client, good_post, 5, HTTP_X_FORWARDED_FOR="198.51.100.8", **via_proxy)

    assert visitor == [201, 201, 201, 429]
    assert forged == 429
    assert neighbour == 201


@pytest.mark.parametrize(
    ("remote", "forwarded", "expected"),
    [
        ("203.0.113.5", "", "203.0.113.5"),
        ("203.0.113.5", "198.51.100.7", "203.0.113.5"),  # peer is not a proxy
        ("10.0.0.2", "", "10.0.0.2"),
        ("10.0.0.2", "198.51.100.7", "198.51.100.7"),
        ("10.0.0.2", "192.0.2.1, 198.51.100.7, 10.0.0.3", "198.51.100.7"),
        ("10.0.0.2", "not-an-ip, 10.0.0.3", "10.0.0.3"),
        ("::ffff:10.0.0.2", "2001:db8::1", "2001:db8::1"),
        ("", "198.51.100.7", None),
        ("not-an-ip", "", None),
    ],
)
def test_it_takes_the_right_most_address_that_is_not_a_trusted_proxy(
    settings: Any, remote: str, forwarded: str, expected: str | None
) -> None:
    settings.LEADSIEVE_TRUSTED_PROXIES = [ipaddress.ip_network("10.0.0.0/8")]
    request = RequestFactory().get("/", REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR=forwarded)

    assert client_ip(request) == expected


def test_it_refuses_a_trusted_proxy_that_is_not_an_address(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from django.core.exceptions import ImproperlyConfigured

    from leadsieve.config.env import env_networks

    monkeypatch.setenv("LEADSIEVE_TRUSTED_PROXIES", "10.0.0.0/8, proxy.internal")
    with pytest.raises(ImproperlyConfigured, match=r"'proxy\.internal' is not an IP address"):
        env_networks("LEADSIEVE_TRUSTED_PROXIES")
    monkeypatch.setenv("LEADSIEVE_TRUSTED_PROXIES", "10.0.0.0/8, 2001:db8::/32, 127.0.0.1")
    assert [str(n) for n in env_networks("LEADSIEVE_TRUSTED_PROXIES")] == [
        "10.0.0.0/8",
        "2001:db8::/32",
        "127.0.0.1/32",
    ]
