"""A manager reads speed to lead (chart, speed and procedure tables) and the calibration page
(hot/warm/cold, bands, alarms) in a real browser; both fit a 1280 px window. Screenshots:
``artifacts/screenshots/insights-speed-*.png``."""

from __future__ import annotations

from typing import Any

from tests.browser.chromium import SCREENSHOTS
from tests.conftest import PASSWORD
from tests.insights.test_calibration import closed  # noqa: F401 (closed leads with ratings)
from tests.insights.test_speed import worked  # noqa: F401 (leads answered at known speeds)

PERIOD = "from=2026-03-01&to=2026-03-31"


def _fits(page: Any) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth") <= 1280)


def test_a_manager_reads_speed_to_lead_and_calibration(
    live_server: Any,
    browser_page: Any,
    worked: dict[str, Any],  # noqa: F811
    closed: dict[str, Any],  # noqa: F811
) -> None:
    page = browser_page
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Insights").click()
    page.get_by_role("link", name="Speed to lead and procedure").click()
    page.wait_for_url(f"{live_server.url}/insights/speed-to-lead/")
    page.goto(f"{live_server.url}/insights/speed-to-lead/?{PERIOD}&by=rep")
    chart = page.locator("svg#chart-speed-bands")
    assert chart.is_visible() and chart.get_attribute("role") == "img"
    reps = page.locator('table[data-table="speed"] tbody th')
    assert [reps.nth(i).text_content() for i in range(reps.count())] == ["Bob", "Dave"]
    assert page.locator('table[data-table="procedure"]').is_visible()
    assert _fits(page)
    page.screenshot(path=SCREENSHOTS / "insights-speed-01-speed-to-lead.png", full_page=True)

    page.goto(f"{live_server.url}/insights/calibration/?{PERIOD}")
    assert page.locator("svg#chart-temperature").is_visible()
    assert page.locator("svg#chart-calibration").is_visible()
    assert page.get_by_text("Band 71–80 (rating at capture) is off by 15 points").is_visible()
    assert page.get_by_text("Hot beats warm beats cold.").is_visible()
    assert _fits(page)
    page.screenshot(path=SCREENSHOTS / "insights-speed-02-calibration.png", full_page=True)
