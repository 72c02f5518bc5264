"""The single-lead fast path and the batch path are the same rules: proved on generated input.

1. ``clean_one`` (dict, per-value normalisers) and ``clean_rows`` (frames) give the same
   clean values, the same touch payload, or the same errors in the same order;
2. ``receive_lead(fast=True)`` (``capture_one`` + ``assign_arriving_lead``) and
   ``receive_lead(fast=False)`` (``capture_lead`` + ``assign_leads``) run on the same
   sequence of submissions from the same database state leave the same rows behind:
   leads (every field, scores and owner included), touches, merge records, audit rows,
   likely duplicates, companies, assignments, deadlines, the queue and score snapshots.
   Each path runs in a savepoint that is rolled back, at a frozen moment; ids are compared
   relative to where each table stood (PostgreSQL's sequences do not roll back).
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leadsieve.leads.capture import CaptureRejected, clean_rows
from leadsieve.leads.capture_one import clean_one

# Monday 23 November 2026, 10:00 in Paris: the team is at work.
MONDAY_MORNING = "2026-11-23T09:00:00+00:00"

NAMES = ["Ada", "ADA", "ada", "Éloïse", "o'neil", "  Jean   Luc ", "ß", "Mc\u00a0Donald", "", "李"]
EMAILS = [
    "ada@acme.test",
    " ADA@Acme.TEST.",
    "bo@gmail.com",
    "eve@globex.test",
    "not an email",
    "x@y",
    "",
]
PHONES = ["+33 1 42 68 53 00", "(415) 555-0100", "415.555.0100", "12", "call me", ""]
COMPANIES = ["Acme Inc.", "ACME", "Globex GmbH", "Initech, LLC", "", "  acme  "]
WEBSITES = ["https://www.acme.test/about", "globex.test", "not a site", "http://user@x.io:80/", ""]
TEXT = st.lists(
    st.sampled_from([*"aZé ß\t\n\x00\x1c\u2028\u00a0-,.'@/", "Inc", "www."]), max_size=10
).map("".join)


def _maybe(values: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(values, st.none())


ROWS = st.fixed_dictionaries(
    {},
    optional={
        "first_name": _maybe(st.sampled_from(NAMES) | TEXT),
        "last_name": _maybe(st.sampled_from(NAMES) | TEXT),
        "email": _maybe(st.sampled_from(EMAILS)),
        "phone": _maybe(st.sampled_from(PHONES)),
        "company_name": _maybe(st.sampled_from(COMPANIES) | TEXT),
        "website": st.sampled_from(WEBSITES),
        "job_title": TEXT,
        "need": TEXT,
        "country": st.sampled_from(["fr", "FR", "XX", "", " de "]),
        "city": st.sampled_from(["Paris", "x" * 121, ""]),
        "external_id": st.sampled_from(["X-1", "X-2", ""]),
        "timeline": st.sampled_from(["now", "Quarter", "bogus", ""]),
        "decision_role": st.sampled_from(["decision_maker", "user", "nope"]),
        "budget": st.sampled_from(["1500.50", "-3", "abc", "", 1200]),
        "consent": st.sampled_from([True, False, "yes", "maybe", ""]),
        "do_not_contact": st.sampled_from([False, "no", "on"]),
        "custom": st.sampled_from([{"seats": 3, "plan": "pro"}, {"bad key!": 1}, "text", None]),
        "utm_source": st.sampled_from(["newsletter", ""]),
        "nickname": st.sampled_from(["Ace", None]),
    },
)
EXAMPLES = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _errors(rejected: CaptureRejected) -> list[tuple[str, str]]:
    return [(e.field, e.message) for e in rejected.errors]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ROWS, _maybe(st.fixed_dictionaries({"form": st.just("contact"), "utm": TEXT})))
def test_the_one_row_cleaner_equals_the_batch_cleaner(row: dict[str, Any], extra: Any) -> None:
    batch = clean_rows([row], first_row=None, activity_payload=extra)
    try:
        one = clean_one(row, activity_payload=extra)
    except CaptureRejected as rejected:
        assert _errors(rejected) == [(e.field, e.message) for e in batch.errors[0]]
        return
    assert not batch.errors
    expected = {name: _plain(value) for name, value in batch.clean.iloc[0].items()}
    assert one.values == expected
    assert json.loads(one.payload) == json.loads(batch.payloads[0])


def test_a_value_pandas_would_coerce_goes_through_the_batch_cleaner() -> None:
    row = {"first_name": ["a", "list"], "email": "ada@acme.test", "budget": 12.5}
    batch = clean_rows([row], first_row=None)
    with pytest.raises(CaptureRejected) as rejected:
        clean_one(row)
    assert _errors(rejected.value) == [(e.field, e.message) for e in batch.errors[0]]


def _plain(value: Any) -> Any:
    if hasattr(value, "item") and not isinstance(value, str | Decimal | dict):
        return value.item()
    return value


# --- Both paths, whole pipeline -----------------------------------------------------------


@pytest.fixture
def world(alice: Any, carol: Any, make_user: Any, north: Any, south: Any) -> dict[str, Any]:
    """A rep on duty in North, one rule, a lead Alice sees and one she does not."""
    from leadsieve.leads.services import capture_leads
    from leadsieve.routing.models import RepProfile
    from leadsieve.routing.services import save_rule

    for name in ("dana", "eli"):
        RepProfile.objects.create(user=make_user(name, role="rep", team=north))
    save_rule(name="Everything to North", team=north, conditions=[], strategy="round_robin")
    capture_leads(
        [{"email": "eve@globex.test", "first_name": "Eve", "company_name": "Globex GmbH"}],
        channel="api",
        via="test",
        team=north,
    )
    capture_leads(
        [{"phone": "+33 1 42 68 53 00", "first_name": "Ada", "company_name": "Acme Inc."}],
        channel="api",
        via="test",
        team=south,
    )
    return {"alice": alice}


TABLES = {
    "lead": ("leadsieve.leads.models", "Lead"),
    "company": ("leadsieve.leads.models", "Company"),
    "activity": ("leadsieve.leads.models", "Activity"),
    "merge": ("leadsieve.leads.models", "MergeRecord"),
    "change": ("leadsieve.leads.models", "LeadChange"),
    "duplicate": ("leadsieve.leads.models", "DuplicateCandidate"),
    "assignment": ("leadsieve.routing.models", "Assignment"),
    "deadline": ("leadsieve.routing.models", "LeadDeadline"),
    "queue": ("leadsieve.routing.models", "QueuedLead"),
    "snapshot": ("leadsieve.scoring.models", "ScoreSnapshot"),
}
# Columns holding ids of rows a run creates, and the table they point into.
POINTERS = {
    "lead_id": "lead",
    "merged_into_id": "lead",
    "survivor_id": "lead",
    "duplicate_of_id": "lead",
    "company_id": "company",
}


def _model(name: str) -> Any:
    from importlib import import_module

    module, attribute = TABLES[name]
    return getattr(import_module(module), attribute)


def _bases() -> dict[str, int]:
    """Each table's last id handed out: its highest row on SQLite, its sequence's last
    value on PostgreSQL (a rolled-back run used ids the next run will not get again)."""
    from django.db import connection
    from django.db.models import Max

    bases = {name: _model(name).objects.aggregate(m=Max("id"))["m"] or 0 for name in TABLES}
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            for name in TABLES:
                table = _model(name)._meta.db_table
                cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
                sequence = cursor.fetchone()[0]
                cursor.execute(f"SELECT last_value, is_called FROM {sequence}")
                last, called = cursor.fetchone()
                bases[name] = max(bases[name], last if called else last - 1)
    return bases


def _relative(value: Any, table: str, bases: dict[str, int]) -> Any:
    if isinstance(value, int) and value > bases[table]:
        return f"{table}+{value - bases[table]}"
    return value


def _snapshot(bases: dict[str, int]) -> dict[str, list[dict[str, Any]]]:
    """Every row the run wrote, ids made relative to where each table stood."""
    tables: dict[str, list[dict[str, Any]]] = {}
    for name in TABLES:
        rows = []
        for row in _model(name).objects.order_by("id").values():
            row = {
                key: _relative(v, POINTERS[key], bases) if key in POINTERS else v
                for key, v in row.items()
            }
            row["id"] = _relative(row["id"], name, bases)
            for key in ("incoming", "applied"):
                if isinstance(row.get(key), dict) and "company_id" in row[key]:
                    row[key] = json.loads(json.dumps(row[key]))
                    value = row[key]["company_id"]
                    if isinstance(value, list):
                        row[key]["company_id"] = [_relative(v, "company", bases) for v in value]
                    else:
                        row[key]["company_id"] = _relative(value, "company", bases)
            if "moved_activity_ids" in row:
                row["moved_activity_ids"] = [
                    _relative(v, "activity", bases) for v in row["moved_activity_ids"]
                ]
            if name == "change":
                # A merge that fills the company names it in its changes: a company created by
                # this run has an id the other run cannot share on PostgreSQL (its sequence
                # does not roll back), so it is made relative like the columns above.
                changes = row.get("changes")
                if isinstance(changes, dict) and isinstance(changes.get("company_id"), list):
                    row["changes"] = {
                        **changes,
                        "company_id": [
                            _relative(v, "company", bases) for v in changes["company_id"]
                        ],
                    }
                row["note"] = re.sub(
                    r"merge (\d+)",
                    lambda m: f"merge {_relative(int(m.group(1)), 'merge', bases)}",
                    row["note"],
                )
            rows.append(row)
        tables[name] = rows
    return tables


class _Rollback(Exception):
    pass


def _run(rows: list[dict[str, Any]], *, fast: bool, user: Any) -> tuple[list[Any], dict]:
    """Each row through ``receive_lead``; what each returned and every row written."""
    from leadsieve.pipeline import receive_lead

    results: list[Any] = []
    snapshot: dict[str, Any] = {}
    bases = _bases()
    try:
        with transaction.atomic():
            for n, row in enumerate(rows):
                by = user if n % 2 else None  # the API (scoped) and the web form (not)
                try:
                    outcome = receive_lead(
                        row,
                        fast=fast,
                        channel="api" if by else "web_form",
                        via="test",
                        user=by,
                        team=by.team if by else None,
                        activity_payload={"form": "contact"} if by is None else None,
                    )
                except CaptureRejected as rejected:
                    results.append(_errors(rejected))
                else:
                    results.append(
                        (
                            _relative(outcome.lead.pk, "lead", bases),
                            outcome.created,
                            outcome.lead.owner_id,
                            outcome.merge is not None,
                        )
                    )
            snapshot = _snapshot(bases)
            raise _Rollback
    except _Rollback:
        pass
    return results, snapshot


@time_machine.travel(MONDAY_MORNING, tick=False)
@EXAMPLES
@given(rows=st.lists(ROWS, min_size=1, max_size=5))
def test_the_fast_path_and_the_batch_path_leave_the_same_rows(
    world: dict[str, Any], rows: list[dict[str, Any]]
) -> None:
    fast = _run(rows, fast=True, user=world["alice"])
    batch = _run(rows, fast=False, user=world["alice"])
    assert fast[0] == batch[0]
    for table in TABLES:
        assert fast[1].get(table) == batch[1].get(table), table


@time_machine.travel(MONDAY_MORNING, tick=False)
def test_both_paths_merge_route_and_flag_the_same_way(world: dict[str, Any]) -> None:
    rows = [
        {"email": "ada@acme.test", "first_name": "Ada", "company_name": "Acme Inc."},
        {"email": "ADA@acme.test", "phone": "+33 1 42 68 53 00", "job_title": "CTO"},
        {"first_name": "Eve", "email": "eve2@globex.test", "company_name": "Globex GmbH"},
        {"email": "eve@globex.test", "consent": "yes", "custom": {"plan": "pro"}},
    ]
    fast = _run(rows, fast=True, user=world["alice"])
    batch = _run(rows, fast=False, user=world["alice"])
    assert fast == batch
    created = [r for r in fast[0] if r[1]]
    assert created and all(owner is not None for _, _, owner, _ in created)  # routed at once
    assert fast[1]["merge"] and fast[1]["duplicate"] and fast[1]["deadline"]  # the cases occurred
