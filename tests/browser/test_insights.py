"""A manager reads the funnel by source, enters a month's spend, reads cost and return, and
drills from a source into its leads, in a real browser. Every report page is checked for
horizontal overflow at 1280 px. Screenshots: ``artifacts/screenshots/insights-*.png``."""

from __future__ import annotations

from typing import Any

from tests.browser.chromium import SCREENSHOTS
from tests.conftest import PASSWORD
from tests.insights.conftest import history  # noqa: F401 (the hand-built history fixture)

PERIOD = "from=2026-03-01&to=2026-03-31"


def _fits_1280(page: Any) -> bool:
    """No horizontal scroll: the page is no wider than the 1280 px window."""
    width = page.evaluate("document.documentElement.scrollWidth")
    return bool(width <= page.viewport_size["width"])


def test_a_manager_reads_the_funnel_enters_spend_and_drills_into_a_source(
    live_server: Any,
    browser_page: Any,
    history: Any,  # noqa: F811
) -> None:
    from leadsieve.insights.models import Spend

    page = browser_page
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Insights").click()
    page.get_by_role("link", name="Funnel by source").click()
    page.wait_for_url(f"{live_server.url}/insights/funnel/")

    # The period is changed in the form: htmx swaps the report body.
    page.get_by_label("From (capture day)").fill("2026-03-01")
    page.get_by_label("To", exact=True).fill("2026-03-31")
    page.get_by_role("button", name="Show").click()
    table = page.locator('table[data-table="funnel"]')
    table.get_by_role("link", name="Ads").wait_for()
    ads = table.locator("tbody tr", has=page.get_by_role("link", name="Ads"))
    assert ads.locator("td").all_inner_texts()[:6] == ["5", "3", "3", "2", "2", "2"]
    assert table.get_by_role("link", name="Referrals").count() == 0  # South: not Alice's
    assert page.locator("#chart-funnel-steps").is_visible()
    assert _fits_1280(page)
    page.screenshot(path=SCREENSHOTS / "insights-01-funnel.png", full_page=True)

    page.get_by_role("link", name="Show the strict funnel (steps in order)").click()
    page.get_by_text("Strict funnel: steps reached in order").wait_for()
    assert _fits_1280(page)

    # Spend: entered on the spend page, then read in cost and return.
    page.goto(f"{live_server.url}/insights/cost/?{PERIOD}")
    assert page.get_by_text("No spend entered for this period").is_visible()
    assert _fits_1280(page)
    page.get_by_role("link", name="Enter or import spend").click()
    page.get_by_label("Month", exact=True).fill("2026-03")
    page.get_by_label("Source", exact=True).select_option(label="Ads")
    page.get_by_label("Amount", exact=True).fill("500")
    page.get_by_role("button", name="Save spend").click()
    page.get_by_text("Spend of 2026-03 for Ads saved.").wait_for()
    assert _fits_1280(page)
    page.screenshot(path=SCREENSHOTS / "insights-02-spend.png", full_page=True)
    assert Spend.objects.get().team_id == history.alice.team_id

    page.goto(f"{live_server.url}/insights/cost/?{PERIOD}")
    cost = page.locator('table[data-table="cost"]')
    ads_cost = cost.locator("tbody tr", has=page.get_by_role("link", name="Ads"))
    cells = ads_cost.locator("td").all_inner_texts()
    assert cells[:3] == ["500.00", "5", "100.00"]  # spend, leads, per lead
    assert page.locator("#chart-cost-per-won").is_visible()
    assert _fits_1280(page)
    page.screenshot(path=SCREENSHOTS / "insights-03-cost.png", full_page=True)

    # Drill: the source's name opens the lead list narrowed to it and the period.
    page.goto(f"{live_server.url}/insights/funnel/?{PERIOD}")
    page.locator('table[data-table="funnel"]').get_by_role("link", name="Ads").click()
    page.wait_for_url(f"**/?*source={history.sources['Ads'].pk}*")
    names = {history.leads[n].display_name() for n in ("A1", "A2", "A3", "A4", "A5")}
    for name in names:
        assert page.get_by_role("link", name=name).first.is_visible()
    assert page.get_by_role("link", name=history.leads["C1"].display_name()).count() == 0
    page.screenshot(path=SCREENSHOTS / "insights-04-drill.png", full_page=True)
