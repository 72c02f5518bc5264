"""A manager changes a rep's capacity, adds an absence and reads the consistency report's
chart in a real browser (Debian's chromium). Screenshots: ``artifacts/screenshots/``."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.utils import timezone

from tests.browser.chromium import SCREENSHOTS, take_problem
from tests.conftest import PASSWORD


def _answered(rep: Any, lead: Any, hours: float) -> None:
    from leadsieve.routing.models import Assignment, LeadDeadline

    started = timezone.now() - timedelta(days=2)
    Assignment.objects.create(lead=lead, rep=rep, reason="rule", assigned_at=started)
    LeadDeadline.objects.create(
        lead=lead,
        owner=rep,
        started_at=started,
        at_risk_at=started + timedelta(hours=1),
        first_response_due=started + timedelta(hours=2),
        responded_at=started + timedelta(hours=hours),
    )


def test_a_manager_changes_capacity_adds_an_absence_and_reads_the_report(
    live_server: Any,
    browser_page: Any,
    browser_problems: list[str],
    alice: Any,
    bob: Any,
    north: Any,
    make_user: Callable[..., Any],
    make_lead: Callable[..., Any],
) -> None:
    from leadsieve.routing.models import Absence, RepProfile

    dave = make_user("dave", role="rep", team=north)
    RepProfile.objects.create(user=bob, max_new_per_day=20)
    _answered(bob, make_lead(team=north, owner=bob), 1)
    _answered(dave, make_lead(team=north, owner=dave), 5)
    page = browser_page
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))

    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Team").click()
    page.wait_for_url(f"{live_server.url}/team/{north.pk}/")
    assert page.get_by_role("heading", name="Team settings · North").is_visible()
    page.screenshot(path=SCREENSHOTS / "team-01-settings.png", full_page=True)

    page.get_by_role("link", name="Edit Bob").click()
    page.get_by_label("Max new leads per day").fill("-3")
    page.get_by_role("button", name="Save").click()
    assert page.get_by_text("Ensure this value is greater than or equal to 0.").is_visible()
    take_problem(browser_problems, "/reps/", "status of 400")  # the form, sent back with errors
    page.get_by_label("Max new leads per day").fill("7")
    page.get_by_role("button", name="Save").click()
    page.get_by_text("Capacity and hours of Bob saved.").wait_for()
    assert page.locator('tr[data-rep="bob"] td.num').first.inner_text() == "7"

    page.get_by_label("Rep", exact=True).select_option(label="Bob")
    page.get_by_label("From").fill("2030-05-04")
    page.get_by_label("To (inclusive)").fill("2030-05-08")
    page.get_by_label("Reason").fill("Parental leave")
    page.get_by_role("button", name="Add absence").click()
    page.get_by_text("Absence of Bob added.").wait_for()
    assert page.locator("#absences").get_by_text("(Parental leave)").is_visible()
    assert page.get_by_text("max new per day: 20 → 7").is_visible()  # who changed what, when
    page.screenshot(path=SCREENSHOTS / "team-02-settings-changed.png", full_page=True)
    assert RepProfile.objects.get(user=bob).max_new_per_day == 7
    assert Absence.objects.filter(user=bob, reason="Parental leave").exists()

    from leadsieve.insights.milestones import refresh_milestones

    refresh_milestones(seconds=60)
    page.get_by_role("link", name="Speed & procedure").click()
    # The report moved into the insights speed-to-lead page (#18): the old link redirects.
    page.wait_for_url(f"{live_server.url}/insights/speed-to-lead/?by=rep&team={north.pk}")
    chart = page.locator("svg#chart-speed-bands")
    assert chart.is_visible()
    assert chart.get_attribute("role") == "img"
    reps = page.locator('table[data-table="procedure"] tbody th')
    assert [reps.nth(i).text_content() for i in range(reps.count())] == ["Bob", "Dave"]
    assert page.get_by_text("Dave answers new leads in 5 h (median)").is_visible()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.screenshot(path=SCREENSHOTS / "team-03-consistency-report.png", full_page=True)

    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=SCREENSHOTS / "team-04-consistency-report-phone.png", full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})

    page.goto(f"{live_server.url}/team/{north.pk}/")
    page.get_by_role("link", name="Add a rule").click()
    page.get_by_label("Name", exact=True).fill("French-speaking")
    page.get_by_label("Field, condition 1").fill("country")
    page.get_by_label("Test, condition 1").select_option(label="is one of")
    page.get_by_label("Value, condition 1").fill("FR, BE")
    page.screenshot(path=SCREENSHOTS / "team-05-rule-form.png", full_page=True)
    page.get_by_role("button", name="Save rule").click()
    page.get_by_text("Rule “French-speaking” saved.").wait_for()
    assert page.locator("#rules").get_by_text("country is one of FR, BE").is_visible()

    page.get_by_role("link", name="New cadence").click()
    page.get_by_label("Key").fill("call-now")
    page.get_by_label("Name", exact=True).fill("Call now")
    page.get_by_label("Channel, step 1").select_option(label="Call")
    page.get_by_label("Instruction, step 1").fill("Call within the hour")
    page.get_by_label("Channel, step 2").select_option(label="Email")
    page.get_by_label("Delay (working days), step 2").fill("2")
    page.screenshot(path=SCREENSHOTS / "team-06-cadence-form.png", full_page=True)
    page.get_by_role("button", name="Publish the cadence").click()
    page.get_by_text("Call now version 1 published.").wait_for()
    assert page.get_by_text("1. Call").is_visible() and page.get_by_text("2. Email").is_visible()
    page.screenshot(path=SCREENSHOTS / "team-07-cadence-version.png", full_page=True)
    assert dialogs == []
