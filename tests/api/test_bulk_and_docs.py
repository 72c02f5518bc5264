"""Bulk capture of 500+ leads with per-row results, and the self-hosted API docs."""

from __future__ import annotations

import re
from typing import Any

from tests.api.conftest import ApiClient


def test_bulk_refuses_more_than_the_limit_and_empty_batches(bob_api: ApiClient) -> None:
    too_many = {"leads": [{"email": f"l{i}@example.org"} for i in range(1001)]}
    response = bob_api.post("/leads/bulk", too_many)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "leads"
    assert bob_api.post("/leads/bulk", {"leads": []}).status_code == 422


def test_bulk_names_the_row_of_a_wrong_type(bob_api: ApiClient) -> None:
    response = bob_api.post("/leads/bulk", {"leads": [{"email": "a@b.org"}, {"email": 5}]})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "leads.1.email"


def test_bulk_fail_mode_saves_nothing_when_a_row_is_invalid(bob_api: ApiClient) -> None:
    from leadsieve.leads.models import Lead

    rows = [{"email": "good@example.org"}, {"email": "bad"}]
    response = bob_api.post("/leads/bulk", {"leads": rows, "on_invalid": "fail"})
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"field": "email", "message": response.json()["errors"][0]["message"], "row": 1}
    ]
    assert Lead.objects.count() == 0


def test_bulk_captures_500_leads_with_per_row_results(bob_api: ApiClient, bob: Any) -> None:
    from leadsieve.leads.models import Lead, Source

    web = Source.objects.create(name="Web")
    rows: list[dict[str, Any]] = [
        {"first_name": f"Lead{i}", "email": f"lead{i}@company{i}.example"} for i in range(500)
    ]
    rows[10]["email"] = "not-an-email"
    rows[20]["source_id"] = web.pk
    rows[30]["email"] = "LEAD31@company31.example"  # the same person as row 31
    rows[40]["source_id"] = 424242
    response = bob_api.post("/leads/bulk", {"leads": rows})
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["n_created"], body["n_merged"], body["n_rejected"]) == (497, 1, 2)
    results = body["results"]
    assert [r["row"] for r in results] == list(range(500))
    assert results[10]["status"] == "rejected" and results[10]["errors"][0]["field"] == "email"
    assert results[40]["errors"][0]["field"] == "source_id"
    assert {results[30]["status"], results[31]["status"]} == {"created", "merged"}
    assert results[30]["lead_id"] == results[31]["lead_id"]
    assert Lead.objects.filter(merged_into__isnull=True).count() == 497
    assert Lead.objects.get(pk=results[20]["lead_id"]).source == web
    assert Lead.objects.filter(team=bob.team).count() == 497


def test_the_openapi_schema_is_served_and_describes_the_endpoints(bob: Any) -> None:
    from django.test import Client

    client = Client()
    client.force_login(bob)
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    assert {"/api/v1/leads", "/api/v1/leads/{lead_id}", "/api/v1/leads/bulk"} <= set(paths)
    assert "/api/v1/leads/{lead_id}/activities" in paths
    assert "bearer" in str(response.json()["components"]["securitySchemes"]).lower()


def test_the_docs_page_loads_no_external_url(bob: Any) -> None:
    from django.test import Client

    client = Client()
    client.force_login(bob)
    response = client.get("/api/v1/docs")
    assert response.status_code == 200
    page = response.content.decode()
    assert "swagger-ui-bundle.js" in page
    urls = re.findall(r"""(?:src|href)=["']([^"']+)""", page)
    assert urls and all(url.startswith("/") for url in urls), urls
    assert "cdn" not in page.lower() and "https://" not in page
