"""Today, the lead page and the team report at 1280 px, as a rep and as a manager: nothing
wider than the window, no pill, tile or table cell whose text overflows its box, and the
lead page's right column carries the follow-up, next steps and rating history.

Screenshots land in ``artifacts/screenshots/`` (git-ignored) for a person to look at.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.utils import timezone

from tests.browser.chromium import SCREENSHOTS
from tests.conftest import PASSWORD

OVERFLOWING = """() => [...document.querySelectorAll('.badge, .score, .card, td, th')]
  .filter((e) => e.scrollWidth > e.clientWidth + 1)
  .map((e) => `${e.tagName}.${e.className}: ${e.textContent.trim().slice(0, 60)}`)"""


def _sign_in(page: Any, url: str, username: str) -> None:
    page.goto(f"{url}/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{url}/")


def _check(page: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"layout-{name}.png", full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280, name
    assert page.evaluate(OVERFLOWING) == [], name


@pytest.fixture
def busy_day(bob: Any, north: Any, make_lead: Callable[..., Any]) -> Any:
    """Bob's leads: twelve overdue calls (some without a phone), one of them marketing-
    qualified with a long status word, and a score history."""
    from leadsieve.cadences.manual_tasks import add_task
    from leadsieve.scoring.models import ScoreSnapshot

    now = timezone.now()
    first = None
    for n in range(12):
        lead = make_lead(
            first_name=f"Caller{n}",
            last_name="Longname-Wolfeschlegelsteinhausen",
            company_name="Incorporated Holdings of Extremely Long Company Names",
            phone="+15550100" if n % 2 else "",
            status="mql",
            horizon="short",
            rating=90 - n,
            team=north,
            owner=bob,
        )
        add_task(
            lead,
            user=bob,
            title="Call about the pilot",
            channel="call",
            due_at=now - dt.timedelta(hours=n + 1),
        )
        ScoreSnapshot.objects.create(
            lead=lead, at=now - dt.timedelta(days=3), rating=40, status="new"
        )
        ScoreSnapshot.objects.create(lead=lead, at=now, rating=90 - n, status="mql")
        first = first or lead
    return first


def test_today_and_the_lead_page_fit_1280_px_for_a_rep(
    live_server: Any, browser_page: Any, busy_day: Any
) -> None:
    page = browser_page
    _sign_in(page, live_server.url, "bob")

    assert page.get_by_role("heading", name="Overdue 12").is_visible()
    assert page.get_by_role("link", name="and 2 more").is_visible()
    assert page.locator("a[href^='tel:']").count() == 5  # the odd ones of the first ten
    assert page.get_by_text("no phone").count() == 5
    _check(page, "rep-today")

    page.get_by_role("link", name="and 2 more").click()
    assert page.locator(".today-group-overdue li").count() == 12
    _check(page, "rep-today-overdue")

    page.goto(f"{live_server.url}/leads/{busy_day.pk}/")
    side = page.locator("aside.lead-side")
    assert side.get_by_role("heading", name="Next up").is_visible()
    assert side.get_by_role("heading", name="Rating history").is_visible()
    assert side.get_by_role("list", name="Rating history").locator("li").count() == 2
    _check(page, "rep-lead")


def test_today_and_the_team_report_fit_1280_px_for_a_manager(
    live_server: Any, browser_page: Any, alice: Any, north: Any, busy_day: Any
) -> None:
    page = browser_page
    _sign_in(page, live_server.url, "alice")

    assert page.get_by_text("· Bob").first.is_visible()
    _check(page, "manager-today")

    # The team report lives on the insights speed-to-lead page now (#18): its old link leads there.
    page.goto(f"{live_server.url}/team/{north.pk}/report/")
    assert page.get_by_role("heading", name="Procedure: does every rep follow it?").is_visible()
    _check(page, "manager-report")


def test_the_top_bar_is_one_line_at_1280_px_and_the_account_menu_signs_out(
    live_server: Any, browser_page: Any, admin_user: Any, north: Any
) -> None:
    """The admin has the most links (forms, team, admin): the bar still fits one line, and
    who is signed in, the password and signing out sit behind the name."""
    admin_user.team = north
    admin_user.save(update_fields=["team"])
    page = browser_page
    _sign_in(page, live_server.url, "root")
    bar = page.locator("header.topbar")
    brand = page.locator("header.topbar .brand").bounding_box()
    account = page.locator("details.account summary").bounding_box()
    assert account["y"] < brand["y"] + brand["height"], "the account wrapped to a second line"
    assert bar.bounding_box()["height"] < 60
    assert not page.get_by_role("button", name="Sign out").is_visible()

    page.locator("details.account summary").click()
    assert page.get_by_text("Signed in as").is_visible()
    assert page.get_by_role("link", name="Change password").is_visible()
    _check(page, "admin-account-menu")
    page.keyboard.press("Escape")
    assert not page.get_by_role("button", name="Sign out").is_visible()

    page.locator("details.account summary").click()
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(f"{live_server.url}/accounts/login/**")
