"""Browser tests: Debian's chromium driven by Playwright against ``live_server``.

Every test here is marked ``browser`` and skipped when chromium is missing (``make browser``
installs it). ``live_server`` flushes the database after each test, which also removes what
the migrations seeded (the default pipeline stages and scorecard); ``serialized_rollback``
restores that content at the start of every browser test, whatever order they run in.

The pages run under LeadSieve's real Content-Security-Policy, and every page the ``chromium``
fixture opens is listened to: a console error (chromium reports each CSP violation as one, and
each failed resource) or an uncaught exception fails the test. A test that provokes an error
on purpose takes it out of ``browser_problems`` itself.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser.chromium import CHROMIUM, CHROMIUM_ARGS, SCREENSHOTS

NO_CHROMIUM = "needs Debian's chromium at /usr/bin/chromium (make browser)"
CRASHED = "crashed while running"  # pytest-xdist's report of a worker that died mid-test


@pytest.hookimpl(tryfirst=True)  # before ``-m`` selection reads the markers
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.parent.name != "browser":
            continue
        item.add_marker(pytest.mark.browser)
        item.add_marker(pytest.mark.skipif(not CHROMIUM.exists(), reason=NO_CHROMIUM))
        # One more try only for a worker that died (a signal, not a failed assertion): one
        # CI run lost a worker to a segfault in the walk, not reproduced in 3 local runs.
        # The dead worker's stacks are printed after the run (``.pytest-crash/``).
        item.add_marker(pytest.mark.flaky(reruns=1, only_rerun=[CRASHED]))
        if "live_server" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.django_db(transaction=True, serialized_rollback=True))


# Chromium logs a CSP violation as a console error already; this adds the directive, the
# script and line that caused it and the element, so a failure says what to fix.
REPORT_CSP_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  const where = event.target && event.target.outerHTML ? event.target.outerHTML.slice(0, 200) : "";
  console.error(`CSP violation: ${event.violatedDirective} at ${event.sourceFile}:` +
    `${event.lineNumber}:${event.columnNumber} ${where}`);
}, true);
"""


class WatchedBrowser:
    """A Playwright ``Browser`` whose every page reports console errors and uncaught
    exceptions into ``problems``; anything else is the browser's own.
    """

    def __init__(self, browser: Any, problems: list[str]) -> None:
        self._browser = browser
        self.problems = problems

    def _watch(self, page: Any) -> None:
        def on_console(message: Any) -> None:
            if message.type == "error":
                self.problems.append(f"console error on {page.url}: {message.text}")

        def on_page_error(error: Any) -> None:
            self.problems.append(f"uncaught exception on {page.url}: {error}")

        page.on("console", on_console)
        page.on("pageerror", on_page_error)

    def new_context(self, **options: Any) -> Any:
        context = self._browser.new_context(**options)
        context.add_init_script(REPORT_CSP_VIOLATIONS)
        context.on("page", self._watch)
        return context

    def new_page(self, **options: Any) -> Any:
        page = self._browser.new_page(**options)
        page.add_init_script(REPORT_CSP_VIOLATIONS)
        self._watch(page)
        page.context.on("page", self._watch)  # pop-ups it opens
        return page

    def __getattr__(self, name: str) -> Any:
        return getattr(self._browser, name)


@pytest.fixture
def browser_problems() -> list[str]:
    """Console errors and uncaught exceptions of the test's pages (empty, or the test fails)."""
    return []


@pytest.fixture
def chromium(browser_problems: list[str]) -> Iterator[Any]:
    """A headless chromium; pages and contexts opened on it close with it. Any console error
    or uncaught exception on its pages fails the test (see the module's docstring).
    """
    # Playwright's sync API runs an event loop in this thread; the ORM calls the test makes
    # between browser steps are still plain synchronous calls.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield WatchedBrowser(browser, browser_problems)
        finally:
            # Inside Playwright's sync API an event loop runs in this thread, so Django keeps
            # this thread's connections apart (asgiref's Local, per context): close them
            # here, or PostgreSQL's test database keeps a session open and cannot be
            # dropped at the end of the run.
            from django.db import connections

            connections.close_all()
            browser.close()
    assert browser_problems == [], "\n".join(browser_problems)


@pytest.fixture
def browser_page(chromium: Any) -> Any:
    """A laptop-sized page."""
    return chromium.new_page(viewport={"width": 1280, "height": 900})
