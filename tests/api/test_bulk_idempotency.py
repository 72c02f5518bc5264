"""``Idempotency-Key`` on ``POST /leads/bulk`` (issue #16, finding 7): a batch whose answer
was lost is retried with the same key and answered from what was stored, never captured twice.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.conftest import ApiClient

pytestmark = pytest.mark.django_db

BATCH = {"leads": [{"email": f"row{i}@example.org", "first_name": f"Row{i}"} for i in range(5)]}


def _fields(response: Any) -> set[str]:
    return {error["field"] for error in response.json()["errors"]}


def test_a_bulk_retry_with_the_same_key_replays_the_answer_and_captures_nothing_more(
    bob_api: ApiClient,
) -> None:
    from leadsieve.api.models import IdempotencyKey
    from leadsieve.leads.models import Activity, Lead

    first = bob_api.post("/leads/bulk", BATCH, HTTP_IDEMPOTENCY_KEY="batch-2026-12-07-1")
    assert first.status_code == 200, first.content
    assert first.json()["n_created"] == 5
    assert not first.has_header("Idempotent-Replayed")
    # The client never saw that answer (a timeout, a restart) and sends the batch again.
    again = bob_api.post("/leads/bulk", BATCH, HTTP_IDEMPOTENCY_KEY="batch-2026-12-07-1")
    assert again.status_code == 200
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert Lead.objects.count() == 5 and Activity.objects.count() == 5
    assert IdempotencyKey.objects.get().response == first.json()


def test_without_a_key_a_bulk_retry_merges_into_the_same_leads(bob_api: ApiClient) -> None:
    from leadsieve.leads.models import Lead

    bob_api.post("/leads/bulk", BATCH)
    again = bob_api.post("/leads/bulk", BATCH)
    assert again.json()["n_merged"] == 5
    assert not again.has_header("Idempotent-Replayed")
    assert Lead.objects.count() == 5


def test_a_bulk_key_reused_with_another_batch_or_on_single_capture_is_refused(
    bob_api: ApiClient,
) -> None:
    from leadsieve.leads.models import Lead

    bob_api.post("/leads/bulk", BATCH, HTTP_IDEMPOTENCY_KEY="k")
    other = {"leads": [*BATCH["leads"], {"email": "extra@example.org"}]}
    refused = bob_api.post("/leads/bulk", other, HTTP_IDEMPOTENCY_KEY="k")
    assert refused.status_code == 422 and _fields(refused) == {"Idempotency-Key"}
    failing = bob_api.post("/leads/bulk", {**BATCH, "on_invalid": "fail"}, HTTP_IDEMPOTENCY_KEY="k")
    assert failing.status_code == 422 and _fields(failing) == {"Idempotency-Key"}
    single = bob_api.post("/leads", BATCH["leads"][0], HTTP_IDEMPOTENCY_KEY="k")
    assert single.status_code == 422 and _fields(single) == {"Idempotency-Key"}
    assert Lead.objects.count() == 5


def test_a_refused_bulk_stores_nothing_so_its_key_can_be_used_again(bob_api: ApiClient) -> None:
    from leadsieve.api.models import IdempotencyKey
    from leadsieve.leads.models import Lead

    bad = {"leads": [{"email": "good@example.org"}, {"email": "bad"}], "on_invalid": "fail"}
    refused = bob_api.post("/leads/bulk", bad, HTTP_IDEMPOTENCY_KEY="k2")
    assert refused.status_code == 422
    assert not Lead.objects.exists() and not IdempotencyKey.objects.exists()
    fixed = {"leads": [{"email": "good@example.org"}, {"email": "fixed@example.org"}]}
    assert bob_api.post("/leads/bulk", fixed, HTTP_IDEMPOTENCY_KEY="k2").status_code == 200
    assert Lead.objects.count() == 2


def test_bulk_keys_are_per_user_and_checked_like_single_capture(
    bob_api: ApiClient, api_as: Any, alice: Any
) -> None:
    assert bob_api.post("/leads/bulk", BATCH, HTTP_IDEMPOTENCY_KEY="same").status_code == 200
    other = {"leads": [{"email": "alice-row@example.org"}]}
    mine = api_as(alice).post("/leads/bulk", other, HTTP_IDEMPOTENCY_KEY="same")
    assert mine.status_code == 200 and mine.json()["n_created"] == 1
    for key in ("x" * 201, "tab\there", "é"):
        response = bob_api.post("/leads/bulk", BATCH, HTTP_IDEMPOTENCY_KEY=key)
        assert response.status_code == 422, key
        assert _fields(response) == {"Idempotency-Key"}


def test_the_bulk_operation_tells_clients_to_send_a_key(bob_api: ApiClient) -> None:
    schema = bob_api.get("/openapi.json").json()
    bulk = schema["paths"]["/api/v1/leads/bulk"]["post"]
    assert "Idempotency-Key" in bulk["description"]
    assert any(p["name"] == "Idempotency-Key" for p in bulk["parameters"])
    assert "Idempotent-Replayed" in bulk["responses"]["200"]["headers"]
