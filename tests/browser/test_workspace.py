"""A rep signs in, opens the lead list and a lead in a real browser (Debian's chromium).

Screenshots land in ``artifacts/screenshots/`` (git-ignored) for a person to look at.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.chromium import SCREENSHOTS, XSS_COMPANY, XSS_NAME
from tests.conftest import PASSWORD


@pytest.fixture
def browser_page(chromium: Any) -> Any:
    return chromium.new_page(viewport={"width": 1280, "height": 860})


def test_a_rep_signs_in_and_works_a_lead(
    live_server: Any,
    browser_page: Any,
    bob: Any,
    north: Any,
    make_lead: Callable[..., Any],
) -> None:
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
    make_lead(
        first_name="Tess",
        last_name="Today",
        team=north,
        owner=bob,
        status="sql",
        horizon="short",
        rating=75,
        horizon_reason="Budget approved for this quarter",
    )
    for n in range(12):
        make_lead(
            first_name=f"Lead{n}",
            last_name="Sample",
            company_name=f"Company {n}",
            team=north,
            owner=bob if n % 2 else None,
            status=["new", "working", "mql", "sql"][n % 4],
            fit_grade="ABCD"[n % 4],
            horizon="short" if n % 3 else "long",
            rating=(n * 7) % 100 + 1,
        )
    page = browser_page
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))

    page.goto(f"{live_server.url}/leads/")
    assert "/accounts/login/" in page.url
    page.screenshot(path=SCREENSHOTS / "01-sign-in.png")
    page.get_by_label("Username").fill("bob")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server.url}/leads/")

    assert page.get_by_text(XSS_NAME, exact=True).is_visible()
    assert page.get_by_text(XSS_COMPANY, exact=True).is_visible()
    page.screenshot(path=SCREENSHOTS / "02-lead-list.png", full_page=True)

    with page.expect_response(lambda response: "/leads/?" in response.url):
        page.get_by_label("Search").fill("Lead1")
    expect(page.locator("body")).not_to_contain_text("onerror")
    assert page.get_by_role("link", name="Lead1 Sample").is_visible()
    assert "q=Lead1" in page.url
    page.screenshot(path=SCREENSHOTS / "03-lead-list-search.png", full_page=True)

    page.goto(f"{live_server.url}/leads/{hostile.pk}/")
    assert page.get_by_role("heading", name=XSS_NAME).is_visible()
    page.get_by_label("Summary").fill("Discussed pricing")
    with page.expect_response(lambda response: "/activities/" in response.url):
        page.get_by_role("button", name="Log it").click()
    page.get_by_text("Call logged.").wait_for()
    assert page.get_by_text("Discussed pricing").is_visible()
    page.screenshot(path=SCREENSHOTS / "04-lead-page.png", full_page=True)

    page.get_by_role("link", name="Today").click()
    page.wait_for_url(f"{live_server.url}/")
    assert page.get_by_text("Budget approved for this quarter").is_visible()
    page.screenshot(path=SCREENSHOTS / "05-today.png", full_page=True)

    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server.url}/leads/")
    page.screenshot(path=SCREENSHOTS / "06-lead-list-phone.png", full_page=True)
    page.goto(f"{live_server.url}/leads/{hostile.pk}/")
    page.screenshot(path=SCREENSHOTS / "07-lead-page-phone.png", full_page=True)

    assert dialogs == []
