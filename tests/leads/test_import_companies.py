from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from leadsieve.leads.models import Channel, Company
from leadsieve.leads.services import capture_lead
from tests.leads.importing import run

pytestmark = pytest.mark.django_db
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def load(path: Path, mapping: Path = EXAMPLES / "companies.toml") -> str:
    out = StringIO()
    call_command(
        "import_companies", str(path), "--mapping", str(mapping), stdout=out, stderr=StringIO()
    )
    return out.getvalue()


def test_it_refuses_a_mapping_without_domain_or_name(tmp_path: Path) -> None:
    mapping = tmp_path / "m.toml"
    mapping.write_text('[columns]\n"Industry" = "industry"\n', encoding="utf-8")
    with pytest.raises(CommandError, match="domain or a name"):
        load(EXAMPLES / "companies.csv", mapping)


def test_it_rejects_bad_rows_and_names_the_column(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_text(
        "Website,Company,Industry,Employees,Country,Revenue,Account owner\n"
        "not a domain,X,,-3,Narnia,huge,\n"
        "ok.test,OK,,10,FR,,\n",
        encoding="utf-8",
    )
    assert "1 companies created, 0 updated, 1 rejected" in load(path)
    rejected = (tmp_path / "c.rejected.csv").read_text(encoding="utf-8")
    for column in ("Website", "Employees", "Country", "Revenue"):
        assert f"1,{column}," in rejected


def test_captured_leads_get_the_firmographics_of_their_company() -> None:
    assert "3 companies created" in load(EXAMPLES / "companies.csv")
    acme = Company.objects.get(domain="acme.test")
    assert (acme.name, acme.industry, acme.size, acme.revenue_band) == (
        "ACME, Inc.",
        "Manufacturing",
        1200,
        "250m_1b",
    )
    assert acme.custom == {"account_owner": "alice"}
    lead = capture_lead({"email": "Grace@ACME.test"}, channel=Channel.API, via="api:test").lead
    assert lead.company == acme
    by_name = capture_lead(
        {"email": "x@gmail.com", "company_name": "BABBAGE & SONS"}, channel=Channel.API, via="t"
    ).lead
    assert by_name.company is not None and by_name.company.industry == "Consulting"


def test_loading_again_updates_instead_of_duplicating() -> None:
    load(EXAMPLES / "companies.csv")
    assert "0 companies created, 3 updated" in load(EXAMPLES / "companies.csv")
    assert Company.objects.count() == 3


def test_the_example_leads_file_imports_with_one_rejected_row(tmp_path: Path) -> None:
    out = run(
        EXAMPLES / "leads.csv",
        EXAMPLES / "leads.toml",
        "--rejected",
        str(tmp_path / "rejected.csv"),
    )
    assert "2 leads created, 1 merged into existing leads, 1 rejected" in out
