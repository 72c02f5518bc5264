"""The import's fast paths: constant columns written as SQL literals, chunks read one ahead,
key lookups on partial indexes, companies inserted in one batch. Each must store exactly
what the plain path would. (The phone worker pool itself: tests/engine/test_normalize.py.)"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from leadsieve.leads.models import Activity, Company, Lead, LeadChange
from tests.leads.importing import run

pytestmark = pytest.mark.django_db

# A constant with a quote, percent signs and a driver placeholder: written into the SQL
# as a literal, it must come back exactly as given.
AWKWARD = "100% O'Brien %s %% '); DROP TABLE leads_lead; --"
MAPPING = f"""
[constants]
source = "Fair"
job_title = "{AWKWARD}"

[columns]
"Email" = "email"
"Phone" = "phone"
"Name" = "first_name"
"Company" = "company_name"
"Ref" = "external_id"
"""
HEADER = ["Email", "Phone", "Name", "Company", "Ref"]


def write_csv(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        writer.writerows(rows)
    return path


@pytest.fixture
def mapping(tmp_path: Path) -> Path:
    path = tmp_path / "mapping.toml"
    path.write_text(MAPPING, encoding="utf-8")
    return path


def test_it_stores_constant_text_with_quotes_and_percent_signs_as_given(
    tmp_path: Path, mapping: Path
) -> None:
    rows = [[f"p{i}@acme.test", "", f"Person {i}", "Acme", ""] for i in range(3)]
    assert "3 leads created" in run(write_csv(tmp_path / "a.csv", rows), mapping)
    assert list(Lead.objects.values_list("job_title", flat=True).distinct()) == [AWKWARD]
    assert Lead.objects.count() == 3
    # An import records each creation in the lead and its capture activity, not an audit row.
    assert not LeadChange.objects.filter(action="created").exists()
    assert set(Lead.objects.values_list("created_via", flat=True)) == {"import"}
    assert {a.payload["file"] for a in Activity.objects.all()} == {"a.csv"}
    assert sorted(a.payload["row"] for a in Activity.objects.all()) == [1, 2, 3]


def test_the_same_phone_in_a_later_chunk_merges(tmp_path: Path, mapping: Path) -> None:
    rows = [
        ["", "+1 415 555 0100", "Ada", "", ""],
        ["b@x.test", "", "Bob", "", ""],
        ["c@x.test", "", "Cy", "", ""],
        ["", "(415) 555-0100", "", "", ""],  # the third chunk: same number, other format
        ["", "not a phone", "Dee", "", ""],
    ]
    output = run(write_csv(tmp_path / "p.csv", rows), mapping, "--chunk-size", "1")
    assert "3 leads created, 1 merged into existing leads, 1 rejected" in output
    ada = Lead.objects.get(first_name="Ada")
    assert ada.phone == "+14155550100"
    assert Activity.objects.filter(lead=ada).count() == 2


def test_a_second_import_finds_leads_by_external_id(tmp_path: Path, mapping: Path) -> None:
    rows = [["", "", "Ada", "", "X-1"], ["", "", "Bob", "", ""]]
    run(write_csv(tmp_path / "one.csv", rows), mapping)
    again = [["ada@acme.test", "", "", "", "X-1"]]
    assert "0 leads created, 1 merged" in run(write_csv(tmp_path / "two.csv", again), mapping)
    assert Lead.objects.get(external_id="X-1").email == "ada@acme.test"


def test_new_companies_are_created_once_by_domain_and_by_name(
    tmp_path: Path, mapping: Path
) -> None:
    rows = [
        ["a@acme.test", "", "Ada", "Acme", ""],
        ["b@acme.test", "", "Bob", "Acme Inc.", ""],
        ["c@gmail.com", "", "Cy", "Initech", ""],
        ["d@gmail.com", "", "Dee", "INITECH LLC", ""],
    ]
    run(write_csv(tmp_path / "c.csv", rows), mapping)
    assert Company.objects.filter(domain="acme.test").count() == 1
    initech = Company.objects.get(domain="", name_key="initech")
    assert initech.name == "Initech"
    assert set(Lead.objects.filter(company=initech).values_list("first_name", flat=True)) == {
        "Cy",
        "Dee",
    }
    run(write_csv(tmp_path / "again.csv", [["e@acme.test", "", "Eve", "Acme", ""]]), mapping)
    assert Company.objects.filter(domain="acme.test").count() == 1


def test_companies_resolved_in_one_chunk_serve_the_next(tmp_path: Path, mapping: Path) -> None:
    rows = [
        ["a@acme.test", "", "Ada", "Acme", ""],
        ["c@gmail.com", "", "Cy", "Initech", ""],
        ["b@acme.test", "", "Bob", "Acme", ""],  # later chunks: both companies are known
        ["d@gmail.com", "", "Dee", "INITECH LLC", ""],
        ["e@globex.test", "", "Eve", "Globex", ""],
    ]
    run(write_csv(tmp_path / "c.csv", rows), mapping, "--chunk-size", "1")
    assert Company.objects.count() == 3
    by_lead = dict(Lead.objects.values_list("first_name", "company__name"))
    assert by_lead == {
        "Ada": "Acme",
        "Bob": "Acme",
        "Cy": "Initech",
        "Dee": "Initech",
        "Eve": "Globex",
    }


def test_known_companies_keep_only_what_a_committed_transaction_found(
    django_capture_on_commit_callbacks,
) -> None:
    import pandas as pd
    from django.db import transaction

    from leadsieve.leads.services.companies import KnownCompanies, resolve_companies

    known = KnownCompanies()
    blank = pd.Series([""])
    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        resolve_companies(pd.Series(["gone.test"]), pd.Series(["Gone"]), blank, known)
        raise RuntimeError("the chunk fails")
    assert known.by_domain == {} and not Company.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        with transaction.atomic():
            ids = resolve_companies(pd.Series(["kept.test"]), pd.Series(["Kept"]), blank, known)
        assert known.by_domain == {}  # not before the commit
    assert known.by_domain == {"kept.test": ids.iloc[0]}
    again = resolve_companies(pd.Series(["kept.test"]), pd.Series(["Kept"]), blank, known)
    assert again.tolist() == ids.tolist() and Company.objects.count() == 1


WORKER_ROWS = [
    ["a@x.test", "+1 415 555 0100", "ADA", "Acme", "r1"],
    ["", "(415) 555-0100", "", "", ""],  # merges into the first, from another chunk
    ["not an email", "", "Bad", "", ""],  # rejected
    ["  A@X.TEST ", "", "", "Acme Inc.", ""],  # merges by email
    ["b@y.test", "not a phone", "Bo", "", ""],  # rejected
    ["c@y.test", "+33 1 42 68 53 00", "Cy", "Initech", "r2"],
    ["d@y.test", "", "Di", "", "r2"],  # same external id: merges
]


@pytest.mark.parametrize("in_workers", [False, True])
def test_chunks_prepared_in_worker_processes_store_what_in_process_chunks_do(
    tmp_path: Path, mapping: Path, monkeypatch: pytest.MonkeyPatch, in_workers: bool
) -> None:
    from leadsieve.leads.importing import run as import_run

    if in_workers:
        monkeypatch.setattr(import_run, "PIPELINE_MIN_ROWS", 1)  # every chunk to a worker
    path = write_csv(tmp_path / "w.csv", WORKER_ROWS)
    output = run(path, mapping, "--chunk-size", "2")
    assert "7 rows: 2 leads created, 3 merged into existing leads, 2 rejected" in output
    fields = ("email_key", "phone", "first_name", "company_name", "external_id")
    assert sorted(Lead.objects.values_list(*fields)) == [
        ("a@x.test", "+14155550100", "Ada", "Acme", "r1"),
        ("c@y.test", "+33142685300", "Cy", "Initech", "r2"),
    ]
    rejected = (tmp_path / "w.rejected.csv").read_text(encoding="utf-8").splitlines()
    assert rejected[1:] == [
        '3,Email,email,not an email,"Enter a valid email address, like name@example.com."',
        "5,Phone,phone,not a phone,Enter a valid phone number (international +… or a US number).",
    ]
    assert sorted(a.payload["row"] for a in Activity.objects.all()) == [1, 2, 4, 6, 7]
