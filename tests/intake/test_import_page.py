"""The import page: upload, map with a preview, run as a background job, download rejects."""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from leadsieve.intake.models import ImportJob, ImportStatus
from leadsieve.intake.runs import UI_CHUNK_SIZE
from leadsieve.leads.models import DuplicateCandidate, Lead
from tests.leads.scope import NORTH_IDENTITY, footprint, make_north_lead

GOOD_AND_BAD = (
    "E-mail;First name;Last name;Company\n"
    "ann@acme.test;Ann;Archer;Acme\n"
    "not-an-email;Bad;Row;Nowhere\n"
    'ben@bolt.test;Ben;Bolt;=HYPERLINK("http://x")\n'
)
MAPPING = {
    "col_0": "email",
    "col_1": "first_name",
    "col_2": "last_name",
    "col_3": "company_name",
    "source_name": "Trade fair",
    "campaign_name": "Spring 2026",
    "on_error": "skip",
}


@pytest.fixture
def admin_client(client_for: Callable[[Any], Client], admin_user: Any) -> Client:
    return client_for(admin_user)


def _upload(client: Client, name: str, content: bytes, **extra: Any) -> Any:
    return client.post("/intake/imports/", {"file": SimpleUploadedFile(name, content), **extra})


def _uploaded_job(client: Client, content: str = GOOD_AND_BAD) -> ImportJob:
    response = _upload(client, "fair leads.csv", content.encode("utf-8"))
    assert response.status_code == 302, response.content.decode()
    return ImportJob.objects.get()


def test_it_refuses_a_file_that_is_not_csv_or_xlsx(admin_client: Client) -> None:
    response = _upload(admin_client, "leads.pdf", b"%PDF-1.7 ...")

    assert response.status_code == 422
    assert "CSV or XLSX file: Upload a .csv or .xlsx file." in response.content.decode()
    assert not ImportJob.objects.exists()


def test_it_refuses_random_bytes_and_keeps_nothing(admin_client: Client, data_dir: Path) -> None:
    noise = os.urandom(64 * 1024)

    as_csv = _upload(admin_client, "leads.csv", noise)
    as_xlsx = _upload(admin_client, "leads.xlsx", noise)

    assert as_csv.status_code == 422 and as_xlsx.status_code == 422
    assert "leads.csv: looks like a binary file" in as_csv.content.decode()
    assert "leads.xlsx: not a readable XLSX workbook" in as_xlsx.content.decode()
    assert not ImportJob.objects.exists()
    assert not any((data_dir / "imports").glob("*/*"))


def test_it_refuses_an_empty_file(admin_client: Client) -> None:
    response = _upload(admin_client, "leads.csv", b"")

    assert response.status_code == 422
    assert "The submitted file is empty." in response.content.decode()


def test_it_refuses_a_file_with_only_blank_lines(admin_client: Client) -> None:
    response = _upload(admin_client, "leads.csv", b"\n\n\n")

    assert response.status_code == 422
    assert "leads.csv: the file has no header row" in response.content.decode()


def test_it_refuses_a_file_over_the_size_limit(admin_client: Client, settings: Any) -> None:
    settings.LEADSIEVE_IMPORT_MAX_BYTES = 1024

    response = _upload(admin_client, "big.csv", b"email\n" + b"a@b.test\n" * 200)

    assert response.status_code == 422
    assert "the limit is 1,024 bytes" in response.content.decode()
    assert not ImportJob.objects.exists()


def test_an_upload_is_stored_in_the_data_dir_with_its_preview(
    admin_client: Client, data_dir: Path
) -> None:
    job = _uploaded_job(admin_client)

    assert job.path == data_dir / "imports" / str(job.pk) / "fair_leads.csv"
    assert job.path.read_text(encoding="utf-8") == GOOD_AND_BAD
    assert job.delimiter == ";" and job.encoding == "utf-8"
    assert job.header == ["E-mail", "First name", "Last name", "Company"]
    page = admin_client.get(f"/intake/imports/{job.pk}/").content.decode()
    assert "ann@acme.test" in page and "not-an-email" in page  # the preview
    assert "delimiter “;”" in page
    # Column names suggest their field.
    assert '<option value="email" selected>' in page
    assert '<option value="first_name" selected>' in page
    assert '<option value="company_name" selected>' in page


