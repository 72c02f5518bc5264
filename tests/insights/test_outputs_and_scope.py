"""The CLI's JSON, the API, the CSV export and the page print the same figures, and each
shows only the leads its user may see."""

from __future__ import annotations

import csv
import io
import json
from typing import Any
from urllib.parse import urlencode

import pytest
from django.core.management import call_command
from django.test import Client

from tests.insights.conftest import PERIOD

pytestmark = pytest.mark.django_db
QUERY = {**PERIOD, "by": "source"}


def client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def cli(*args: str) -> str:
    out = io.StringIO()
    call_command("report", *args, stdout=out)
    return out.getvalue()


def test_cli_json_api_csv_and_page_agree(history: Any, api_as: Any) -> None:
    from_cli = json.loads(
        cli(
            "funnel",
            "--by",
            "source",
            "--from",
            PERIOD["from"],
            "--to",
            PERIOD["to"],
            "--format",
            "json",
        )
    )
    from_api = api_as(history.admin).get("/insights/funnel", QUERY).json()
    assert from_cli["tables"] == from_api["tables"]
    funnel = {r["label"]: r for r in from_api["tables"][0]["rows"]}
    assert funnel["Ads"]["n_won"] == 2

    client = client_for(history.admin)
    exported = client.get(f"/insights/funnel/csv/?{urlencode(QUERY)}&table=funnel")
    assert exported.status_code == 200
    assert exported["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(exported.content.decode())))
    header = rows[0]
    ads = dict(zip(header, next(r for r in rows if r[0] == "Ads"), strict=True))
    assert (ads["Leads"], ads["MQL"], ads["Won"]) == ("5", "3", "2")
    assert rows == list(
        csv.reader(
            io.StringIO(
                cli(
                    "funnel",
                    "--by",
                    "source",
                    "--from",
                    PERIOD["from"],
                    "--to",
                    PERIOD["to"],
                    "--format",
                    "csv",
                    "--table",
                    "funnel",
                )
            )
        )
    )

    page = client.get("/insights/funnel/", QUERY)
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-table="funnel"' in html and "<svg" in html
    ads_row = html[html.index(">Ads</a>") :].split("</tr>")[0]
    assert [c.split(">")[-1] for c in ads_row.split("</td>")[:6]] == ["5", "3", "3", "2", "2", "2"]
    fragment = client.get("/insights/funnel/", QUERY, HTTP_HX_REQUEST="true")
    assert b"<html" not in fragment.content and b'data-table="funnel"' in fragment.content


def test_cost_agrees_between_cli_and_api(history: Any, api_as: Any) -> None:
    from_cli = json.loads(cli("cost", "--from", PERIOD["from"], "--to", PERIOD["to"]))
    from_api = api_as(history.admin).get("/insights/cost", PERIOD).json()
    assert from_cli["tables"] == from_api["tables"]
    assert client_for(history.alice).get("/insights/cost/", PERIOD).status_code == 200


SEEN = {
    # user: sources with leads in scope → their lead counts
    "admin": {"Ads": 5, "Referrals": 2, "Calls": 1},
    "alice": {"Ads": 5, "Calls": 1},  # North's manager: North's leads
    "bob": {"Ads": 5, "Calls": 1},  # North's rep: his own plus North's unassigned (A4, C1)
    "carol": {"Referrals": 2},  # South's rep: her own
}


@pytest.mark.parametrize("who", sorted(SEEN))
def test_each_role_sees_its_scope_on_the_page_the_api_and_the_cli(
    history: Any, api_as: Any, who: str
) -> None:
    user = getattr(history, who)
    api = api_as(user).get("/insights/funnel", QUERY).json()
    assert {r["label"]: r["n_leads"] for r in api["tables"][0]["rows"]} == SEEN[who]
    exported = client_for(user).get(f"/insights/funnel/csv/?{urlencode(QUERY)}")
    labels = {r[0] for r in list(csv.reader(io.StringIO(exported.content.decode())))[1:-1]}
    assert labels == set(SEEN[who])
    page = client_for(user).get("/insights/funnel/", QUERY).content.decode()
    for source in ("Ads", "Referrals", "Calls"):
        assert (f">{source}</a>" in page) == (source in SEEN[who])
    as_user = json.loads(
        cli("funnel", "--from", PERIOD["from"], "--to", PERIOD["to"], "--user", user.username)
    )
    assert as_user["tables"] == api["tables"]


def test_reps_are_refused_cost_everywhere(history: Any, api_as: Any) -> None:
    from django.core.management.base import CommandError

    assert client_for(history.bob).get("/insights/cost/").status_code == 403
    assert client_for(history.bob).get("/insights/cost/csv/").status_code == 403
    assert api_as(history.bob).get("/insights/cost").status_code == 403
    with pytest.raises(CommandError):
        cli("cost", "--user", "bob")


def test_signed_out_visitors_and_bad_tokens_see_nothing(history: Any, api_as: Any) -> None:
    from tests.api.conftest import ApiClient

    assert Client().get("/insights/funnel/").status_code == 302
    assert Client().get("/insights/funnel/csv/").status_code == 302
    assert ApiClient("nope").get("/insights/funnel").status_code == 401


def test_bad_parameters_are_refused_clearly(history: Any, api_as: Any) -> None:
    answer = api_as(history.admin).get("/insights/funnel", {"by": "colour"})
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["field"] == "by"
    assert api_as(history.admin).get("/insights/nothing").status_code == 404
    page = client_for(history.admin).get("/insights/funnel/", {"from": "yesterday"})
    assert page.status_code == 400 and b"YYYY-MM-DD" in page.content
    assert client_for(history.admin).get("/insights/nothing/").status_code == 404


def test_the_index_lists_the_reports(history: Any) -> None:
    page = client_for(history.bob).get("/insights/")
    assert page.status_code == 200
    assert b"/insights/funnel/" in page.content and b"/insights/cost/" in page.content
