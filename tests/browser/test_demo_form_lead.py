"""#17 in a real browser: a visitor posts the demo's public form; right after, the lead page
shows its owner, its response deadline and "why this rep", or, when nobody of the team is on
duty at this hour, the routing queue and its reason. Every hour of the day is checked without
a browser in ``tests/webforms/test_demo_form_any_hour.py``; this runs at the current hour.
Screenshot: ``artifacts/screenshots/demo-form-lead.png``.
"""

from __future__ import annotations

import io
from typing import Any

from django.core.management import call_command
from playwright.sync_api import expect

from tests.browser.chromium import SCREENSHOTS
from tests.conftest import PASSWORD


def test_a_demo_form_lead_has_its_owner_deadline_and_reason_or_its_queue_reason(
    live_server: Any, chromium: Any
) -> None:
    from leadsieve.accounts.models import Role, User
    from leadsieve.leads.models import Lead
    from leadsieve.routing.models import Assignment, QueuedLead

    call_command("load_demo", leads=40, seed=7, stdout=io.StringIO())
    User.objects.create_superuser(username="root", password=PASSWORD, role=Role.ADMIN)

    visitor = chromium.new_page(viewport={"width": 1280, "height": 900})
    visitor.goto(f"{live_server.url}/f/contact/")
    visitor.get_by_label("First name").fill("Grace")
    visitor.get_by_label("Last name").fill("Hopper")
    visitor.get_by_label("Work email").fill("grace@compiler.example")
    visitor.get_by_label("Company").fill("Compiler Works")
    visitor.get_by_label("Country").select_option("US")
    visitor.get_by_label("When do you plan to decide?").select_option("quarter")
    visitor.get_by_label("I agree to be contacted about LeadSieve.").check()
    visitor.get_by_role("button", name="Talk to sales").click()
    visitor.wait_for_url(f"{live_server.url}/f/contact/thanks/")

    lead = Lead.objects.get(email_key="grace@compiler.example")
    page = chromium.new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{live_server.url}/accounts/login/?next=/leads/{lead.pk}/")
    page.get_by_label("Username").fill("root")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server.url}/leads/{lead.pk}/")
    follow_up = page.locator("aside.lead-side")
    if lead.owner is not None:
        reason = Assignment.objects.get(lead=lead).reason
        expect(follow_up.locator("dd").first).to_contain_text(lead.owner.first_name)
        expect(follow_up).to_contain_text(f"Why: {reason}")
        expect(follow_up).to_contain_text("first response due")
    else:
        reason = QueuedLead.objects.get(lead=lead).reason
        expect(page.locator("#routing-queue")).to_contain_text(f"In the routing queue: {reason}")
    page.screenshot(path=SCREENSHOTS / "demo-form-lead.png", full_page=True)
