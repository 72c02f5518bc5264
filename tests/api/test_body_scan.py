"""The body parser scans the raw bytes before walking the parsed body (issue #16, bulk
capture): the walk runs only when the scan finds what a refused value needs, so the scan
must never miss one. Compared here with the walk alone, on generated and edge bodies."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from leadsieve.api.parser import find_refused_value, may_hold_refused_value
from tests.api.conftest import ApiClient

pytestmark = pytest.mark.django_db

BODIES = 5_000


def _value(rng: random.Random, depth: int = 0) -> Any:  # Any: a random JSON value
    roll = rng.random()
    if depth < 3 and roll < 0.2:
        keys = ["a", "\ud800", "é", "\\u"]
        return {rng.choice(keys): _value(rng, depth + 1) for _ in range(rng.randint(0, 3))}
    if depth < 3 and roll < 0.35:
        return [_value(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    if roll < 0.5:
        return rng.choice([1, -1]) * 10 ** rng.randint(0, 25) + rng.choice([0, 2**63 - 10**18])
    if roll < 0.65:
        exponent = rng.randint(-400, 400)
        return float(f"{rng.randint(0, 10**20)}.5e{exponent}")
    if roll < 0.8:
        pieces = ["a", "\ud800", "\udfff", "é", "9" * 19, "e123", "\\", "\U0001f600"]
        return "".join(rng.choice(pieces) for _ in range(rng.randint(0, 4)))
    return rng.choice([True, False, None, 0.5])


def _raw_bodies() -> list[bytes]:
    rng = random.Random(16)
    found = []
    for _ in range(BODIES):
        body = {"leads": [_value(rng)]}
        for ascii_only, separators in ((True, (", ", ": ")), (False, (",", ":"))):
            text = json.dumps(body, ensure_ascii=ascii_only, separators=separators)
            if "Infinity" not in text:  # not JSON: refused before any walk
                found.append(text.encode("utf-8", "surrogatepass"))
    for digits in range(1, 330, 7):
        found += [
            b'{"n": 9' + b"9" * digits + b"}",
            b'{"n": -1' + b"0" * digits + b".25}",
            b'{"n": 9' + b"9" * digits + b"e99}",
        ]
    return found


def test_the_scan_finds_every_body_the_walk_refuses() -> None:
    raw_bodies = _raw_bodies()
    refused = [raw for raw in raw_bodies if find_refused_value(json.loads(raw)) is not None]
    assert len(refused) > len(raw_bodies) // 10  # the generator makes plenty of them
    assert [raw for raw in refused if not may_hold_refused_value(raw)] == []


@pytest.mark.parametrize(
    "raw",
    [
        b'{"s": "\xed\xa0\x80"}',  # a surrogate as raw UTF-8 bytes (json reads them)
        b'{"a": 1E+0400}',
        b'{"a": 18446744073709551616}',
        '{"s": "\\ud800"}'.encode("utf-16"),  # json.loads reads UTF-16 and UTF-32 too
        b"\xef\xbb\xbf 12345678901234567890",  # a bare number after a byte order mark
    ],
)
def test_the_scan_sends_each_kind_of_refused_value_to_the_walk(raw: bytes) -> None:
    assert may_hold_refused_value(raw)
    assert find_refused_value(json.loads(raw)) is not None


def test_a_bulk_body_of_plain_leads_is_not_walked() -> None:
    leads = [
        {
            "last_name": f"R17651234567890123{n}",  # long digit runs inside strings
            "email": f"w{n}@bench.example",
            "company_name": f"Co {n}",
            "budget": 1500.5,
        }
        for n in range(1_000)
    ]
    raw = json.dumps({"leads": leads, "phone": "+33 1 23 45 67 89"}).encode()
    assert not may_hold_refused_value(raw)


def test_a_raw_surrogate_in_a_bulk_body_is_a_422_naming_its_field(bob_api: ApiClient) -> None:
    from leadsieve.leads.models import Lead

    raw = b'{"leads": [{"email": "a@b.org"}, {"first_name": "x\xed\xb0\x80"}]}'
    response = bob_api.client.post(
        "/api/v1/leads/bulk", raw, content_type="application/json", **bob_api.headers
    )
    assert response.status_code == 422, response.content
    assert {e["field"] for e in response.json()["errors"]} == {"leads.1.first_name"}
    assert not Lead.objects.exists()
