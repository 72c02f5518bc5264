"""POST /leads: refusals first (each naming the field), then capture and idempotency."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.api.conftest import ApiClient

ADA = {"first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.org"}


def _fields(response: Any) -> set[str]:
    return {error["field"] for error in response.json()["errors"]}


def test_it_refuses_malformed_json_saying_where(bob_api: ApiClient) -> None:
    from leadsieve.leads.models import Lead

    response = bob_api.post("/leads", raw='{"email": "a@b.org",')
    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert error["field"] == "body" and "line 1 column" in error["message"]
    assert bob_api.post("/leads", raw='{"budget": NaN}').status_code == 400
    assert Lead.objects.count() == 0


def test_it_refuses_wrong_types_naming_the_field(bob_api: ApiClient) -> None:
    response = bob_api.post("/leads", {"email": 42, "consent": "maybe", "budget": "lots"})
    assert response.status_code == 422
    assert _fields(response) == {"email", "consent", "budget"}
    assert bob_api.post("/leads", raw="[1, 2]").status_code == 422


def test_it_refuses_unknown_fields(bob_api: ApiClient) -> None:
    response = bob_api.post("/leads", {**ADA, "owner_id": 1, "rating": 99})
    assert response.status_code == 422
    assert _fields(response) == {"owner_id", "rating"}


def test_it_refuses_too_long_values_and_nul_bytes(bob_api: ApiClient) -> None:
    response = bob_api.post("/leads", {**ADA, "first_name": "x" * 151, "city": "a\x00b"})
    assert response.status_code == 422
    assert _fields(response) == {"first_name", "city"}


def test_it_names_an_invalid_email_or_phone(bob_api: ApiClient) -> None:
    response = bob_api.post("/leads", {**ADA, "email": "ada-at-example", "phone": "12"})
    assert response.status_code == 422
    assert _fields(response) == {"email", "phone"}


def test_it_names_an_unknown_source(bob_api: ApiClient) -> None:
    response = bob_api.post("/leads", {**ADA, "source_id": 999999})
    assert response.status_code == 422
    assert _fields(response) == {"source_id"}


def test_it_refuses_an_oversize_body_with_413(bob_api: ApiClient, settings: Any) -> None:
    settings.LEADSIEVE_API_MAX_BODY_BYTES = 2048
    response = bob_api.post("/leads", {**ADA, "need": "x" * 3000})
    assert response.status_code == 413
    assert _fields(response) == {"body"}


def test_it_creates_a_lead_then_merges_the_same_email_into_it(bob_api: ApiClient, bob: Any) -> None:
    from leadsieve.leads.models import Activity, Channel, Lead

    first = bob_api.post("/leads", {**ADA, "phone": "+1 415 555 0100", "custom": {"seats": 5}})
    assert first.status_code == 201
    body = first.json()
    assert body["created"] is True
    lead = Lead.objects.get(pk=body["lead"]["id"])
    assert (lead.phone, lead.created_via) == ("+14155550100", Channel.API)
    assert lead.team_id == bob.team_id
    assert body["lead"]["custom"] == {"seats": 5}
    second = bob_api.post("/leads", {"email": "ADA@example.org", "job_title": "Countess"})
    assert second.status_code == 200
    assert second.json()["created"] is False
    assert second.json()["lead"]["id"] == lead.pk
    assert Lead.objects.filter(merged_into__isnull=True).count() == 1
    assert Activity.objects.filter(lead=lead).count() == 2


def test_a_retry_with_the_same_key_replays_the_response_and_creates_nothing(
    bob_api: ApiClient,
) -> None:
    from leadsieve.leads.models import Activity, Lead

    first = bob_api.post("/leads", ADA, HTTP_IDEMPOTENCY_KEY="order-42")
    again = bob_api.post("/leads", dict(reversed(ADA.items())), HTTP_IDEMPOTENCY_KEY="order-42")
    assert first.status_code == again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert Lead.objects.count() == 1 and Activity.objects.count() == 1


def test_the_same_key_with_another_body_is_refused(bob_api: ApiClient) -> None:
    from leadsieve.leads.models import Lead

    bob_api.post("/leads", ADA, HTTP_IDEMPOTENCY_KEY="order-42")
    response = bob_api.post(
        "/leads", {**ADA, "first_name": "Augusta"}, HTTP_IDEMPOTENCY_KEY="order-42"
    )
    assert response.status_code == 422
    assert _fields(response) == {"Idempotency-Key"}
    assert Lead.objects.count() == 1


def test_keys_are_per_user_and_a_refused_body_does_not_burn_the_key(
    bob_api: ApiClient, api_as: Any, alice: Any
) -> None:
    from leadsieve.leads.models import Lead

    refused = bob_api.post("/leads", {**ADA, "email": "bad"}, HTTP_IDEMPOTENCY_KEY="k1")
    assert refused.status_code == 422
    assert bob_api.post("/leads", ADA, HTTP_IDEMPOTENCY_KEY="k1").status_code == 201
    other = {"email": "grace@example.org"}
    assert api_as(alice).post("/leads", other, HTTP_IDEMPOTENCY_KEY="k1").status_code == 201
    assert Lead.objects.count() == 2
    bad_key = bob_api.post("/leads", ADA, HTTP_IDEMPOTENCY_KEY="x" * 201)
    assert bad_key.status_code == 422 and _fields(bad_key) == {"Idempotency-Key"}


def test_the_stored_response_is_json(bob_api: ApiClient) -> None:
    from leadsieve.api.models import IdempotencyKey

    bob_api.post("/leads", {**ADA, "budget": "1500.50"}, HTTP_IDEMPOTENCY_KEY="k")
    stored = IdempotencyKey.objects.get()
    assert json.loads(json.dumps(stored.response))["lead"]["budget"] == "1500.50"
    assert stored.lead_id == stored.response["lead"]["id"]


def test_it_refuses_an_empty_or_non_object_body_and_huge_ids(bob_api: ApiClient) -> None:
    assert _fields(bob_api.post("/leads", raw="")) == {"body"}
    assert _fields(bob_api.post("/leads", "just a string")) == {"body"}
    huge = bob_api.post("/leads", {**ADA, "source_id": 10**30})
    assert huge.status_code == 422 and _fields(huge) == {"source_id"}
    listed = bob_api.get("/leads", {"owner": 10**30})
    assert listed.status_code == 422 and _fields(listed) == {"owner"}
    assert bob_api.get(f"/leads/{10**30}").status_code == 404


def test_old_idempotency_keys_are_purged_and_recent_ones_kept(bob_api: ApiClient) -> None:
    import time_machine
    from django.core.management import call_command
    from django.core.management.base import CommandError

    from leadsieve.api.models import IdempotencyKey

    with time_machine.travel("2026-01-01 10:00:00+00:00", tick=False):
        bob_api.post("/leads", ADA, HTTP_IDEMPOTENCY_KEY="old")
    bob_api.post("/leads", {"email": "grace@example.org"}, HTTP_IDEMPOTENCY_KEY="new")
    with pytest.raises(CommandError, match="--days"):
        call_command("purge_idempotency_keys", days=0)
    call_command("purge_idempotency_keys", days=7)
    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["new"]


def test_refusals_keep_their_order_now_that_values_are_cleaned_first(bob_api: ApiClient) -> None:
    bob_api.post("/leads", ADA, HTTP_IDEMPOTENCY_KEY="order-7")
    reused = bob_api.post("/leads", {**ADA, "email": "bad"}, HTTP_IDEMPOTENCY_KEY="order-7")
    assert reused.status_code == 422 and _fields(reused) == {"Idempotency-Key"}
    unknown = bob_api.post("/leads", {**ADA, "email": "bad", "source_id": 999999})
    assert unknown.status_code == 422 and _fields(unknown) == {"source_id"}


def test_a_refused_capture_never_opens_a_write_transaction(bob_api: ApiClient) -> None:
    """On SQLite a transaction holds the one write lock every capture waits for: values
    are cleaned, and refused, before it opens."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    bob_api.get("/leads")  # the token's first use is recorded (a write of its own)
    with CaptureQueriesContext(connection) as refused_queries:
        refused = bob_api.post("/leads", {**ADA, "email": "bad"})
    assert refused.status_code == 422 and _fields(refused) == {"email"}
    with CaptureQueriesContext(connection) as accepted_queries:
        assert bob_api.post("/leads", ADA).status_code == 201
    # Inside the test's own transaction a capture's block is a savepoint.
    assert not any("SAVEPOINT" in q["sql"] for q in refused_queries.captured_queries)
    assert any("SAVEPOINT" in q["sql"] for q in accepted_queries.captured_queries)
