"""The API's reads at scale: an index walk, two queries, and the schema's own answer."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

from django.db import connection
from django.test.utils import CaptureQueriesContext
from ninja.responses import NinjaJSONEncoder

from leadsieve.api.queries import list_leads_for_api
from leadsieve.api.schemas import LeadListFilters, LeadOut
from tests.api.conftest import ApiClient


def _validated(lead: Any) -> dict[str, Any]:
    """What ninja answered when it validated the lead against ``LeadOut``."""
    lead.refresh_from_db()
    answer: dict[str, Any] = json.loads(
        json.dumps(LeadOut.from_orm(lead).model_dump(), cls=NinjaJSONEncoder)
    )
    return answer


def _leads(bob: Any, make_lead: Any) -> list[Any]:
    return [
        make_lead(
            owner=bob,
            team=bob.team,
            budget=Decimal("12500.50"),
            custom={"plan": "pro", "seats": 12, "trial": True, "score": 0.5, "none": None},
            last_activity_at=dt.datetime(2026, 3, 1, 12, 30, 15, 123456, tzinfo=dt.UTC),
            consent=True,
        ),
        make_lead(owner=bob, team=bob.team, phone="+33612345678", city="Lyon"),
    ]


def test_the_list_answers_each_lead_as_the_schema_validates_it(
    bob_api: ApiClient, bob: Any, make_lead: Any
) -> None:
    leads = _leads(bob, make_lead)

    response = bob_api.get("/leads")

    assert response.status_code == 200
    assert response.json()["results"] == [_validated(lead) for lead in leads]


def test_a_lead_is_answered_as_the_schema_validates_it(
    bob_api: ApiClient, bob: Any, make_lead: Any
) -> None:
    lead = _leads(bob, make_lead)[0]

    response = bob_api.get(f"/leads/{lead.pk}")

    assert response.status_code == 200
    assert response.json() == _validated(lead)


def test_a_page_and_a_lead_take_two_queries_each(
    bob_api: ApiClient, bob: Any, make_lead: Any, django_assert_num_queries: Any
) -> None:
    lead = _leads(bob, make_lead)[0]
    bob_api.get("/leads")  # the token's last use is recorded at most once a minute

    with django_assert_num_queries(2):  # the token, the page
        assert bob_api.get("/leads", {"limit": 1}).json()["next_cursor"]
    with django_assert_num_queries(2):  # the token, the lead
        assert bob_api.get(f"/leads/{lead.pk}").status_code == 200


def test_the_list_orders_by_its_not_null_keyset_columns_without_nulls_last(
    alice: Any, make_lead: Any
) -> None:
    make_lead(team=alice.team)
    with CaptureQueriesContext(connection) as queries:
        list_leads_for_api(alice, LeadListFilters())
    sql = queries.captured_queries[-1]["sql"].upper()

    # NULLS LAST on NOT NULL columns kept both planners from walking the created_at index:
    # they sorted every lead in scope (a temporary B-tree over 500,000 rows at 1M leads).
    assert "NULLS LAST" not in sql


def test_a_bulk_answer_is_what_its_schema_validates(bob_api: ApiClient) -> None:
    from leadsieve.api.schemas import BulkOut

    leads = [{"first_name": "Ann", "email": "ann@example.org"}, {"email": "not an email"}]
    response = bob_api.post("/leads/bulk", {"leads": leads})

    assert response.status_code == 200
    answer = response.json()
    assert answer == json.loads(BulkOut.model_validate(answer).model_dump_json())
    assert [row["status"] for row in answer["results"]] == ["created", "rejected"]
