"""Forms and import in a real browser (Debian's chromium): an admin creates a web form, posts
its copied snippet from a page served on another port and finds the lead; a manager imports a
CSV with one bad row and downloads the rejected rows.

Screenshots land in ``artifacts/screenshots/`` (git-ignored) for a person to look at.
"""

from __future__ import annotations

import csv
import io
import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from leadsieve.intake.models import ImportJob
from leadsieve.intake.runs import run_import_job
from tests.browser.chromium import SCREENSHOTS
from tests.conftest import PASSWORD

LEADS_CSV = (
    "Email,First name,Last name,Company\n"
    "ivy@ivory.test,Ivy,Ivory,Ivory Ltd\n"
    "broken-address,Bad,Row,Nowhere\n"
    "otto@otter.test,Otto,Otter,Otter GmbH\n"
)


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def other_site(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A plain static site on a free port of its own: another origin than LeadSieve's."""
    root = tmp_path / "site"
    root.mkdir()
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_QuietHandler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", root
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def browser_context(live_server: Any, chromium: Any) -> Any:
    context = chromium.new_context(viewport={"width": 1280, "height": 860})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    return context


def _sign_in(page: Any, live_server: Any, username: str) -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server.url}/")


def test_an_admin_creates_a_form_and_a_lead_comes_in_from_another_site(
    live_server: Any, browser_context: Any, admin_user: Any, other_site: tuple[str, Path]
) -> None:
    page = browser_context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    _sign_in(page, live_server, admin_user.username)

    page.get_by_role("link", name="Forms & import").click()
    page.wait_for_url(f"{live_server.url}/intake/forms/")
    assert page.get_by_text("No web form yet.").is_visible()
    page.screenshot(path=SCREENSHOTS / "intake-01-forms-empty.png", full_page=True)
    page.get_by_role("link", name="New form").click()
    page.get_by_label("Name").fill("Partner site")
    page.get_by_label("Slug").fill("partner")
    page.get_by_label("Thank-you message").fill("Thanks, partner!")
    page.get_by_role("button", name="Create form").click()
    page.wait_for_url(f"{live_server.url}/intake/forms/*/")
    page.get_by_text("Form “Partner site” saved.").wait_for()
    page.screenshot(path=SCREENSHOTS / "intake-02-form-snippet.png", full_page=True)

    page.get_by_role("button", name="Copy snippet").click()
    page.get_by_text("Copied.").wait_for()
    snippet = page.evaluate("navigator.clipboard.readText()")
    assert snippet == page.get_by_label("HTML to paste").input_value()
    assert f'action="{live_server.url}/f/partner/"' in snippet

    site_url, site_root = other_site
    (site_root / "index.html").write_text(
        "<!doctype html><html><head><meta charset='utf-8'><title>Partner</title>"
        "<link rel='icon' href='data:,'></head>"  # no /favicon.ico request, no 404
        f"<body><h1>Talk to us</h1>{snippet}</body></html>",
        encoding="utf-8",
    )
    site = browser_context.new_page()
    site.goto(f"{site_url}/index.html?utm_source=partner-site")
    site.get_by_label("Work email").fill("pia@partner.test")
    site.get_by_label("First name").fill("Pia")
    site.get_by_label("Last name").fill("Partner")
    site.get_by_label("Company").fill("Partner Inc")
    site.screenshot(path=SCREENSHOTS / "intake-03-other-site-form.png", full_page=True)
    site.get_by_role("button", name="Send").click()
    site.wait_for_url(f"{live_server.url}/f/partner/thanks/")
    assert site.get_by_text("Thanks, partner!").is_visible()
    site.screenshot(path=SCREENSHOTS / "intake-04-thanks.png", full_page=True)

    page.get_by_role("link", name="Leads", exact=True).click()
    page.wait_for_url(f"{live_server.url}/leads/")
    assert page.get_by_role("link", name="Pia Partner").is_visible()
    page.screenshot(path=SCREENSHOTS / "intake-05-lead-from-form.png", full_page=True)
    assert dialogs == []


def test_a_manager_imports_a_csv_and_downloads_the_rejected_rows(
    live_server: Any, browser_context: Any, alice: Any, tmp_path: Path, settings: Any
) -> None:
    # The dummy backend keeps the job queued, as the database backend does until its worker
    # picks it up; the test then plays the worker, and the page's htmx poll shows the end.
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    settings.DATA_DIR = tmp_path / "data"
    upload = tmp_path / "fair-leads.csv"
    upload.write_text(LEADS_CSV, encoding="utf-8")
    page = browser_context.new_page()
    _sign_in(page, live_server, alice.username)

    page.goto(f"{live_server.url}/intake/imports/")
    page.screenshot(path=SCREENSHOTS / "intake-06-import-upload.png", full_page=True)
    page.get_by_label("CSV or XLSX file").set_input_files(str(upload))
    page.get_by_role("button", name="Upload and map columns").click()
    page.wait_for_url(f"{live_server.url}/intake/imports/*/")
    assert page.get_by_role("cell", name="broken-address").is_visible()  # the preview
    assert page.get_by_label("Email", exact=True).input_value() == "email"
    page.get_by_label("Source").fill("Trade fair")
    page.screenshot(path=SCREENSHOTS / "intake-07-import-mapping.png", full_page=True)
    page.get_by_role("button", name="Start the import").click()
    page.locator('[data-status="queued"]').wait_for()
    assert page.get_by_role("heading", name="Importing…").is_visible()
    assert page.get_by_text("the background worker").is_visible()
    page.screenshot(path=SCREENSHOTS / "intake-08-import-queued.png", full_page=True)

    job = ImportJob.objects.get()
    assert job.path.is_relative_to(tmp_path / "data")
    run_import_job(job.pk)  # what `leadsieve worker` does with the queued task
    page.locator('[data-status="done"]').wait_for()  # the page polled its way to the end
    assert page.locator('[data-count="read"]').inner_text() == "3"
    assert page.locator('[data-count="created"]').inner_text() == "2"
    assert page.locator('[data-count="rejected"]').inner_text() == "1"
    page.screenshot(path=SCREENSHOTS / "intake-09-import-done.png", full_page=True)
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download the rejected rows (CSV)").click()
    download = download_info.value
    assert download.suggested_filename == "fair-leads.rejected.csv"
    content = Path(download.path()).read_text(encoding="utf-8")
    rows = list(csv.DictReader(io.StringIO(content)))
    assert [(r["row"], r["column"], r["value"]) for r in rows] == [("2", "Email", "broken-address")]
    assert "valid email" in rows[0]["reason"]

    page.get_by_role("link", name="Open the lead list").click()
    assert page.get_by_role("link", name="Ivy Ivory").is_visible()
