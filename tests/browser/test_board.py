"""A rep drags a card across the pipeline board in a real browser (Debian's chromium).

Screenshots land in ``artifacts/screenshots/`` (git-ignored) for a person to look at.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from playwright.sync_api import expect

from leadsieve.segments.services import add_leads_to_segment, save_segment
from leadsieve.stages.models import Stage, StageChange
from tests.browser.chromium import SCREENSHOTS, XSS_COMPANY, XSS_NAME
from tests.conftest import PASSWORD


@pytest.fixture
def browser_page(chromium: Any) -> Any:
    return chromium.new_page(viewport={"width": 1920, "height": 1000})


def test_a_rep_drags_a_lead_to_the_next_stage(
    live_server: Any,
    browser_page: Any,
    alice: Any,
    bob: Any,
    north: Any,
    make_lead: Callable[..., Any],
) -> None:
    new, contacted, won = (Stage.objects.get(slug=s) for s in ("new", "contacted", "won"))
    mover = make_lead(
        first_name="Dana",
        last_name="Mover",
        company_name="Drag Ltd",
        team=north,
        owner=bob,
        stage=new,
        rating=80,
        expected_value=Decimal("5000"),
    )
    hostile = make_lead(
        first_name=XSS_NAME,
        last_name="",
        company_name=XSS_COMPANY,
        team=north,
        owner=bob,
        stage=new,
        rating=70,
    )
    make_lead(first_name="Cleo", last_name="Called", team=north, owner=None, stage=contacted)
    listed = save_segment(alice, "Hand-picked", is_shared=True, is_list=True)
    add_leads_to_segment(listed, [mover, hostile], user=alice)
    save_segment(bob, "My hot leads", query="rating_min=70&owner=me")
    page = browser_page
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))

    page.goto(f"{live_server.url}/board/")
    page.get_by_label("Username").fill("bob")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server.url}/board/")

    new_column = page.locator(f"section[data-stage-id='{new.pk}']")
    contacted_column = page.locator(f"section[data-stage-id='{contacted.pk}']")
    assert new_column.locator("[data-count]").inner_text() == "2"
    assert contacted_column.locator("[data-count]").inner_text() == "1"
    assert new_column.get_by_text(XSS_NAME, exact=True).is_visible()
    assert new_column.get_by_text(XSS_COMPANY, exact=True).is_visible()
    page.screenshot(path=SCREENSHOTS / "20-board.png", full_page=True)

    card = page.locator(f".board-card[data-lead-id='{mover.pk}']")
    with page.expect_response(lambda response: "/move/" in response.url):
        card.drag_to(contacted_column.locator("h2"))
    expect(page.locator(f"section[data-stage-id='{contacted.pk}'] [data-count]")).to_have_text("2")
    new_column = page.locator(f"section[data-stage-id='{new.pk}']")
    contacted_column = page.locator(f"section[data-stage-id='{contacted.pk}']")
    assert new_column.locator("[data-count]").inner_text() == "1"
    assert contacted_column.get_by_role("link", name="Dana Mover").is_visible()
    assert page.get_by_text("Dana Mover moved to Contacted.").is_visible()
    page.screenshot(path=SCREENSHOTS / "21-board-after-drag.png", full_page=True)

    # Won closes the lead and needs a reason: the drop is refused and the card stays.
    won_column = page.locator(f"section[data-stage-id='{won.pk}']")
    hostile_card = page.locator(f".board-card[data-lead-id='{hostile.pk}']")
    with page.expect_response(lambda response: "/move/" in response.url):
        # The board scrolls sideways: drop on the visible left edge of the Won heading.
        hostile_card.drag_to(won_column.locator("h2"), target_position={"x": 8, "y": 8})
    page.get_by_text("needs a reason").wait_for()
    assert page.locator(f"section[data-stage-id='{new.pk}'] [data-count]").inner_text() == "1"
    assert page.locator(
        f"section[data-stage-id='{new.pk}'] .board-card[data-lead-id='{hostile.pk}']"
    ).is_visible()
    hostile.refresh_from_db()
    assert hostile.stage_id == new.pk
    page.screenshot(path=SCREENSHOTS / "22-board-refused-move.png", full_page=True)

    # The keyboard path: the card's own "Move to" menu.
    page.get_by_label(f"Move {XSS_NAME} to").select_option(str(contacted.pk))
    with page.expect_response(lambda response: "/move/" in response.url):
        page.locator(f".board-card[data-lead-id='{hostile.pk}'] button").click()
    expect(page.locator(f"section[data-stage-id='{contacted.pk}'] [data-count]")).to_have_text("3")

    page.goto(f"{live_server.url}/leads/{mover.pk}/")
    assert page.get_by_text("Stage: New → Contacted").is_visible()
    move = StageChange.objects.get(lead=mover)
    assert (move.from_stage_id, move.to_stage_id, move.user_id) == (new.pk, contacted.pk, bob.pk)

    page.goto(f"{live_server.url}/segments/")
    assert page.get_by_role("link", name="Hand-picked").is_visible()
    page.screenshot(path=SCREENSHOTS / "23-segments.png", full_page=True)
    page.get_by_role("link", name="Hand-picked").click()
    page.wait_for_url(f"{live_server.url}/leads/?segment={listed.pk}")
    assert page.get_by_text(XSS_NAME, exact=True).is_visible()
    assert page.get_by_text(XSS_COMPANY, exact=True).is_visible()
    assert page.get_by_role("link", name="Cleo Called").count() == 0
    page.screenshot(path=SCREENSHOTS / "24-segment-list.png", full_page=True)

    page.goto(f"{live_server.url}/board/?segment={listed.pk}")
    assert page.locator(f"section[data-stage-id='{contacted.pk}'] [data-count]").inner_text() == "2"

    # Save the list's current filters as a segment, from the list itself.
    page.goto(f"{live_server.url}/leads/?rating_min=75")
    page.get_by_text("Save these filters as a segment").click()
    page.get_by_label("Segment name").fill("Rated 75 and up")
    page.get_by_role("button", name="Save segment").click()
    page.get_by_text("Segment “Rated 75 and up” saved.").wait_for()
    assert "segment=" in page.url
    assert page.get_by_role("link", name="Dana Mover").is_visible()
    assert page.get_by_role("link", name="Cleo Called").count() == 0

    assert dialogs == []
