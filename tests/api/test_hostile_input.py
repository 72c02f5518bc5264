"""Hostile input to the API (issue #16, findings 3 and 4): every refusal is a 4xx in JSON
naming the field, never a 500, and nothing is stored. Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import pytest

from tests.api.conftest import ApiClient

pytestmark = pytest.mark.django_db

ACTIVITIES = "/leads/{id}/activities"


def _fields(response: Any) -> set[str]:
    assert response["Content-Type"].startswith("application/json"), response.content[:200]
    return {error["field"] for error in response.json()["errors"]}


@pytest.fixture
def lead(bob: Any, make_lead: Any) -> Any:
    return make_lead(owner=bob, team=bob.team)


# --- Finding 3: dates outside their window --------------------------------------------------


@pytest.mark.parametrize(
    "when",
    [
        "0001-01-01T00:00:00+14:00",  # year 0 in UTC: stored, then unreadable on PostgreSQL
        "0001-01-01T00:00:00Z",
        "1969-12-31T23:59:59Z",
        "9999-12-31T23:59:59-23:00",  # overflows Python's datetime once turned to UTC
        "9999-01-01T00:00:00Z",  # would pin "last activity" forever
    ],
)
def test_an_activity_dated_outside_its_window_is_refused_naming_occurred_at(
    bob_api: ApiClient, lead: Any, when: str
) -> None:
    from leadsieve.leads.models import Activity, Lead

    response = bob_api.post(f"/leads/{lead.pk}/activities", {"kind": "call", "occurred_at": when})
    assert response.status_code == 422, response.content
    assert _fields(response) == {"occurred_at"}
    assert not Activity.objects.filter(lead=lead).exists()
    assert Lead.objects.get(pk=lead.pk).last_activity_at is None


def test_an_activity_up_to_a_day_ahead_is_taken_and_two_days_ahead_is_not(
    bob_api: ApiClient, lead: Any
) -> None:
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    soon = (now + dt.timedelta(hours=23)).isoformat()
    later = (now + dt.timedelta(days=2)).isoformat()
    ok = bob_api.post(f"/leads/{lead.pk}/activities", {"kind": "call", "occurred_at": soon})
    assert ok.status_code == 201, ok.content
    refused = bob_api.post(f"/leads/{lead.pk}/activities", {"kind": "call", "occurred_at": later})
    assert refused.status_code == 422 and _fields(refused) == {"occurred_at"}


@pytest.mark.parametrize("when", [1_700_000_000, 0, True, "1700000000", "yesterday"])
def test_an_occurred_at_that_is_not_iso_text_is_refused_not_read_as_1970(
    bob_api: ApiClient, lead: Any, when: Any
) -> None:
    from leadsieve.leads.models import Activity

    response = bob_api.post(f"/leads/{lead.pk}/activities", {"kind": "call", "occurred_at": when})
    assert response.status_code == 422, response.content
    assert _fields(response) == {"occurred_at"}
    assert not Activity.objects.exists()


def test_the_activity_service_refuses_a_date_out_of_its_window(lead: Any, bob: Any) -> None:
    from leadsieve.leads.date_windows import DateOutOfWindow
    from leadsieve.leads.models import Activity
    from leadsieve.leads.services.activities import record_activity

    with pytest.raises(DateOutOfWindow) as refused:
        record_activity(
            lead,
            kind="call",
            channel="manual",
            user=bob,
            occurred_at=dt.datetime(1900, 1, 1, tzinfo=dt.UTC),
        )
    assert refused.value.field == "occurred_at"
    assert not Activity.objects.exists()


# --- Finding 4: other 500s on hostile input -------------------------------------------------


@pytest.mark.parametrize("name", ["created_after", "created_before", "updated_after"])
@pytest.mark.parametrize(
    "when",
    [
        "9999-12-31T23:59:59-23:00",
        "0001-01-01T00:00:00+14:00",
        "2100-01-01T00:00:00Z",
        "1700000000",
        "2024-02-30T00:00:00Z",
        "2024-01-01T00:00:00+25:00",
    ],
)
def test_a_list_date_filter_outside_1970_to_2099_or_not_a_date_is_a_422(
    bob_api: ApiClient, name: str, when: str
) -> None:
    response = bob_api.get("/leads", {name: when})
    assert response.status_code == 422, response.content
    assert _fields(response) == {name}


def test_a_list_date_filter_inside_the_window_with_any_zone_is_taken(bob_api: ApiClient) -> None:
    for when in ("1970-01-01T00:00:00Z", "2099-12-31T10:00:00-05:00", "2024-05-31 14:30"):
        response = bob_api.get("/leads", {"created_before": when})
        assert response.status_code == 200, (when, response.content)


@pytest.mark.parametrize(
    ("path", "raw", "field"),
    [
        (ACTIVITIES, '{"kind": "call", "payload": {"score": 1e400}}', "payload.score"),
        (ACTIVITIES, '{"kind": "call", "payload": {"a": [1, -1e999]}}', "payload.a.1"),
        ("/leads", '{"email": "a@example.org", "custom": {"size": 1e400}}', "custom.size"),
        ("/leads", '{"email": "a@example.org", "budget": 1e400}', "budget"),
        ("/leads", '{"email": "a@example.org", "custom": {"n": 99999999999999999999}}', "custom.n"),
        ("/leads/bulk", '{"leads": [{"email": "a@b.org"}, {"budget": -1e400}]}', "leads.1.budget"),
    ],
)
def test_a_number_no_field_can_hold_is_refused_naming_the_field(
    bob_api: ApiClient, lead: Any, path: str, raw: str, field: str
) -> None:
    from leadsieve.leads.models import Activity, Lead

    response = bob_api.post(path.format(id=lead.pk), raw=raw)
    assert response.status_code == 422, response.content
    assert _fields(response) == {field}
    assert not Activity.objects.exists()
    assert Lead.objects.count() == 1


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ('{"kind": "call", "subject": "a\\ud800b"}', "subject"),
        ('{"kind": "call", "payload": {"note": ["ok", "\\udfff"]}}', "payload.note.1"),
        ('{"kind": "call", "payload": {"key\\udfff": 1}}', "payload"),
    ],
)
def test_a_lone_surrogate_anywhere_in_a_body_is_refused_naming_the_field(
    bob_api: ApiClient, lead: Any, raw: str, field: str
) -> None:
    from leadsieve.leads.models import Activity

    response = bob_api.post(ACTIVITIES.format(id=lead.pk), raw=raw)
    assert response.status_code == 422, response.content
    assert _fields(response) == {field}
    assert not Activity.objects.exists()


def test_a_body_nested_thousands_deep_is_a_400(bob_api: ApiClient, lead: Any) -> None:
    deep = "[" * 5000 + "]" * 5000
    raw = '{"kind": "call", "payload": {"x": ' + deep + "}}"
    response = bob_api.post(ACTIVITIES.format(id=lead.pk), raw=raw)
    assert response.status_code == 400
    assert _fields(response) == {"body"}


def test_an_integer_of_thousands_of_digits_is_a_400_not_a_500(bob_api: ApiClient) -> None:
    raw = '{"email": "a@b.org", "custom": {"n": ' + "9" * 5000 + "}}"
    response = bob_api.post("/leads", raw=raw)
    assert response.status_code == 400
    assert _fields(response) == {"body"}


@pytest.mark.parametrize("name", ["q", "email", "cursor"])
def test_a_nul_in_a_query_parameter_is_a_422(bob_api: ApiClient, name: str) -> None:
    response = bob_api.get("/leads", {name: "ab\x00c"})
    assert response.status_code == 422, response.content
    assert _fields(response) == {name}


def test_a_nul_in_the_token_is_a_401(db: None) -> None:
    response = ApiClient("ls_ab\x00cd_secret").get("/leads")
    assert response.status_code == 401
    assert _fields(response) == {"Authorization"}


@pytest.mark.parametrize("lead_id", [2**63, 2**64 + 1, 10**30, 0, -1])
def test_a_lead_id_no_lead_can_have_is_a_404(bob_api: ApiClient, lead_id: int) -> None:
    for response in (
        bob_api.get(f"/leads/{lead_id}"),
        bob_api.patch(f"/leads/{lead_id}", {"city": "Lyon"}),
        bob_api.post(f"/leads/{lead_id}/activities", {"kind": "call"}),
    ):
        assert response.status_code == 404, response.content
        assert _fields(response) == {"id"}


@pytest.mark.parametrize(
    "query", [{"owner": 2**63}, {"source": 10**30}, {"limit": 10**30}, {"campaign": -1}]
)
def test_a_huge_id_or_limit_in_the_list_is_a_422(bob_api: ApiClient, query: Any) -> None:
    response = bob_api.get("/leads", query)
    assert response.status_code == 422
    assert _fields(response) == set(query)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": "a@b.org", "source_id": 2**63}, "source_id"),
        ({"email": "a@b.org", "source_id": "5"}, "source_id"),
        ({"email": "a@b.org", "campaign_id": 1.5}, "campaign_id"),
        ({"email": "a@b.org", "budget": "1" * 20}, "budget"),
        ({"email": "a@b.org", "city": "x" * 100_000}, "city"),
    ],
)
def test_a_wrong_or_huge_value_in_a_lead_is_a_422(
    bob_api: ApiClient, body: dict[str, Any], field: str
) -> None:
    response = bob_api.post("/leads", body)
    assert response.status_code == 422, response.content
    assert _fields(response) == {field}


def test_a_path_the_api_does_not_have_answers_json_404(bob_api: ApiClient) -> None:
    for path in ("/nope", "/leads/1/nope", "/"):
        response = bob_api.get(path)
        assert response.status_code == 404, path
        assert _fields(response) == {"path"}


def test_a_method_an_operation_does_not_take_answers_json_405(bob_api: ApiClient) -> None:
    response = bob_api.client.delete("/api/v1/leads", **bob_api.headers)
    assert response.status_code == 405
    assert _fields(response) == {"method"}
    assert "GET" in response["Allow"]


def test_an_unexpected_error_answers_json_500_and_is_logged(
    bob_api: ApiClient, monkeypatch: Any, caplog: Any
) -> None:
    from leadsieve.api import queries

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("a bug")

    # Fault injection: the catch-all is the subject; every known cause is fixed at its source.
    monkeypatch.setattr(queries, "list_leads_for_api", broken)
    with caplog.at_level(logging.ERROR, logger="leadsieve.api.api"):
        response = bob_api.get("/leads")
    assert response.status_code == 500
    assert _fields(response) == {"request"}
    assert "a bug" not in response.content.decode()
    assert any("a bug" in (record.exc_text or "") for record in caplog.records)


def test_a_busy_database_answers_json_503_with_retry_after(
    bob_api: ApiClient, monkeypatch: Any
) -> None:
    from django.db import OperationalError

    from leadsieve.api import queries

    def locked(*args: Any, **kwargs: Any) -> Any:
        raise OperationalError("database is locked")

    # Fault injection: SQLite's lock wait running out cannot be timed reliably in a test.
    monkeypatch.setattr(queries, "list_leads_for_api", locked)
    response = bob_api.get("/leads")
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert _fields(response) == {"request"}
