"""The request buffer in front of Django: whole requests in, refusals before any thread."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from django.core.wsgi import get_wsgi_application

from leadsieve.config import buffering
from leadsieve.config.buffering import BufferedWsgiApp

pytestmark = pytest.mark.django_db(transaction=True)


def _scope(method: str, path: str, headers: list[tuple[bytes, bytes]]) -> dict[str, Any]:
    return {
        "type": "http",
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver"), *headers],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }


def _serve(app: BufferedWsgiApp, scope: dict[str, Any], chunks: list[bytes | None]) -> Any:
    """Run one request; ``None`` in ``chunks`` is a client that stops sending."""
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        if not chunks:
            await asyncio.sleep(3600)
        chunk = chunks.pop(0)
        if chunk is None:
            await asyncio.sleep(3600)
        return {"type": "http.request", "body": chunk, "more_body": bool(chunks)}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    status = sent[0]["status"]
    body = b"".join(m.get("body", b"") for m in sent[1:])
    return status, dict(sent[0]["headers"]), body, len(sent)


@pytest.fixture
def app() -> BufferedWsgiApp:
    return BufferedWsgiApp(get_wsgi_application(), threads=2, read_timeout_s=0.3)


def test_a_body_that_stalls_is_refused_with_408_without_reaching_django(
    app: BufferedWsgiApp,
) -> None:
    scope = _scope("POST", "/api/v1/leads", [(b"content-length", b"1000")])

    status, _, body, _ = _serve(app, scope, [b'{"first', None])

    assert status == 408
    assert b"not sent in time" in body


def test_a_body_announced_too_large_is_refused_with_413_unread(app: BufferedWsgiApp) -> None:
    app.max_body_bytes = 1000
    scope = _scope("POST", "/api/v1/leads", [(b"content-length", b"1001")])

    status, _, _, _ = _serve(app, scope, [])

    assert status == 413


def test_a_body_sent_in_pieces_reaches_django_whole(app: BufferedWsgiApp) -> None:
    body = json.dumps({"first_name": "Ann"}).encode()
    scope = _scope(
        "POST",
        "/api/v1/leads",
        [(b"content-length", str(len(body)).encode()), (b"content-type", b"application/json")],
    )

    status, _, answer, _ = _serve(app, scope, [body[:5], body[5:]])

    assert status == 401  # Django read it: the API asks for a token, not for a body
    assert b"Authorization" in answer


def test_a_short_answer_is_sent_in_one_piece_and_a_long_one_streamed(
    app: BufferedWsgiApp, monkeypatch: pytest.MonkeyPatch, settings: Any
) -> None:
    settings.LEADSIEVE_API_DOCS_PUBLIC = True  # the schema is readable without a token
    scope = _scope("GET", "/api/v1/openapi.json", [])
    status, _, short, n_messages = _serve(app, scope, [b""])
    assert status == 200
    assert n_messages == 2

    monkeypatch.setattr(buffering, "STREAM_AFTER_BYTES", 100)
    status, _, streamed, n_messages = _serve(app, scope, [b""])

    assert status == 200
    assert n_messages >= 3
    assert streamed == short
    assert json.loads(streamed)["info"]["title"] == "LeadSieve API"


def test_a_chunked_body_reaches_django_with_its_length(app: BufferedWsgiApp) -> None:
    body = json.dumps({"first_name": "Ann"}).encode()
    scope = _scope(
        "POST",
        "/api/v1/leads",
        [(b"transfer-encoding", b"chunked"), (b"content-type", b"application/json")],
    )
    seen: dict[str, Any] = {}
    wsgi = app.wsgi_app

    def recording_app(environ: dict[str, Any], start_response: Any) -> Any:
        seen["length"] = environ.get("CONTENT_LENGTH")
        seen["body"] = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        environ["wsgi.input"].seek(0)
        return wsgi(environ, start_response)

    app.wsgi_app = recording_app
    status, _, _, _ = _serve(app, scope, [body[:5], body[5:]])

    assert status == 401  # Django answered: a token is asked for
    assert seen == {"length": str(len(body)), "body": body}