def test_it_refuses_a_mapping_without_any_identity_column(admin_client: Client) -> None:
    job = _uploaded_job(admin_client)
    data = {**MAPPING, "col_0": "", "col_1": "", "col_2": ""}

    response = admin_client.post(f"/intake/imports/{job.pk}/", data)

    assert response.status_code == 422
    assert "E-mail: Map a column to email, phone, external id, first name or last name" in (
        response.content.decode()
    )
    job.refresh_from_db()
    assert job.status == ImportStatus.UPLOADED
    assert not Lead.objects.exists()


def test_it_refuses_two_columns_mapped_to_one_field(admin_client: Client) -> None:
    job = _uploaded_job(admin_client)

    response = admin_client.post(f"/intake/imports/{job.pk}/", {**MAPPING, "col_2": "first_name"})

    assert response.status_code == 422
    assert "Last name: first_name is already mapped from column &#x27;First name&#x27;." in (
        response.content.decode()
    )


def test_it_refuses_a_campaign_without_a_source_and_an_unknown_field(admin_client: Client) -> None:
    job = _uploaded_job(admin_client)

    response = admin_client.post(
        f"/intake/imports/{job.pk}/", {**MAPPING, "source_name": "", "col_3": "salary"}
    )

    page = response.content.decode()
    assert response.status_code == 422
    assert "Campaign: A campaign needs a source." in page
    assert "Company: Select a valid choice. salary is not one of the available choices." in page


def test_an_import_runs_and_reports_created_merged_and_rejected(
    admin_client: Client, make_lead: Callable[..., Any]
) -> None:
    make_lead(email="ann@acme.test", email_key="ann@acme.test", first_name="Ann")
    job = _uploaded_job(admin_client)

    response = admin_client.post(f"/intake/imports/{job.pk}/", MAPPING)

    assert response.status_code == 302
    job.refresh_from_db()
    assert job.status == ImportStatus.DONE
    assert (job.n_read, job.n_created, job.n_merged, job.n_rejected) == (3, 1, 1, 1)
    ben = Lead.objects.get(email="ben@bolt.test")
    assert ben.source is not None and ben.source.name == "Trade fair"
    assert ben.campaign is not None and ben.campaign.name == "Spring 2026"
    page = admin_client.get(response["Location"]).content.decode()
    assert "Import done" in page and 'data-count="rejected">1<' in page
    assert "hx-get" not in page  # finished: no more polling
    assert "Download the rejected rows" in page


def test_the_rejected_rows_download_names_the_row_and_the_reason(admin_client: Client) -> None:
    job = _uploaded_job(admin_client)
    admin_client.post(f"/intake/imports/{job.pk}/", MAPPING)

    response = admin_client.get(f"/intake/imports/{job.pk}/rejected.csv")

    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="fair_leads.rejected.csv"'
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert len(rows) == 1
    assert rows[0]["row"] == "2" and rows[0]["column"] == "E-mail"
    assert rows[0]["value"] == "not-an-email" and "valid email" in rows[0]["reason"]


def test_the_rejected_rows_download_neutralises_formulas(admin_client: Client) -> None:
    job = _uploaded_job(admin_client, "email;first_name\n=cmd|' /C calc'!A0;Eve\n")
    admin_client.post(
        f"/intake/imports/{job.pk}/", {"col_0": "email", "col_1": "first_name", "on_error": "skip"}
    )

    body = b"".join(admin_client.get(f"/intake/imports/{job.pk}/rejected.csv").streaming_content)

    value = next(csv.DictReader(io.StringIO(body.decode())))["value"]
    assert value.startswith("'=")


def test_all_or_nothing_saves_nothing_and_keeps_the_rejected_rows(admin_client: Client) -> None:
    job = _uploaded_job(admin_client)

    admin_client.post(f"/intake/imports/{job.pk}/", {**MAPPING, "on_error": "abort"})

    job.refresh_from_db()
    assert job.status == ImportStatus.FAILED
    assert "nothing was saved" in job.error
    assert job.n_rejected == 1 and job.n_created == 0
    assert not Lead.objects.exists()
    assert admin_client.get(f"/intake/imports/{job.pk}/rejected.csv").status_code == 200


