"""Imports bring historical dates: created, qualified (MQL/SQL) and closed at; bad dates are
rejected with the row, the column and the rule."""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from pathlib import Path

import pytest

from leadsieve.insights.milestones import refresh_leads
from leadsieve.insights.models import LeadMilestones
from leadsieve.leads.models import Lead, LeadChange
from tests.leads.importing import run

pytestmark = pytest.mark.django_db

MAPPING = """
[columns]
"Email" = "email"
"Created" = "created_at"
"MQL date" = "mql_at"
"SQL date" = "sql_at"
"Closed" = "closed_at"
"Result" = "outcome"

[dates]
"MQL date" = "%d/%m/%Y"
"""
HEADER = ["Email", "Created", "MQL date", "SQL date", "Closed", "Result"]


def _import(tmp_path: Path, rows: list[list[str]]) -> str:
    mapping = tmp_path / "mapping.toml"
    mapping.write_text(MAPPING, encoding="utf-8")
    path = tmp_path / "history.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        writer.writerows(rows)
    return run(path, mapping)


def _rejected(tmp_path: Path) -> list[list[str]]:
    files = sorted(tmp_path.glob("*rejected*.csv"))
    assert files, "no file of rejected rows"
    with files[0].open(encoding="utf-8") as handle:
        return list(csv.reader(handle))


def test_it_rejects_dates_out_of_order_naming_the_row_and_the_column(tmp_path: Path) -> None:
    out = _import(
        tmp_path,
        [
            ["a@x.test", "2024-03-01", "02/03/2024", "2024-03-05", "2024-02-01", "won"],
            ["b@x.test", "2024-03-01", "02/03/2024", "2024-02-20", "", "open"],
            ["c@x.test", "2024-03-01", "", "", "2024-04-01", "open"],
            ["d@x.test", "2024-03-01", "01/01/1960", "", "", "open"],
            ["e@x.test", "2024-03-01", "02/03/2024", "", "2024-03-20", "lost"],
        ],
    )
    assert Lead.objects.get().email == "e@x.test"  # the one good row imported
    rows = _rejected(tmp_path)
    assert rows[0] == ["row", "column", "field", "value", "reason"]
    found: dict[tuple[str, str], list[str]] = {}
    for row, column, _, _, reason in rows[1:]:
        found.setdefault((row, column), []).append(reason)
    # Data rows count from 1; the column is the file's.
    assert "The date is before the SQL date." in found[("1", "Closed")]
    assert "The date is before the MQL date." in found[("2", "SQL date")]
    assert found[("3", "Closed")][0].startswith("A closing date needs an outcome won or lost")
    assert found[("4", "MQL date")][0].startswith("The date must be between 1970-01-01")
    assert {row for row, _ in found} == {"1", "2", "3", "4"}
    assert "rejected" in out


def test_it_imports_created_qualified_and_closed_dates_into_the_history(tmp_path: Path) -> None:
    _import(
        tmp_path,
        [
            ["won@x.test", "2024-03-01", "02/03/2024", "2024-03-05T10:00Z", "2024-03-20", "won"],
            ["lost@x.test", "2024-01-10", "", "", "2024-02-01", "lost"],
            ["open@x.test", "2024-05-01", "03/05/2024", "", "", ""],
        ],
    )
    won = Lead.objects.get(email="won@x.test")
    assert won.created_at == datetime(2024, 3, 1, tzinfo=UTC)
    assert won.closed_at == datetime(2024, 3, 20, tzinfo=UTC)
    statuses = sorted(
        (c.changed_at, c.changes["status"][1]) for c in LeadChange.objects.filter(lead=won)
    )
    assert statuses == [
        (datetime(2024, 3, 2, tzinfo=UTC), "mql"),
        (datetime(2024, 3, 5, 10, tzinfo=UTC), "sql"),
    ]
    refresh_leads(list(Lead.objects.values_list("id", flat=True)))
    milestones = {m.lead.email: m for m in LeadMilestones.objects.select_related("lead")}
    assert milestones["won@x.test"].mql_at == datetime(2024, 3, 2, tzinfo=UTC)
    assert milestones["won@x.test"].sql_at == datetime(2024, 3, 5, 10, tzinfo=UTC)
    assert milestones["won@x.test"].won_at == datetime(2024, 3, 20, tzinfo=UTC)
    assert milestones["lost@x.test"].lost_at == datetime(2024, 2, 1, tzinfo=UTC)
    assert milestones["lost@x.test"].won_at is None
    assert milestones["open@x.test"].mql_at == datetime(2024, 5, 3, tzinfo=UTC)
    assert milestones["open@x.test"].won_at is None and milestones["open@x.test"].lost_at is None


def test_the_example_history_file_imports_with_every_date(tmp_path: Path) -> None:
    examples = Path(__file__).resolve().parents[2] / "examples"
    out = run(
        examples / "history.csv", examples / "history.toml", "--rejected", str(tmp_path / "r.csv")
    )
    assert "4 leads created" in out and "0 rejected" in out
    ada = Lead.objects.get(email="ada@analytical.engines")
    assert (ada.outcome, ada.closed_at) == ("won", datetime(2025, 2, 20, tzinfo=UTC))
    assert LeadChange.objects.filter(action="import_history").count() == 6
    assert Lead.objects.get(email="katherine@nasa.test").outcome == "open"
