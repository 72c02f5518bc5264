from __future__ import annotations

import csv
import os
from pathlib import Path

import pytest
from django.core.management import CommandError

from leadsieve.leads.models import Activity, FieldDefinition, Lead, Source
from tests.leads.importing import run

pytestmark = pytest.mark.django_db

MAPPING = """
[constants]
source = "Trade fair"

[columns]
"E-mail" = "email"
"First" = "first_name"
"Last" = "last_name"
"Phone" = "phone"
"Subscribed" = "consent"
"Seats" = "custom.seats"
"Stage" = "custom.stage"

[translate."*"]
"Select" = ""

[translate."Subscribed"]
"Yes" = true
"No" = false

[fields.seats]
type = "number"

[fields.stage]
type = "choice"
post_contact = true
"""
HEADER = ["E-mail", "First", "Last", "Phone", "Subscribed", "Seats", "Stage"]
GOOD_ROWS = [
    ["ada@acme.test", "ADA", "LOVELACE", "+44 20 7946 0000", "Yes", "12", "Select"],
    ["grace@navy.test", "grace", "hopper", "", "No", "", "demo"],
    ["ADA@ACME.TEST", "", "", "", "No", "", ""],
]


@pytest.fixture
def mapping(tmp_path: Path) -> Path:
    path = tmp_path / "mapping.toml"
    path.write_text(MAPPING, encoding="utf-8")
    return path


def write_csv(
    path: Path, rows: list[list[str]], *, delimiter: str = ",", encoding: str = "utf-8"
) -> Path:
    with path.open("w", encoding=encoding, newline="") as handle:
        writer = csv.writer(handle, delimiter=delimiter)
        writer.writerow(HEADER)
        writer.writerows(rows)
    return path


def fails(path: Path, mapping: Path, *options: str) -> str:
    with pytest.raises(CommandError) as raised:
        run(path, mapping, *options)
    message = str(raised.value)
    assert "\n" not in message.strip()
    return message


