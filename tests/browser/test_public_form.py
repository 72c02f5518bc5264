"""The public web form as a visitor sees it: the team's colour and logo, labelled fields,
errors by label, no sideways scroll on a laptop or a phone. Screenshots in
``artifacts/screenshots/`` (``form-*.png``).
"""

from __future__ import annotations

import random
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.chromium import SCREENSHOTS, take_problem

SIZES = {"laptop": (1280, 900), "phone": (390, 800)}


@pytest.fixture
def contact_form(db: None) -> Any:
    from leadsieve.webforms.demo import seed_demo
    from leadsieve.webforms.models import WebForm

    seed_demo(random.Random(0))
    return WebForm.objects.get(slug="contact")


@pytest.mark.parametrize("size", SIZES)
def test_the_demo_form_wears_its_theme_and_fits_the_window(
    live_server: Any, chromium: Any, contact_form: Any, size: str
) -> None:
    width, height = SIZES[size]
    page = chromium.new_page(viewport={"width": width, "height": height})
    page.goto(f"{live_server.url}/f/contact/")
    expect(page.get_by_role("heading", name="Contact us")).to_be_visible()
    logo = page.locator("img.ls-logo")
    expect(logo).to_be_visible()
    assert logo.evaluate("img => img.naturalWidth") > 0  # the PNG was served and decoded
    button = page.get_by_role("button", name="Talk to sales")
    colour = button.evaluate("b => getComputedStyle(b).backgroundColor")
    assert colour == "rgb(31, 95, 191)"  # the demo's #1f5fbf, from /f/contact/theme.css
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    page.screenshot(path=SCREENSHOTS / f"form-demo-{size}.png", full_page=True)


def test_errors_name_the_field_by_its_label(
    live_server: Any, chromium: Any, contact_form: Any, browser_problems: list[str]
) -> None:
    page = chromium.new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{live_server.url}/f/contact/")
    page.locator("form").evaluate("form => { form.noValidate = true; }")
    page.get_by_label("First name").fill("Ann")
    page.get_by_role("button", name="Talk to sales").click()
    summary = page.get_by_role("alert").first
    expect(summary).to_contain_text("Last name: This field is required.")
    expect(summary).not_to_contain_text("last_name")
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280
    page.screenshot(path=SCREENSHOTS / "form-demo-errors.png", full_page=True)
    take_problem(browser_problems, "status of 422")  # the form sent back with its errors