def test_a_started_import_cannot_be_started_again(admin_client: Client) -> None:
    job = _uploaded_job(admin_client)
    admin_client.post(f"/intake/imports/{job.pk}/", MAPPING)

    again = admin_client.post(f"/intake/imports/{job.pk}/", MAPPING, follow=True)

    assert "This import has already been started." in again.content.decode()
    assert Lead.objects.count() == 2


def test_a_clean_import_offers_no_rejected_file(admin_client: Client) -> None:
    job = _uploaded_job(admin_client, "email\nzoe@zeta.test\n")
    admin_client.post(f"/intake/imports/{job.pk}/", {"col_0": "email", "on_error": "skip"})

    page = admin_client.get(f"/intake/imports/{job.pk}/").content.decode()

    assert "Download the rejected rows" not in page
    assert admin_client.get(f"/intake/imports/{job.pk}/rejected.csv").status_code == 404


def test_a_running_import_is_polled_with_its_progress(
    admin_client: Client, admin_user: Any
) -> None:
    job = ImportJob.objects.create(
        created_by=admin_user,
        original_name="big.csv",
        stored_name="big.csv",
        kind="csv",
        status=ImportStatus.RUNNING,
        n_read=5000,
    )

    page = admin_client.get(f"/intake/imports/{job.pk}/").content.decode()
    fragment = admin_client.get(f"/intake/imports/{job.pk}/progress/", HTTP_HX_REQUEST="true")

    assert f'hx-get="/intake/imports/{job.pk}/progress/"' in page
    assert 'hx-trigger="every 1s"' in page
    body = fragment.content.decode()
    assert fragment["Cache-Control"] == "no-store"
    assert body.lstrip().startswith('<section id="job-progress"')
    assert 'data-count="read">5000<' in body and "Importing…" in body


def test_an_xlsx_file_imports_too(admin_client: Client, tmp_path: Path) -> None:
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["Email", "Firstname"])
    sheet.append(["xena@xlsx.test", "Xena"])
    path = tmp_path / "leads.xlsx"
    workbook.save(path)
    _upload(admin_client, "leads.xlsx", path.read_bytes())
    job = ImportJob.objects.get()

    admin_client.post(
        f"/intake/imports/{job.pk}/", {"col_0": "email", "col_1": "first_name", "on_error": "skip"}
    )

    job.refresh_from_db()
    assert job.kind == "xlsx" and job.status == ImportStatus.DONE and job.n_created == 1
    assert Lead.objects.get().first_name == "Xena"


def test_a_manager_import_puts_the_leads_in_her_team(
    client_for: Callable[[Any], Client], alice: Any, north: Any, south: Any
) -> None:
    client = client_for(alice)
    _upload(client, "n.csv", b"email\nnat@north.test\n", team=south.pk)  # team is not hers
    job = ImportJob.objects.get()

    client.post(f"/intake/imports/{job.pk}/", {"col_0": "email", "on_error": "skip"})

    assert job.team == north
    assert Lead.objects.get().team == north


def test_a_manager_import_merges_only_into_leads_of_her_team(
    client_for: Callable[[Any], Client],
    stan: Any,
    alice: Any,
    bob: Any,
    north: Any,
    south: Any,
    make_lead: Any,
) -> None:
    nora = make_north_lead(make_lead, north, owner=bob)
    before = footprint(nora)
    content = f"email;city\n{NORTH_IDENTITY['email']};Evilcity\n".encode()

    for manager in (stan, alice):
        client = client_for(manager)
        _upload(client, f"{manager.username}.csv", content)
        job = ImportJob.objects.get(created_by=manager)
        client.post(
            f"/intake/imports/{job.pk}/", {"col_0": "email", "col_1": "city", "on_error": "skip"}
        )
        if manager == stan:
            assert footprint(nora) == before

    by_stan, by_alice = ImportJob.objects.order_by("id")
    assert (by_stan.n_created, by_stan.n_merged) == (1, 0)
    assert (by_alice.n_created, by_alice.n_merged) == (0, 1)
    southern = Lead.objects.get(team=south)
    assert southern.city == "Evilcity" and southern.email_key == NORTH_IDENTITY["email"]
    assert Lead.objects.get(pk=nora.pk).city == "Evilcity"  # alice's import, in her scope
    assert list(DuplicateCandidate.objects.values_list("lead_id", "duplicate_of_id")) == [
        (southern.pk, nora.pk)
    ]