def test_it_refuses_an_empty_file(tmp_path: Path, mapping: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    assert "empty" in fails(path, mapping)


def test_it_refuses_a_file_of_random_bytes(tmp_path: Path, mapping: Path) -> None:
    path = tmp_path / "random.csv"
    with path.open("wb") as handle:
        for _ in range(50):
            handle.write(os.urandom(1024 * 1024))
    assert "binary" in fails(path, mapping)
    assert Lead.objects.count() == 0


def test_it_refuses_an_xlsx_that_is_not_a_workbook(tmp_path: Path, mapping: Path) -> None:
    path = tmp_path / "leads.xlsx"
    path.write_text("E-mail,First\nada@acme.test,Ada\n", encoding="utf-8")
    assert "not a readable XLSX workbook" in fails(path, mapping)


def test_it_names_the_missing_mapped_columns(tmp_path: Path, mapping: Path) -> None:
    path = tmp_path / "leads.csv"
    path.write_text("E-mail,First\nada@acme.test,Ada\n", encoding="utf-8")
    message = fails(path, mapping)
    assert "'Last'" in message and "'Phone'" in message


def test_it_suggests_the_delimiter_when_the_header_is_one_column(
    tmp_path: Path, mapping: Path
) -> None:
    path = write_csv(tmp_path / "leads.csv", GOOD_ROWS, delimiter=";")
    assert "wrong --delimiter" in fails(path, mapping, "--delimiter", ",")


def test_it_detects_a_semicolon_delimiter(tmp_path: Path, mapping: Path) -> None:
    path = write_csv(tmp_path / "leads.csv", GOOD_ROWS, delimiter=";")
    assert "2 leads created, 1 merged" in run(path, mapping)


def test_it_reports_latin1_bytes_read_as_utf8_without_a_traceback(
    tmp_path: Path, mapping: Path
) -> None:
    path = write_csv(
        tmp_path / "leads.csv",
        [["jose@acme.test", "José", "Núñez", "", "No", "", ""]],
        encoding="latin-1",
    )
    message = fails(path, mapping, "--encoding", "utf-8")
    assert "not valid utf-8" in message and "--encoding" in message
    assert Lead.objects.count() == 0


def test_it_reads_latin1_when_told_or_detected(tmp_path: Path, mapping: Path) -> None:
    path = write_csv(
        tmp_path / "leads.csv",
        [["jose@acme.test", "José", "Núñez", "", "No", "", ""]],
        encoding="latin-1",
    )
    run(path, mapping, "--encoding", "latin-1")
    assert Lead.objects.get().last_name == "Núñez"


def test_it_rejects_short_rows_and_keeps_the_good_ones(tmp_path: Path, mapping: Path) -> None:
    path = tmp_path / "leads.csv"
    path.write_text(
        ",".join(HEADER) + "\nada@acme.test,Ada\ngrace@navy.test,Grace,Hopper,,No,,\n",
        encoding="utf-8",
    )
    output = run(path, mapping)
    assert "1 leads created" in output and "1 rejected" in output
    rejected = list(csv.DictReader((tmp_path / "leads.rejected.csv").open(encoding="utf-8")))
    assert rejected[0]["row"] == "1" and "short" in rejected[0]["reason"]


def test_skip_saves_good_rows_and_writes_the_rejected_file(tmp_path: Path, mapping: Path) -> None:
    rows = [
        *GOOD_ROWS,
        ["not-an-email", "Bad", "Row", "", "No", "", ""],
        ["x@y.test", "", "", "", "Maybe", "lots", ""],
    ]
    path = write_csv(tmp_path / "leads.csv", rows)
    output = run(path, mapping)
    assert "2 leads created, 1 merged into existing leads, 2 rejected" in output
    rejected = list(csv.DictReader((tmp_path / "leads.rejected.csv").open(encoding="utf-8")))
    found = {(r["row"], r["column"]) for r in rejected}
    assert ("4", "E-mail") in found
    assert ("5", "Seats") in found and ("5", "Subscribed") in found
    email_row = next(r for r in rejected if r["column"] == "E-mail")
    assert email_row["value"] == "not-an-email" and "valid email" in email_row["reason"]


def test_abort_saves_nothing_when_a_row_is_bad(tmp_path: Path, mapping: Path) -> None:
    path = write_csv(
        tmp_path / "leads.csv", [*GOOD_ROWS, ["not-an-email", "Bad", "Row", "", "No", "", ""]]
    )
    message = fails(path, mapping, "--on-error", "abort", "--chunk-size", "1")
    assert "nothing was saved" in message
    assert Lead.objects.count() == 0 and Activity.objects.count() == 0
    assert (tmp_path / "leads.rejected.csv").exists()


def test_dry_run_saves_nothing_but_counts(tmp_path: Path, mapping: Path) -> None:
    path = write_csv(tmp_path / "leads.csv", GOOD_ROWS)
    assert "2 leads would be created, 1 would be merged" in run(path, mapping, "--dry-run")
    assert Lead.objects.count() == 0


def test_it_imports_translates_and_registers_fields(tmp_path: Path, mapping: Path) -> None:
    path = write_csv(tmp_path / "leads.csv", GOOD_ROWS)
    assert "2 leads created, 1 merged into existing leads, 0 rejected" in run(path, mapping)
    ada = Lead.objects.get(email_key="ada@acme.test")
    assert (ada.first_name, ada.phone, ada.consent) == ("Ada", "+442079460000", True)
    assert ada.custom == {"seats": 12}
    assert ada.source == Source.objects.get(name="Trade fair")
    assert ada.created_via == "import"
    grace = Lead.objects.get(email_key="grace@navy.test")
    assert grace.custom == {"stage": "demo"} and not grace.consent
    assert FieldDefinition.objects.get(key="stage").is_post_contact
    assert FieldDefinition.objects.get(key="seats").type == "number"
    assert Activity.objects.filter(lead=ada).count() == 2
    assert not (tmp_path / "leads.rejected.csv").exists()


def test_it_imports_an_xlsx_workbook(tmp_path: Path, mapping: Path) -> None:
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.append(HEADER)
    for row in GOOD_ROWS:
        sheet.append([12 if value == "12" else value for value in row])
    path = tmp_path / "leads.xlsx"
    workbook.save(path)
    assert "2 leads created, 1 merged into existing leads, 0 rejected" in run(path, mapping)
    assert Lead.objects.get(email_key="ada@acme.test").custom == {"seats": 12}


def test_it_reports_an_invalid_mapping_clearly(tmp_path: Path) -> None:
    mapping = tmp_path / "bad.toml"
    mapping.write_text('[columns]\n"E-mail" = "emial"\n', encoding="utf-8")
    path = write_csv(tmp_path / "leads.csv", GOOD_ROWS)
    assert "'emial': unknown field" in fails(path, mapping)


REPO_DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.mark.slow
@pytest.mark.skipif(
    not (REPO_DATA / "x-education-leads" / "Leads.csv").exists(), reason="no reference data"
)
def test_every_x_education_lead_lands_with_its_outcome() -> None:
    run(REPO_DATA / "x-education-leads" / "Leads.csv", EXAMPLES / "x-education.toml")
    assert Lead.objects.count() == 9240
    assert Lead.objects.filter(outcome="won").count() == 3561
    assert Lead.objects.filter(outcome="lost").count() == 9240 - 3561
    post_contact = set(
        FieldDefinition.objects.filter(is_post_contact=True).values_list("key", flat=True)
    )
    assert {
        "tags",
        "lead_quality",
        "lead_profile",
        "last_activity",
        "last_notable_activity",
    } <= post_contact
    assert len(post_contact) == 9
    assert not any("Select" in str(v) for v in Lead.objects.values_list("custom", flat=True)[:500])


@pytest.mark.slow
@pytest.mark.skipif(not (REPO_DATA / "olist-marketing-funnel").exists(), reason="no reference data")
@pytest.mark.parametrize("in_workers", [False, True])
def test_every_olist_lead_lands_won_or_lost(
    monkeypatch: pytest.MonkeyPatch, in_workers: bool
) -> None:
    if in_workers:  # the joined deals file and per-row sources through worker processes
        from leadsieve.leads.importing import run as import_run

        monkeypatch.setattr(import_run, "PIPELINE_MIN_ROWS", 1)
    folder = REPO_DATA / "olist-marketing-funnel"
    run(folder / "olist_marketing_qualified_leads_dataset.csv", EXAMPLES / "olist.toml")
    assert Lead.objects.count() == 8000
    assert Lead.objects.filter(outcome="won").count() == 842
    assert Lead.objects.filter(outcome="won", closed_at__isnull=False).count() == 842
    assert Lead.objects.filter(outcome="lost").count() == 8000 - 842
    assert Lead.objects.filter(source__isnull=True).count() < 100
