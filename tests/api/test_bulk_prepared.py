"""A bulk call cleans its rows before its write transaction (``prepare_bulk``): it must store
exactly what cleaning inside the transaction stored, row for row, and keep its answers
(origins checked again inside, errors after the key check)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pytest
import time_machine
from django.db import models, transaction

from tests.api.conftest import ApiClient


def _stored_rows() -> dict[str, list[dict[str, Any]]]:
    """Every row a capture writes, with the ids of rows made during the call replaced by
    their rank (PostgreSQL's sequences do not roll back, so a second run gets other ids)."""
    from leadsieve.leads.models import (
        Activity,
        Company,
        DuplicateCandidate,
        Lead,
        LeadChange,
        MergeRecord,
    )

    tables: list[type[models.Model]] = [
        Company,
        Lead,
        Activity,
        LeadChange,
        MergeRecord,
        DuplicateCandidate,
    ]
    ranks = {
        model: {
            pk: f"{model.__name__}#{rank}"
            for rank, pk in enumerate(
                sorted(set(model.objects.values_list("id", flat=True)) - _BEFORE[model])
            )
        }
        for model in tables
    }

    def rank(model: type[models.Model], value: Any) -> Any:
        return ranks.get(model, {}).get(value, value)

    def deep(value: Any) -> Any:  # JSON: company ids and moved activity ids inside
        if isinstance(value, dict):
            return {
                k: (
                    [rank(Company, v) for v in item]
                    if k == "company_id" and isinstance(item, list)
                    else rank(Company, item)
                    if k == "company_id"
                    else deep(item)
                )
                for k, item in value.items()
            }
        return value

    dump: dict[str, list[dict[str, Any]]] = {}
    for model in tables:
        rows = []
        for row in model.objects.order_by("id").values():
            row["id"] = rank(model, row["id"])
            for field in model._meta.concrete_fields:
                if field.is_relation and field.attname in row:
                    row[field.attname] = rank(field.related_model, row[field.attname])
                elif isinstance(field, models.JSONField):
                    row[field.attname] = deep(row[field.attname])
            if model is MergeRecord:
                row["moved_activity_ids"] = [rank(Activity, a) for a in row["moved_activity_ids"]]
            if model is LeadChange:
                row["note"] = re.sub(
                    r"merge (\d+)", lambda m: f"merge {rank(MergeRecord, int(m[1]))}", row["note"]
                )
            rows.append(row)
        dump[model.__name__] = rows
    return dump


_BEFORE: dict[type[models.Model], set[int]] = {}


def _run(capture: Callable[[], Any]) -> tuple[Any, dict[str, list[dict[str, Any]]]]:
    """``capture()``'s outcome and the rows it stored; then everything is rolled back."""
    from leadsieve.leads.models import (
        Activity,
        Company,
        DuplicateCandidate,
        Lead,
        LeadChange,
        MergeRecord,
    )

    for model in (Company, Lead, Activity, LeadChange, MergeRecord, DuplicateCandidate):
        _BEFORE[model] = set(model.objects.values_list("id", flat=True))
    with transaction.atomic():
        outcome = capture()
        stored = _stored_rows()
        transaction.set_rollback(True)
    return outcome, stored


def _capture_in_transaction(
    rows: Sequence[Mapping[str, Any]], *, user: Any, via: str, on_invalid: str
) -> Any:
    """The bulk service as it was before ``prepare_bulk``: each row's origin looked up
    inside the transaction, the rows grouped by origin, each group cleaned by
    ``capture_leads`` itself (new leads scored before their insert, as the service does)."""
    from leadsieve.api.services import _origin
    from leadsieve.leads.capture import BatchOutcome, FieldError, RowResult, capture_leads
    from leadsieve.leads.models import Channel
    from leadsieve.pipeline import ArrivalScorer

    values = [{k: v for k, v in row.items() if v is not None} for row in rows]
    origin_errors: dict[int, list[FieldError]] = {}
    origins = {}
    for position, row in enumerate(values):
        source, campaign, errors = _origin(row)
        if errors:
            origin_errors[position] = [FieldError(e.field, e.message, position) for e in errors]
        origins[position] = (source, campaign)
    groups: dict[tuple[Any, Any], list[int]] = {}
    for position in range(len(values)):
        if position not in origin_errors:
            source, campaign = origins[position]
            key = (source.pk if source else None, campaign.pk if campaign else None)
            groups.setdefault(key, []).append(position)
    results: dict[int, Any] = {}
    scorer = ArrivalScorer()
    for positions in groups.values():
        source, campaign = origins[positions[0]]
        batch = capture_leads(
            [values[p] for p in positions],
            channel=Channel.API,
            via=via,
            source=source,
            campaign=campaign,
            user=user,
            team=user.team,
            on_invalid="skip",
            row_numbers=positions,
            score_new=scorer,
        )
        results.update(zip(positions, batch.results, strict=True))
    for position, errors in origin_errors.items():
        results[position] = RowResult(row=position, errors=tuple(errors))
    return BatchOutcome([results[p] for p in range(len(values))])


def _awkward_batch(make_lead: Callable[..., Any], bob: Any, alice: Any, carol: Any) -> list[Any]:
    """Rows that exercise every branch: merges into stored leads in and out of scope, into
    earlier rows, name-and-company duplicates, several origins, refused values."""
    from leadsieve.leads.models import Campaign, Source

    web = Source.objects.create(name="Web")
    fair = Source.objects.create(name="Fair")
    spring = Campaign.objects.create(name="Spring", source=fair)
    make_lead(email="known@acme.example", email_key="known@acme.example", team=bob.team, owner=bob)
    make_lead(email="far@globex.example", email_key="far@globex.example", team=carol.team)
    make_lead(first_name="Ada", last_name="Lovelace", company_name="Initech", team=bob.team)
    rows: list[dict[str, Any]] = []
    for i in range(60):
        rows.append(
            {
                "first_name": f"Person{i % 7}",
                "last_name": "Doe" if i % 3 else "DOE",
                "email": f"p{i}@firm{i % 5}.example",
                "company_name": f"Firm {i % 5}",
                "country": ["DE", "fr", ""][i % 3],
            }
        )
    rows += [
        {"email": "KNOWN@acme.example", "city": "Lyon", "phone": "+33 6 12 34 56 78"},
        {"email": "far@globex.example", "city": "Evilcity"},
        {"first_name": "ADA", "last_name": "lovelace", "company_name": "Initech Inc."},
        {"email": "p3@firm3.example", "job_title": "CTO", "budget": "1500.50"},
        {"email": "bad", "phone": "12"},
        {"external_id": "X-1", "source_id": web.pk, "timeline": "Within 3 months"},
        {"external_id": "X-1", "source_id": web.pk, "consent": True, "custom": {"a": "b"}},
        {"email": "spring@fair.example", "campaign_id": spring.pk},
        {"email": "spring2@fair.example", "source_id": fair.pk, "campaign_id": spring.pk},
        {"email": "nowhere@x.example", "source_id": 987654},
        {"phone": "(415) 555-0100", "country": "US", "decision_role": "champion"},
        {"first_name": "Solo"},
        {},
    ]
    return rows


@pytest.mark.parametrize("persona", ["bob", "alice"])
def test_a_bulk_cleaned_before_its_transaction_stores_what_cleaning_inside_it_stored(
    persona: str, make_lead: Callable[..., Any], alice: Any, bob: Any, carol: Any
) -> None:
    from leadsieve.api.services import create_leads_via_api, prepare_bulk

    user = {"bob": bob, "alice": alice}[persona]
    rows = _awkward_batch(make_lead, bob, alice, carol)
    with time_machine.travel("2026-03-02 09:00:00+00:00", tick=False):
        before, stored_before = _run(
            lambda: _capture_in_transaction(rows, user=user, via="api:t", on_invalid="skip")
        )
        after, stored_after = _run(
            lambda: create_leads_via_api(
                rows, user=user, via="api:t", on_invalid="skip", prepared=prepare_bulk(rows)
            )
        )
    assert [(r.row, r.created, r.errors) for r in after.results] == [
        (r.row, r.created, r.errors) for r in before.results
    ]
    assert (after.n_created, after.n_merged, after.n_rejected) == (
        before.n_created,
        before.n_merged,
        before.n_rejected,
    )
    assert (before.n_merged, before.n_rejected) == (3, 4)  # the batch does exercise them
    assert len(stored_before["DuplicateCandidate"]) >= 2  # out of scope; same name+company
    for table, rows_before in stored_before.items():
        assert stored_after[table] == rows_before, table


def test_a_source_deleted_after_the_rows_were_prepared_refuses_its_rows_like_before(
    bob: Any,
) -> None:
    from leadsieve.api.services import create_leads_via_api, prepare_bulk
    from leadsieve.leads.models import Lead, Source

    web = Source.objects.create(name="Web")
    rows = [{"email": "a@x.example", "source_id": web.pk}, {"email": "b@x.example"}]
    prepared = prepare_bulk(rows)
    missing = web.pk
    web.delete()
    outcome = create_leads_via_api(
        rows, user=bob, via="api:t", on_invalid="skip", prepared=prepared
    )
    assert outcome.results[0].errors[0].message == f"No source with id {missing}."
    assert outcome.results[1].created
    assert Lead.objects.filter(source_id=missing).count() == 0


def test_a_reused_key_is_refused_before_the_rows_are_found_invalid(bob_api: ApiClient) -> None:
    headers = {"HTTP_IDEMPOTENCY_KEY": "batch-1"}
    first = bob_api.post("/leads/bulk", {"leads": [{"email": "a@x.example"}]}, **headers)
    assert first.status_code == 200
    other = {"leads": [{"email": "bad"}], "on_invalid": "fail"}
    refused = bob_api.post("/leads/bulk", other, **headers)
    assert refused.status_code == 422  # the key's error, not the row's
    assert [error["field"] for error in refused.json()["errors"]] == ["Idempotency-Key"]


def test_a_bulk_without_origins_reads_no_source_or_campaign(bob: Any) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from leadsieve.api.services import prepare_bulk

    with CaptureQueriesContext(connection) as queries:
        prepared = prepare_bulk([{"email": f"l{i}@x.example"} for i in range(50)])
    assert len(queries) == 0
    assert [positions for _, positions, _, _ in prepared.groups] == [list(range(50))]
