"""40 concurrent writers against a real multi-process server: nothing lost, nothing doubled.

gunicorn runs 4 workers × 4 threads on the test database (a real SQLite file, or
PostgreSQL). Writers post to the web form and the API for a bounded time, deliberately
reusing emails and idempotency keys. Every accepted response names a lead; the leads in
the database must be exactly those, with no two live leads sharing an email key.
"""

# ruff: noqa: S310 - every URL opened here is the local test server's http:// address.
from __future__ import annotations

import json
import random
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.concurrency.conftest import server_errors

N_WRITERS = 40
RUN_SECONDS = 8.0
N_SHARED_EMAILS = 25
N_KEYS = 15

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


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
            # The public form names no lead (no oracle): it is found by its email below.
            out.append(("form", None, status, email.lower(), body))
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


def test_concurrent_form_and_api_writers_lose_and_double_nothing(
    server: str, bob: Any, tmp_path: Path
) -> None:
    from leadsieve.api.models import IdempotencyKey
    from leadsieve.api.services import create_api_token
    from leadsieve.leads.models import Lead
    from leadsieve.webforms.models import WebForm

    # The form's leads join Bob's team, so his token may merge into them: a capture by a
    # user merges only into leads in the user's scope (another team's, or no team's, lead
    # with the same email would rightly get a lead of its own).
    WebForm.objects.create(
        name="Contact",
        slug="contact",
        fields=[{"name": "first_name"}, {"name": "email", "required": True}],
        consent_text="I agree.",
        team=bob.team,
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
    assert not failures, server_errors(tmp_path)
    assert set(statuses) <= {200, 201}, statuses
    assert len(results) >= N_WRITERS, statuses

    live = Lead.objects.filter(merged_into__isnull=True)
    by_email = dict(live.values_list("email_key", "id"))
    form_emails = {email for channel, _, _, email, _ in results if channel == "form"}
    assert not form_emails - set(by_email), "an accepted form post left no lead"
    accepted_ids = {by_email[email] for email in form_emails} | {
        lead_id for channel, _, _, lead_id, _ in results if channel == "api"
    }
    assert None not in accepted_ids
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
