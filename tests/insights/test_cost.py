"""Cost and return against the hand-built history, and entering spend (page, CSV, API)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from tests.insights.conftest import PERIOD
from tests.insights.test_funnel import wilson

pytestmark = pytest.mark.django_db


@pytest.fixture
def spend(history: Any, north: Any, south: Any) -> Any:
    from leadsieve.insights.models import Spend

    ads, referrals = history.sources["Ads"], history.sources["Referrals"]
    Spend.objects.create(month=dt.date(2026, 3, 1), source=ads, team=north, amount=Decimal("500"))
    Spend.objects.create(month=dt.date(2026, 2, 1), source=ads, team=north, amount=Decimal("300"))
    Spend.objects.create(
        month=dt.date(2026, 3, 1), source=referrals, team=south, amount=Decimal("1000")
    )
    return history


def cost(user: Any, **params: str) -> Any:
    from leadsieve.insights.registry import get_report_spec

    return get_report_spec("cost").build({**PERIOD, **params}, user)


def test_cost_per_step_and_return_per_source(spend: Any) -> None:
    table = cost(spend.admin).table("cost")
    rows = {r["label"]: r for r in table.rows}
    ads = rows["Ads"]  # 500 spent in March on 5 leads: 3 MQL, 3 SQL, 2 appointments, 2 won
    assert ads["spend"] == Decimal("500.00")
    assert ads["cost_per_lead"] == pytest.approx(100.0)
    assert ads["cost_per_mql"] == pytest.approx(round(500 / 3, 2))
    assert ads["cost_per_sql"] == pytest.approx(round(500 / 3, 2))
    assert ads["cost_per_appointment"] == pytest.approx(250.0)
    assert ads["cost_per_won"] == pytest.approx(250.0)
    assert ads["return_on_spend"] == pytest.approx(1200 / 500)
    _, low, high = wilson(2, 5)
    assert ads["cost_per_won_low"] == pytest.approx(round(500 / (5 * high), 2))
    assert ads["cost_per_won_high"] == pytest.approx(round(500 / (5 * low), 2))
    referrals = rows["Referrals"]
    assert (referrals["cost_per_lead"], referrals["cost_per_won"]) == (500.0, 1000.0)
    assert referrals["return_on_spend"] == pytest.approx(5.0)
    # Ranked by cost per won deal; Calls has no spend and comes last.
    assert [r["label"] for r in table.rows] == ["Ads", "Referrals", "Calls"]
    assert table.totals["spend"] == Decimal("1500.00")
    assert table.totals["cost_per_won"] == pytest.approx(500.0)  # 1500 / 3 won


def test_spend_of_a_month_covered_in_part_counts_in_part(spend: Any) -> None:
    rows = {r["label"]: r for r in cost(spend.admin, to="2026-03-15").table("cost").rows}
    assert rows["Ads"]["spend"] == (Decimal("500") * 15 / 31).quantize(Decimal("0.01"))


def test_a_manager_divides_their_team_spend_and_a_rep_is_refused(spend: Any) -> None:
    from django.core.exceptions import PermissionDenied

    rows = {r["label"]: r for r in cost(spend.alice).table("cost").rows}
    assert set(rows) == {"Ads", "Calls"}  # North's leads and spend only
    assert rows["Ads"]["spend"] == Decimal("500.00")
    with pytest.raises(PermissionDenied):
        cost(spend.bob)


def _signed_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_a_manager_enters_spend_on_the_page(history: Any) -> None:
    from leadsieve.insights.models import Spend

    client = _signed_in(history.alice)
    page = client.get("/insights/cost/spend/")
    assert page.status_code == 200
    answer = client.post(
        "/insights/cost/spend/",
        {"month": "2026-03", "source": history.sources["Calls"].pk, "amount": "250.50"},
    )
    assert answer.status_code == 302
    stored = Spend.objects.get()
    assert (stored.month, stored.amount, stored.team_id) == (
        dt.date(2026, 3, 1),
        Decimal("250.50"),
        history.alice.team_id,
    )
    # The same month and source again replaces the amount.
    client.post(
        "/insights/cost/spend/",
        {"month": "2026-03", "source": history.sources["Calls"].pk, "amount": "300"},
    )
    assert Spend.objects.get().amount == Decimal("300.00")
    refused = client.post("/insights/cost/spend/", {"month": "March", "amount": "-1"})
    assert refused.status_code == 400
    assert b"YYYY-MM" in refused.content
    assert _signed_in(history.bob).get("/insights/cost/spend/").status_code == 403


def test_a_csv_with_a_bad_row_saves_nothing_and_names_the_rows(history: Any) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    from leadsieve.insights.models import Spend

    text = (
        "month,source,campaign,amount,note\n"
        "2026-03,Ads,,100,ok\n"
        "2026-13,Ads,,100,bad month\n"
        "2026-03,Nowhere,,100,no such source\n"
        "2026-03,Calls,,-5,negative\n"
    )
    client = _signed_in(history.alice)
    upload = SimpleUploadedFile("spend.csv", text.encode(), content_type="text/csv")
    answer = client.post("/insights/cost/spend/import/", {"file": upload})
    assert answer.status_code == 400
    body = answer.content.decode()
    assert "Row 2, month" in body and "Row 3, source" in body and "Row 4, amount" in body
    assert not Spend.objects.exists()
    good = SimpleUploadedFile("spend.csv", b"month,source,amount\n2026-03,Ads,100\n")
    assert client.post("/insights/cost/spend/import/", {"file": good}).status_code == 302
    assert Spend.objects.get().amount == Decimal("100.00")


def test_the_api_enters_and_lists_spend(history: Any, api_as: Any) -> None:
    alice = api_as(history.alice)
    answer = alice.post(
        "/insights/spend",
        {"entries": [{"month": "2026-03", "source_id": history.sources["Ads"].pk, "amount": "42"}]},
    )
    assert answer.status_code == 201, answer.content
    assert answer.json()["results"][0]["team_id"] == history.alice.team_id
    refused = alice.post(
        "/insights/spend",
        {"entries": [{"month": "2026-3x", "source_id": history.sources["Ads"].pk, "amount": "1"}]},
    )
    assert refused.status_code == 422
    assert refused.json()["errors"][0] == {
        "field": "month",
        "message": refused.json()["errors"][0]["message"],
        "row": 1,
    }
    imported = alice.post("/insights/spend/import", {"csv": "month,source,amount\n2026-02,Ads,7\n"})
    assert imported.status_code == 201
    listed = alice.get("/insights/spend").json()["results"]
    assert sorted(r["amount"] for r in listed) == ["42.00", "7.00"]
    assert api_as(history.bob).get("/insights/spend").status_code == 403