def test_a_column_can_be_kept_as_a_custom_field(admin_client: Client) -> None:
    job = _uploaded_job(admin_client, "email,Fleet Size\nfay@fleet.test,42\n")

    admin_client.post(
        f"/intake/imports/{job.pk}/", {"col_0": "email", "col_1": "custom", "on_error": "skip"}
    )

    assert Lead.objects.get().custom == {"fleet_size": "42"}


def test_the_import_list_has_a_bounded_number_of_queries(
    admin_client: Client,
    admin_user: Any,
    make_user: Callable[..., Any],
    north: Any,
    django_assert_max_num_queries: Any,
) -> None:
    for n in range(15):
        ImportJob.objects.create(
            created_by=make_user(f"m{n}", role="manager", team=north),
            team=north,
            original_name=f"f{n}.csv",
            stored_name=f"f{n}.csv",
            kind="csv",
        )

    with django_assert_max_num_queries(6):
        response = admin_client.get("/intake/imports/")

    assert response.content.decode().count("/intake/imports/") >= 15


def test_a_file_that_goes_bad_midway_keeps_the_saved_chunks_and_says_where(
    admin_client: Client,
) -> None:
    # Past the 256 KiB sample the encoding is detected from, and past two chunks.
    good = "".join(f"lead{n}@chunk.test,Lead{n}{'x' * 30}\n" for n in range(11_000))
    content = b"email,first_name\n" + good.encode() + b"bad\xff@chunk.test,Bad\n"
    _upload(admin_client, "mixed.csv", content)
    job = ImportJob.objects.get()

    admin_client.post(
        f"/intake/imports/{job.pk}/", {"col_0": "email", "col_1": "first_name", "on_error": "skip"}
    )

    job.refresh_from_db()
    assert job.status == ImportStatus.FAILED
    assert job.error.startswith("mixed.csv: after data row 10")  # the reader reads ahead
    assert job.error.endswith("save the file as UTF-8 and upload it again")
    # Rows read counts, chunk by chunk, exactly what was saved before the bad byte.
    assert job.n_read >= UI_CHUNK_SIZE and job.n_read % UI_CHUNK_SIZE == 0
    assert Lead.objects.count() == job.n_read
    page = admin_client.get(f"/intake/imports/{job.pk}/").content.decode()
    assert "Import failed" in page and "upload it again" in page


def test_file_and_column_names_are_shown_as_text(admin_client: Client) -> None:
    content = b"email,<img src=x onerror=alert(1)>\nann@acme.test,<script>alert(2)</script>\n"
    _upload(admin_client, "<b onclick=alert(3)>leads.csv", content)
    job = ImportJob.objects.get()

    mapping = admin_client.get(f"/intake/imports/{job.pk}/").content.decode()
    listing = admin_client.get("/intake/imports/").content.decode()

    assert "<img src=x" not in mapping and "<script>alert(2)" not in mapping
    assert "&lt;img src=x onerror=alert(1)&gt;" in mapping
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in mapping
    assert "<b onclick" not in listing and "&lt;b onclick=alert(3)&gt;leads.csv" in listing


