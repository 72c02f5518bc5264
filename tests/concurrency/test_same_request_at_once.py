"""The worst case, on purpose: many identical requests released at the same instant."""

# ruff: noqa: S310 - every URL opened here is the local test server's http:// address.
from __future__ import annotations

import json
import threading
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.concurrency.conftest import server_errors

N_AT_ONCE = 20

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def _fire(requests: list[urllib.request.Request]) -> list[tuple[int, dict[str, Any]]]:
    barrier = threading.Barrier(len(requests))
    results: list[tuple[int, dict[str, Any]]] = []
    lock = threading.Lock()

    def send(request: urllib.request.Request) -> None:
        barrier.wait()
        try:
            with urllib.request.urlopen(request, timeout=120) as response:
                result = (response.status, json.loads(response.read()))
        except urllib.error.HTTPError as error:
            result = (error.code, {"raw": error.read()[:300].decode("utf-8", "replace")})
        with lock:
            results.append(result)

    threads = [threading.Thread(target=send, args=(r,)) for r in requests]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    return results


def test_one_idempotency_key_sent_20_times_at_once_makes_one_lead(
    server: str, bob: Any, tmp_path: Path
) -> None:
    from django.db import connection

    from leadsieve.api.models import IdempotencyKey
    from leadsieve.api.services import create_api_token
    from leadsieve.leads.models import Lead

    _, token = create_api_token(bob)
    connection.close()
    body = json.dumps({"first_name": "Once", "email": "once@example.org"}).encode()
    headers = {
        "Authorization": f"Bearer {token}",
        "Content-Type": "application/json",
        "Idempotency-Key": "the-one-key",
    }
    results = _fire(
        [
            urllib.request.Request(f"{server}/api/v1/leads", data=body, headers=headers)
            for _ in range(N_AT_ONCE)
        ]
    )
    assert {status for status, _ in results} == {201}, server_errors(tmp_path)
    assert len({answer["lead"]["id"] for _, answer in results}) == 1
    assert Lead.objects.count() == 1
    assert IdempotencyKey.objects.count() == 1


def test_one_email_posted_20_times_at_once_to_the_form_makes_one_lead(
    server: str, tmp_path: Path
) -> None:
    from django.db import connection

    from leadsieve.leads.models import Activity, Lead
    from leadsieve.webforms.models import WebForm

    WebForm.objects.create(name="Contact", slug="contact", fields=[{"name": "email"}])
    connection.close()
    data = urllib.parse.urlencode({"email": "same@example.org"}).encode()
    results = _fire(
        [
            urllib.request.Request(
                f"{server}/f/contact/", data=data, headers={"Accept": "application/json"}
            )
            for _ in range(N_AT_ONCE)
        ]
    )
    assert {status for status, _ in results} == {201}, server_errors(tmp_path)
    assert Lead.objects.filter(merged_into__isnull=True).count() == 1
    assert Activity.objects.count() == N_AT_ONCE


def test_one_bulk_idempotency_key_sent_8_times_at_once_captures_the_batch_once(
    server: str, bob: Any, tmp_path: Path
) -> None:
    from django.db import connection

    from leadsieve.api.models import IdempotencyKey
    from leadsieve.api.services import create_api_token
    from leadsieve.leads.models import Lead

    _, token = create_api_token(bob)
    connection.close()
    rows = [{"first_name": f"Row{i}", "email": f"row{i}@example.org"} for i in range(20)]
    body = json.dumps({"leads": rows}).encode()
    headers = {
        "Authorization": f"Bearer {token}",
        "Content-Type": "application/json",
        "Idempotency-Key": "the-one-batch",
    }
    results = _fire(
        [
            urllib.request.Request(f"{server}/api/v1/leads/bulk", data=body, headers=headers)
            for _ in range(8)
        ]
    )
    assert {status for status, _ in results} == {200}, server_errors(tmp_path)
    assert {answer["n_created"] for _, answer in results} == {20}
    assert Lead.objects.count() == 20
    assert IdempotencyKey.objects.count() == 1
