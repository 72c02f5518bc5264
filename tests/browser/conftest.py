"""Browser tests: Debian's chromium driven by Playwright against ``live_server``.

Every test here is marked ``browser`` and skipped when chromium is missing (``make browser``
installs it). ``live_server`` flushes the database after each test, which also removes what
the migrations seeded (the default pipeline stages and scorecard); ``serialized_rollback``
restores that content at the start of every browser test, whatever order they run in.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser.chromium import CHROMIUM, CHROMIUM_ARGS, SCREENSHOTS

NO_CHROMIUM = "needs Debian's chromium at /usr/bin/chromium (make browser)"


@pytest.hookimpl(tryfirst=True)  # before ``-m`` selection reads the markers
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.parent.name != "browser":
            continue
        item.add_marker(pytest.mark.browser)
        item.add_marker(pytest.mark.skipif(not CHROMIUM.exists(), reason=NO_CHROMIUM))
        if "live_server" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.django_db(transaction=True, serialized_rollback=True))


@pytest.fixture
def chromium() -> Iterator[Any]:
    """A headless chromium; pages and contexts opened on it close with it."""
    # Playwright's sync API runs an event loop in this thread; the ORM calls the test makes
    # between browser steps are still plain synchronous calls.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            # Inside Playwright's sync API an event loop runs in this thread, so Django keeps
            # this thread's connections apart (asgiref's Local, per context): close them
            # here, or PostgreSQL's test database keeps a session open and cannot be
            # dropped at the end of the run.
            from django.db import connections

            connections.close_all()
            browser.close()


@pytest.fixture
def browser_page(chromium: Any) -> Any:
    """A laptop-sized page."""
    return chromium.new_page(viewport={"width": 1280, "height": 900})
