"""The body parser walks the parsed body only when parsing met a number that may be refused
or a search of the bytes found a possible surrogate (issue #16, bulk capture), so it must
never miss a refused value. ``read_json`` is compared here with parsing and walking every
body (the parser before), on generated and edge bodies."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from leadsieve.api import parser
from leadsieve.api.parser import ValueRefused, find_refused_value, read_json
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


def _refusal(raw: bytes) -> tuple[str, str] | None:
    try:
        read_json(raw)
    except ValueRefused as refused:
        return refused.field, refused.message
    return None


def _walked(raw: bytes) -> tuple[str, str] | None:
    refused = find_refused_value(json.loads(raw))
    return (refused.field, refused.message) if refused is not None else None


def test_the_parser_refuses_what_walking_every_body_refuses_and_nothing_else() -> None:
    raw_bodies = _raw_bodies()
    expected = [_walked(raw) for raw in raw_bodies]
    assert sum(1 for e in expected if e is not None) > len(raw_bodies) // 10  # plenty
    assert [_refusal(raw) for raw in raw_bodies] == expected


@pytest.mark.parametrize(
    "raw",
    [
        b'{"s": "\xed\xa0\x80"}',  # a surrogate as raw UTF-8 bytes (json reads them)
        b'{"a": [1, 1E+0400]}',
        b'{"a": 18446744073709551616}',
        b'{"a": -9223372036854775809}',
        '{"s": "\\ud800"}'.encode("utf-16"),  # json.loads reads UTF-16 and UTF-32 too
        b"\xef\xbb\xbf 12345678901234567890",  # a bare number after a byte order mark
    ],
)
def test_each_kind_of_refused_value_is_refused(raw: bytes) -> None:
    assert _walked(raw) is not None
    assert _refusal(raw) == _walked(raw)


def test_a_bulk_body_of_plain_leads_is_not_walked(monkeypatch: pytest.MonkeyPatch) -> None:
    leads = [
        {
            "last_name": f"R17651234567890123{n}",  # long digit runs inside strings
            "email": f"w{n}@bench.example",
            "company_name": "Société \u00e9 Ltd",
            "budget": 1500.5,
            "custom": {"size": 10**17 + n, "share": -0.25},
        }
        for n in range(1_000)
    ]
    raw = json.dumps({"leads": leads}).encode()

    def walk(body: Any) -> None:
        raise AssertionError("walked")

    monkeypatch.setattr(parser, "find_refused_value", walk)
    assert read_json(raw) == {"leads": leads}


def test_a_raw_surrogate_in_a_bulk_body_is_a_422_naming_its_field(bob_api: ApiClient) -> None:
    from leadsieve.leads.models import Lead

    raw = b'{"leads": [{"email": "a@b.org"}, {"first_name": "x\xed\xb0\x80"}]}'
    response = bob_api.client.post(
        "/api/v1/leads/bulk", raw, content_type="application/json", **bob_api.headers
    )
    assert response.status_code == 422, response.content
    assert {e["field"] for e in response.json()["errors"]} == {"leads.1.first_name"}
    assert not Lead.objects.exists()
