"""A signed-in user reads the API docs in a real browser: swagger-ui loads from LeadSieve
itself (no CDN) and fetches the schema with the session.
"""

from __future__ import annotations

from typing import Any

from tests.conftest import PASSWORD


def test_a_signed_in_user_reads_the_api_docs_served_locally(
    live_server: Any, browser_page: Any, bob: Any
) -> None:
    page = browser_page
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))

    page.goto(f"{live_server.url}/api/v1/docs")
    assert "/accounts/login/" in page.url
    page.get_by_label("Username").fill("bob")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server.url}/api/v1/docs")

    # swagger-ui renders one block per operation once it has read the schema.
    page.locator(".opblock").first.wait_for()
    assert page.locator(".opblock").count() == 11  # every operation of docs/api.md
    assert page.get_by_text("/api/v1/leads/bulk").first.is_visible()
    assert all(url.startswith(live_server.url) for url in requested), requested
