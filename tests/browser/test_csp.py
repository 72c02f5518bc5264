"""The browser tests run under the real Content-Security-Policy, and a violation fails them."""

from __future__ import annotations

from typing import Any

from tests.browser.chromium import take_problem


def test_an_inline_script_is_refused_and_reported(
    live_server: Any, browser_page: Any, browser_problems: list[str]
) -> None:
    page = browser_page
    page.goto(f"{live_server.url}/accounts/login/")
    title = page.title()

    page.evaluate(
        "() => { const s = document.createElement('script');"
        " s.textContent = \"document.title = 'injected'\"; document.head.append(s); }"
    )
    page.evaluate("() => document.body.setAttribute('style', 'color: red')")

    assert page.title() == title  # the injected script never ran
    take_problem(browser_problems, "CSP violation: script-src-elem")
    take_problem(browser_problems, "violates the following Content Security Policy", "script")
    take_problem(browser_problems, "CSP violation: style-src-attr")
    take_problem(browser_problems, "violates the following Content Security Policy", "style")
    assert browser_problems == []
