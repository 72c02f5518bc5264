"""40 concurrent writers against a real multi-process server: nothing lost, nothing doubled.

gunicorn runs 4 workers × 4 threads on the test database (a real SQLite file, or
PostgreSQL). Writers post to the web form and the API for a bounded time, deliberately
reusing emails and idempotency keys. Every accepted response names a lead; the leads in
the database must be exactly those, with no two live leads sharing an email key.
"""

# ruff: noqa: S310 - every URL opened here is the local test server's http:// address.
from __future__ import annotations

import json
import os
import random
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

N_WRITERS = 40
RUN_SECONDS = 8.0
N_SHARED_EMAILS = 25
N_KEYS = 15
GUNICORN = Path(sys.executable).with_name("gunicorn")

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def _database_url(settings_dict: dict[str, Any]) -> str:
    engine = settings_dict["ENGINE"]
    if engine.endswith("sqlite3"):
        return f"sqlite:///{settings_dict['NAME']}"
    user = urllib.parse.quote(settings_dict.get("USER") or "")
    password = urllib.parse.quote(settings_dict.get("PASSWORD") or "")
    auth = f"{user}:{password}@" if password else f"{user}@" if user else ""
    host = settings_dict.get("HOST") or "localhost"
    port = settings_dict.get("PORT") or 5432
    return f"postgres://{auth}{host}:{port}/{settings_dict['NAME']}"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def server(transactional_db: None, tmp_path: Path) -> Iterator[str]:
    from django.db import connection

    connection.close()  # SQLite: no lock held by the test process while the server writes
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(connection.settings_dict),
        "ALLOWED_HOSTS": "127.0.0.1",
        "LEADSIEVE_FORM_RATE_LIMIT": "1000000",
        "LEADSIEVE_DATA_DIR": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "leadsieve.config.settings",
    }
    env.pop("LEADSIEVE_TEST_SQLITE", None)
    log = (tmp_path / "gunicorn.log").open("w")
    process = subprocess.Popen(
        [
            *(str(GUNICORN), "leadsieve.config.wsgi", "--workers", "4", "--threads", "4"),
            *("--bind", f"127.0.0.1:{port}", "--timeout", "120"),
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{base}/api/v1/openapi.json", timeout=5).read()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError((tmp_path / "gunicorn.log").read_text()) from None
                time.sleep(0.3)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def _send(request: urllib.request.Request) -> tuple[int, dict[str, Any]]:
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        body = error.read()
        try:
            return error.code, json.loads(body or b"{}")
        except ValueError:
            return error.code, {"raw": body[:300].decode("utf-8", "replace")}


def _writer(base: str, token: str, seed: int, stop_at: float, out: list[Any]) -> None:
    rng = random.Random(seed)
    n = 0
    while time.monotonic() < stop_at:
        n += 1
        choice = rng.random()
        if choice < 0.4:
            email = f"shared{rng.randrange(N_SHARED_EMAILS)}@example.org"
            if rng.random() < 0.5:
                email = email.upper()
            if rng.random() < 0.3:
                email = f"w{seed}-{n}@example.org"
            data = urllib.parse.urlencode(
                {"first_name": "Form", "email": email, "consent": "on"}
            ).encode()
            request = urllib.request.Request(
                f"{base}/f/contact/",
                data=data,
                headers={"Accept": "application/json", "Origin": "https://www.example.org"},
            )
            status, body = _send(request)
            out.append(("form", None, status, body.get("lead_id"), body))
        else:
            headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
            key = None
            if choice < 0.7:
                key = f"key-{rng.randrange(N_KEYS)}"
                headers["Idempotency-Key"] = key
                payload = {"first_name": "Idem", "email": f"{key}@example.org"}
            else:
                email = f"shared{rng.randrange(N_SHARED_EMAILS)}@example.org"
                payload = {"first_name": "Api", "email": email}
            request = urllib.request.Request(
                f"{base}/api/v1/leads", data=json.dumps(payload).encode(), headers=headers
            )
            status, body = _send(request)
            lead_id = body.get("lead", {}).get("id") if isinstance(body, dict) else None
            out.append(("api", key, status, lead_id, body))


def test_concurrent_form_and_api_writers_lose_and_double_nothing(server: str, bob: Any) -> None:
    from leadsieve.api.models import IdempotencyKey
    from leadsieve.api.services import create_api_token
    from leadsieve.leads.models import Lead
    from leadsieve.webforms.models import WebForm

    WebForm.objects.create(
        name="Contact",
        slug="contact",
        fields=[{"name": "first_name"}, {"name": "email", "required": True}],
        consent_text="I agree.",
    )
    _, token = create_api_token(bob, name="load")
    from django.db import connection

    connection.close()
    results: list[Any] = []
    stop_at = time.monotonic() + RUN_SECONDS
    threads = [
        threading.Thread(target=_writer, args=(server, token, seed, stop_at, results))
        for seed in range(N_WRITERS)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)

    statuses = Counter(status for _, _, status, _, _ in results)
    failures = [r for r in results if r[2] >= 500]
    assert not failures, failures[:3]
    assert set(statuses) <= {200, 201}, statuses
    assert len(results) >= N_WRITERS, statuses

    accepted_ids = {lead_id for _, _, _, lead_id, _ in results}
    assert None not in accepted_ids
    live = Lead.objects.filter(merged_into__isnull=True)
    assert set(live.values_list("id", flat=True)) == accepted_ids
    keys = Counter(live.exclude(email_key="").values_list("email_key", flat=True))
    assert not [k for k, n in keys.items() if n > 1]

    by_key: dict[str, set[int]] = {}
    for channel, key, _, lead_id, _ in results:
        if channel == "api" and key is not None:
            by_key.setdefault(key, set()).add(lead_id)
    assert all(len(ids) == 1 for ids in by_key.values()), by_key
    assert IdempotencyKey.objects.count() == len(by_key)
    print(f"\n{len(results)} requests in {RUN_SECONDS:.0f} s: {dict(statuses)}")
