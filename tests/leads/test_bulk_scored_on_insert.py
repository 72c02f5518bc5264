"""A bulk call's new leads are scored before their insert: the same rows as inserting them
unscored and rescoring after the commit (the old path), and each new lead written once.

Both paths run on the same generated batches from the same database state (a source, a
campaign, companies with industry and size, a registered custom field, leads in and out of
the caller's scope), each in a savepoint rolled back, at a frozen moment; every table the
capture and the scoring write is compared (``test_capture_one_equals_batch``'s snapshot).
"""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import pytest
import time_machine
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.leads.test_capture_one_equals_batch import (
    EXAMPLES,
    MONDAY_MORNING,
    ROWS,
    TABLES,
    _bases,
    _relative,
    _Rollback,
    _snapshot,
)

# History rows of one batch are written in another order by the two paths (new leads'
# before the merged ones'): compared as sets of rows, without their own ids.
UNORDERED = ("change", "snapshot")


@pytest.fixture
def bulk_world(alice: Any, carol: Any, north: Any, south: Any) -> dict[str, Any]:
    from leadsieve.leads.models import Campaign, Company, FieldDefinition, Source
    from leadsieve.leads.services import capture_leads

    FieldDefinition.objects.create(key="seats", label="Seats", type="number")
    capture_leads(
        [
            {"email": "eve@globex.test", "first_name": "Eve", "company_name": "Globex GmbH"},
            {"email": "bo@gmail.com", "first_name": "Bo", "budget": "900"},
            {"email": "ops@initech.test", "company_name": "Initech, LLC"},
            {"email": "sales@acme.test", "company_name": "Acme Inc."},
        ],
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
    Company.objects.update(industry="Software", size=250, country="FR", revenue_band="10m_50m")
    source = Source.objects.create(name="Partner list")
    campaign = Campaign.objects.create(name="Spring launch", source=source)
    return {"alice": alice, "source": source, "campaign": campaign}


def _bulk(
    rows: list[dict[str, Any]], *, before_insert: bool, user: Any, origin: dict[str, Any]
) -> tuple[list[Any], dict[str, Any], set[int]]:
    """One batch captured then scored as after its commit; what each row became, every row
    written, and the leads the rescoring after commit was asked to score."""
    from leadsieve.leads.services import capture_leads
    from leadsieve.pipeline import ArrivalScorer
    from leadsieve.scoring.events import rescore_touched_leads

    results: list[Any] = []
    snapshot: dict[str, Any] = {}
    rescored: set[int] = set()
    bases = _bases()
    try:
        with transaction.atomic():
            scorer = ArrivalScorer() if before_insert else None
            outcome = capture_leads(
                rows,
                channel="api",
                via="test",
                user=user,
                team=user.team if user else None,
                score_new=scorer,
                **origin,
            )
            settled = scorer.settled(outcome) if scorer else set()
            rescored = {i for i in outcome.lead_ids if i not in settled}
            rescore_touched_leads(sorted(rescored))
            results = [
                (_relative(r.lead_id, "lead", bases), r.created, [e.field for e in r.errors])
                for r in outcome.results
            ]
            snapshot = _snapshot(bases)
            rescored = {_relative(i, "lead", bases) for i in rescored}
            raise _Rollback
    except _Rollback:
        pass
    for name in UNORDERED:
        snapshot[name] = sorted(
            json.dumps({k: v for k, v in row.items() if k != "id"}, default=str, sort_keys=True)
            for row in snapshot[name]
        )
    return results, snapshot, rescored


def _assert_same(rows: list[dict[str, Any]], user: Any, origin: dict[str, Any]) -> set[Any]:
    new, new_rows, rescored = _bulk(rows, before_insert=True, user=user, origin=origin)
    old, old_rows, _ = _bulk(rows, before_insert=False, user=user, origin=origin)
    assert new == old
    for table in TABLES:
        assert new_rows[table] == old_rows[table], table
    created = {lead for lead, was_created, _ in new if was_created}
    merged_into = {lead for lead, was_created, _ in new if lead is not None and not was_created}
    # Only leads a row merged into were scored again after the commit.
    assert rescored == merged_into
    assert created - merged_into <= {row["id"] for row in new_rows["lead"] if row["scored_at"]}
    return created


@time_machine.travel(MONDAY_MORNING, tick=False)
@settings(parent=EXAMPLES, max_examples=25)
@given(
    rows=st.lists(
        ROWS.map(lambda row: {**row, "custom": {"seats": len(row)}} if len(row) % 3 else row),
        min_size=1,
        max_size=8,
    ),
    scoped=st.booleans(),
    with_origin=st.booleans(),
)
def test_scoring_before_the_insert_leaves_the_same_rows(
    bulk_world: dict[str, Any], rows: list[dict[str, Any]], scoped: bool, with_origin: bool
) -> None:
    origin = (
        {"source": bulk_world["source"], "campaign": bulk_world["campaign"]} if with_origin else {}
    )
    _assert_same(rows, bulk_world["alice"] if scoped else None, origin)


@time_machine.travel(MONDAY_MORNING, tick=False)
def test_a_batch_with_merges_history_and_every_scored_column(bulk_world: dict[str, Any]) -> None:
    rows = [
        {"email": "ada@acme.test", "first_name": "Ada", "company_name": "Acme Inc.",
         "job_title": "CTO", "budget": "50000", "timeline": "now", "consent": True,
         "decision_role": "decision_maker", "country": "FR", "custom": {"seats": 40}},
        {"email": "ADA@acme.test", "phone": "+33 1 42 68 53 00", "need": "CRM"},
        {"email": "eve@globex.test", "consent": "yes", "custom": {"seats": 3}},
        {"email": "new@initech.test", "company_name": "Initech, LLC", "timeline": "quarter"},
        {"email": "bo@gmail.com", "job_title": "Intern"},
    ]  # fmt: skip
    origin = {"source": bulk_world["source"], "campaign": bulk_world["campaign"]}
    for user in (None, bulk_world["alice"]):
        for kind in ("capture", "form_submit"):  # a form's touch counts for interest
            created = _assert_same(rows, user, {**origin, "activity_kind": kind})
            assert len(created) >= 2


@time_machine.travel(MONDAY_MORNING, tick=False)
def test_a_bulk_call_writes_each_new_lead_once(
    bulk_world: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    """Through the API service: the new leads are inserted scored and never updated."""
    from leadsieve.api.services import create_leads_via_api
    from leadsieve.leads.models import Lead
    from leadsieve.scoring.models import ScoreSnapshot

    rows = [
        {"email": f"lead{n}@initech.test", "company_name": "Initech", "job_title": "CEO"}
        for n in range(30)
    ]
    table = connection.ops.quote_name(Lead._meta.db_table)
    with (
        CaptureQueriesContext(connection) as queries,
        django_capture_on_commit_callbacks(execute=True),
    ):
        outcome = create_leads_via_api(
            rows, user=bulk_world["alice"], via="test", on_invalid="skip"
        )
    assert outcome.n_created == 30
    updates = [q["sql"] for q in queries if q["sql"].startswith(f"UPDATE {table}")]
    assert updates == []
    leads = Lead.objects.filter(pk__in=outcome.lead_ids)
    assert not leads.filter(scored_at__isnull=True).exists()
    assert not leads.filter(rating__isnull=True).exists()
    assert ScoreSnapshot.objects.filter(lead__in=leads).count() == 30


@pytest.mark.django_db(transaction=True)
def test_a_batch_over_the_task_threshold_is_not_scored_again_when_already_scored(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Above ``EVENT_TASK_THRESHOLD`` the batch is settled by a task: it scores only when
    some lead was not scored before its insert (an admin may raise the bulk limit)."""
    from leadsieve import pipeline

    enqueued: list[dict[str, Any]] = []
    monkeypatch.setattr(pipeline, "EVENT_TASK_THRESHOLD", 2)
    recorder = SimpleNamespace(enqueue=lambda **kw: enqueued.append(kw))
    monkeypatch.setattr(pipeline, "settle_batch_task", recorder)
    with transaction.atomic():
        pipeline.receive_batch([1, 2, 3], scored=[1, 2, 3])
    with transaction.atomic():
        pipeline.receive_batch([4, 5, 6], scored=[4, 5])
    assert enqueued == [
        {"id_runs": [[1, 3]], "score": False},
        {"id_runs": [[4, 6]], "score": True},
    ]
