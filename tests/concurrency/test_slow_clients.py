"""Slow clients hold no thread of ``leadsieve serve``; its access log masks personal data.

More slow connections are held open than the server has threads (workers × threads), each
having sent part of a request; normal requests must still answer promptly. The old gthread
server gave each of them a thread that blocked on the socket, and a normal GET timed out.
"""

# ruff: noqa: S310 - every URL opened here is the local test server's http:// address.
from __future__ import annotations

import socket
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.concurrency.conftest import SERVER_LOG, THREADS, WORKERS

N_SLOW = WORKERS * THREADS + 4
N_NORMAL = 5
PROMPT_S = 1.0

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def _address(server: str) -> tuple[str, int]:
    url = urllib.parse.urlsplit(server)
    return url.hostname or "127.0.0.1", url.port or 80


@contextmanager
def _slow_connections(server: str, first_bytes: bytes) -> Iterator[None]:
    sockets = []
    try:
        for _ in range(N_SLOW):
            sock = socket.create_connection(_address(server), timeout=5)
            sock.sendall(first_bytes)
            sockets.append(sock)
        time.sleep(0.5)  # the server has read what was sent, and waits for the rest
        yield
    finally:
        for sock in sockets:
            sock.close()


def _timed_get(server: str, token: str) -> float:
    request = urllib.request.Request(
        f"{server}/api/v1/leads?limit=1", headers={"Authorization": f"Bearer {token}"}
    )
    started = time.monotonic()
    with urllib.request.urlopen(request, timeout=10) as response:
        response.read()
        assert response.status == 200
    return time.monotonic() - started


@pytest.fixture
def token(bob: Any) -> str:
    from django.db import connection

    from leadsieve.api.services import create_api_token

    _, raw = create_api_token(bob)
    connection.close()
    return raw


def test_connections_that_stall_in_their_body_do_not_delay_other_requests(
    server: str, token: str
) -> None:
    head = (
        "POST /api/v1/leads HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
        "Content-Length: 1000\r\n\r\n"
    )
    with _slow_connections(server, head.encode() + b'{"first'):
        timings = [_timed_get(server, token) for _ in range(N_NORMAL)]

    assert max(timings) < PROMPT_S, timings


def test_connections_that_stall_in_their_headers_do_not_delay_other_requests(
    server: str, token: str
) -> None:
    with _slow_connections(server, b"GET /api/v1/leads HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slo"):
        timings = [_timed_get(server, token) for _ in range(N_NORMAL)]

    assert max(timings) < PROMPT_S, timings


def test_the_access_log_masks_emails_and_phone_numbers_in_urls(
    server: str, token: str, tmp_path: Path
) -> None:
    query = urllib.parse.urlencode({"email": "noah.garcia@example.com", "q": "+33 6 12 34 56 78"})
    request = urllib.request.Request(
        f"{server}/api/v1/leads?{query}", headers={"Authorization": f"Bearer {token}"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200

    deadline = time.monotonic() + 5
    while True:  # the log line is written after the answer
        lines = [
            line
            for line in (tmp_path / SERVER_LOG).read_text().splitlines()
            if "GET /api/v1/leads?email=" in line
        ]
        if lines or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert len(lines) == 1, (tmp_path / SERVER_LOG).read_text()[-2000:]
    assert "email=n***%40example.com" in lines[0]
    assert "q=%2B33*******78" in lines[0]
    text = (tmp_path / SERVER_LOG).read_text()
    assert "garcia" not in text
    assert "12+34" not in text and "123456" not in text
