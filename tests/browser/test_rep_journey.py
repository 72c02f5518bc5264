"""A rep's day in a real browser (Debian's chromium): Today, a lead's "why", a call, an
appointment and its .ics, a disqualification, and the duplicates queue.

Hostile names must stay text on every page (no dialog ever opens). Screenshots land in
``artifacts/screenshots/`` (git-ignored) for a person to look at.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from tests.browser.chromium import SCREENSHOTS, XSS_COMPANY, XSS_NAME
from tests.conftest import PASSWORD


def _shot(page: Any, name: str) -> None:
    page.screenshot(path=SCREENSHOTS / f"rep-{name}.png", full_page=True)


@pytest.fixture
def day(bob: Any, north: Any, make_lead: Callable[..., Any]) -> dict[str, Any]:
    """Bob's morning: a scored lead with a task due, a hostile one, one to disqualify."""
    from leadsieve.cadences.manual_tasks import add_task
    from leadsieve.leads.models import Company, DuplicateCandidate
    from leadsieve.scoring.services import explain_lead, rescore_leads

    company = Company.objects.create(name="Tessera Ltd", domain="tessera.test", size=250)
    star = make_lead(
        first_name="Tess",
        last_name="Today",
        email="tess@tessera.test",
        phone="+442079460000",
        company=company,
        job_title="Head of Operations",
        decision_role="decision_maker",
        budget=60000,
        timeline="this_month",
        team=north,
        owner=bob,
        consent=True,
    )
    rescore_leads([star.pk])
    star.refresh_from_db()
    criteria = [reason.label for reason in explain_lead(star).criteria]
    now = timezone.now()
    add_task(star, user=bob, title="Call Tess about the pilot", due_at=now - dt.timedelta(hours=1))
    hostile = make_lead(
        first_name=XSS_NAME,
        last_name="",
        company_name=XSS_COMPANY,
        team=north,
        owner=bob,
        status="sql",
        horizon="short",
        rating=88,
        horizon_reason="Wants to start this month",
    )
    add_task(hostile, user=bob, title="Follow up on the form", due_at=now - dt.timedelta(minutes=5))
    doomed = make_lead(
        first_name="Dora", last_name="Drop", team=north, owner=bob, status="mql", horizon="short"
    )
    twin = make_lead(first_name="Dora", last_name="Drop", team=north, owner=None)
    DuplicateCandidate.objects.create(lead=twin, duplicate_of=doomed, reason="same name")
    return {"star": star, "criteria": criteria, "hostile": hostile, "doomed": doomed}


def test_a_rep_works_through_today(
    live_server: Any, browser_page: Any, bob: Any, day: dict[str, Any]
) -> None:
    from leadsieve.cadences.models import Appointment
    from leadsieve.leads.models import Activity, Status

    star, hostile, doomed = day["star"], day["hostile"], day["doomed"]
    assert day["criteria"], "the active scorecard gives the scored lead at least one criterion"
    page = browser_page
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))

    # Sign in: the rep lands on Today.
    page.goto(f"{live_server.url}/")
    page.get_by_label("Username").fill("bob")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server.url}/")
    assert page.get_by_role("heading", name="Today", exact=True).is_visible()
    assert page.get_by_text("Call Tess about the pilot").is_visible()
    assert page.get_by_text(XSS_NAME, exact=True).is_visible()
    assert page.get_by_text(f"· {XSS_COMPANY}", exact=True).is_visible()
    _shot(page, "01-today")

    # Open the lead and read why it is rated as it is.
    page.get_by_role("link", name="Tess Today", exact=True).click()
    page.wait_for_url(f"{live_server.url}/leads/{star.pk}/")
    criteria = page.get_by_role("list", name="Scorecard criteria")
    assert criteria.get_by_text(day["criteria"][0]).first.is_visible()
    _shot(page, "02-lead-why")

    # Log a call: it appears in the timeline.
    page.get_by_label("Summary").fill("Talked about the pilot scope")
    with page.expect_response(lambda response: "/activities/" in response.url):
        page.get_by_role("button", name="Log it").click()
    page.get_by_text("Call logged.").wait_for()
    timeline = page.locator("ol.timeline")
    assert timeline.get_by_text("Talked about the pilot scope").is_visible()
    assert Activity.objects.filter(lead=star, kind="call").exists()

    # Set an appointment, then download its .ics.
    when = timezone.localtime() + dt.timedelta(days=2)
    page.get_by_text("Set an appointment", exact=True).click()
    page.get_by_label("Date", exact=True).fill(when.strftime("%Y-%m-%d"))
    page.get_by_label("Time", exact=True).fill("10:30")
    page.get_by_label("Duration", exact=True).select_option("45")
    page.get_by_label("Attendees").fill("Tess Today <tess@tessera.test>")
    with page.expect_response(lambda response: "/appointments/" in response.url):
        page.get_by_role("button", name="Set appointment").click()
    page.get_by_text("Appointment set for").wait_for()
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Add to calendar (.ics)").first.click()
    download = download_info.value
    ics = Path(download.path()).read_text()
    assert download.suggested_filename.endswith(".ics")
    assert "BEGIN:VCALENDAR" in ics
    assert "Tess Today" in ics
    assert Appointment.objects.get(lead=star).duration_minutes == 45
    _shot(page, "03-lead-appointment")

    # The hostile lead's page shows its name as text.
    page.goto(f"{live_server.url}/leads/{hostile.pk}/")
    assert page.get_by_role("heading", name=XSS_NAME).is_visible()
    assert page.get_by_text(XSS_COMPANY).first.is_visible()
    _shot(page, "04-hostile-lead")

    # Disqualify another lead with a reason.
    page.goto(f"{live_server.url}/leads/{doomed.pk}/")
    page.get_by_text("Disqualify", exact=True).click()
    page.get_by_label("Why is this lead disqualified?").fill("Student project, no budget")
    with page.expect_response(lambda response: "/disqualify/" in response.url):
        page.get_by_role("button", name="Disqualify this lead").click()
    page.get_by_text("Lead disqualified.").wait_for()
    assert page.locator("#lead-status").inner_text() == "Disqualified"
    doomed.refresh_from_db()
    assert (doomed.status, doomed.status_reason) == (
        Status.DISQUALIFIED,
        "Student project, no budget",
    )
    _shot(page, "05-lead-disqualified")

    # The duplicates queue, from the nav.
    page.get_by_role("link", name="Duplicates", exact=True).click()
    page.wait_for_url(f"{live_server.url}/duplicates/")
    assert page.get_by_role("button", name="Merge").is_visible()
    _shot(page, "06-duplicates")

    # Today again on a phone.
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server.url}/")
    assert page.get_by_text(XSS_NAME, exact=True).is_visible()
    _shot(page, "07-today-phone")

    assert dialogs == []