@pytest.mark.parametrize("on_error", ["skip", "abort"])
def test_an_import_whose_worker_died_says_so_instead_of_running_forever(
    admin_client: Client, on_error: str, ended_worker: str
) -> None:
    job = _uploaded_job(admin_client)
    ImportJob.objects.filter(pk=job.pk).update(
        status=ImportStatus.RUNNING, n_read=1000, on_error=on_error, worker=ended_worker
    )

    block = admin_client.get(f"/intake/imports/{job.pk}/progress/").content.decode()

    job.refresh_from_db()
    assert job.status == ImportStatus.FAILED and job.finished_at is not None
    assert "Import failed" in block and "hx-get" not in block
    assert "ended without finishing" in job.error
    if on_error == "skip":
        assert "What was saved before it is kept (1,000 rows read)" in job.error
    else:
        assert "Nothing was saved" in job.error
    listed = admin_client.get("/intake/imports/").content.decode()
    assert 'data-status="running"' not in listed


def test_an_import_whose_worker_runs_keeps_running(admin_client: Client) -> None:
    from leadsieve.worker_processes import current_worker

    job = _uploaded_job(admin_client)
    ImportJob.objects.filter(pk=job.pk).update(status=ImportStatus.RUNNING, worker=current_worker())

    block = admin_client.get(f"/intake/imports/{job.pk}/progress/").content.decode()

    job.refresh_from_db()
    assert job.status == ImportStatus.RUNNING and "Importing" in block and "hx-get" in block


def test_a_finished_import_records_its_worker(admin_client: Client) -> None:
    from leadsieve.worker_processes import current_worker

    job = _uploaded_job(admin_client)
    admin_client.post(f"/intake/imports/{job.pk}/", MAPPING)

    job.refresh_from_db()
    assert job.status == ImportStatus.DONE and job.worker == current_worker()


def test_files_of_old_imports_are_deleted_and_the_page_says_when(
    admin_client: Client, settings: Any
) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from leadsieve.intake.services import remove_expired_import_files

    settings.LEADSIEVE_IMPORT_KEEP_DAYS = 30
    done = _uploaded_job(admin_client)
    admin_client.post(f"/intake/imports/{done.pk}/", MAPPING)
    done.refresh_from_db()
    assert done.status == ImportStatus.DONE and done.has_rejected_file and done.path.exists()
    now = timezone.now()

    assert remove_expired_import_files(now=now + timedelta(days=29)) == 0
    assert done.path.exists()
    assert remove_expired_import_files(now=now + timedelta(days=31)) == 1

    done.refresh_from_db()
    assert not done.folder.exists() and done.preview == [] and not done.has_rejected_file
    assert (done.n_read, done.n_created, done.n_rejected) == (3, 2, 1)  # the counts stay
    page = admin_client.get(f"/intake/imports/{done.pk}/").content.decode()
    assert "data-files-removed" in page and "kept 30 days" in page
    assert admin_client.get(f"/intake/imports/{done.pk}/rejected.csv").status_code == 404
    assert remove_expired_import_files(now=now + timedelta(days=62)) == 0  # once


def test_an_upload_never_started_expires_with_a_reason(admin_client: Client, settings: Any) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from leadsieve.ops.tick import run_tick

    settings.LEADSIEVE_IMPORT_KEEP_DAYS = 7
    waiting = _uploaded_job(admin_client)

    counts = run_tick(now=timezone.now() + timedelta(days=8))

    assert counts["import_files_removed"] == 1
    waiting.refresh_from_db()
    assert waiting.status == ImportStatus.FAILED and "never started" in waiting.error
    assert not waiting.folder.exists() and waiting.preview == []
    response = admin_client.post(f"/intake/imports/{waiting.pk}/", MAPPING)
    assert response.status_code == 302 and not Lead.objects.exists()  # cannot start now


def test_the_tick_fails_an_import_whose_worker_died_and_later_deletes_its_files(
    admin_client: Client, settings: Any, ended_worker: str
) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from leadsieve.intake.services import remove_expired_import_files

    settings.LEADSIEVE_IMPORT_KEEP_DAYS = 30
    job = _uploaded_job(admin_client)
    ImportJob.objects.filter(pk=job.pk).update(status=ImportStatus.RUNNING, worker=ended_worker)

    assert remove_expired_import_files() == 0
    job.refresh_from_db()
    assert job.status == ImportStatus.FAILED and job.path.exists()
    assert remove_expired_import_files(now=timezone.now() + timedelta(days=31)) == 1
    assert not job.folder.exists()
