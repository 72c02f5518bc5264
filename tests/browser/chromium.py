"""What every browser test shares: Debian's chromium, its flags, where screenshots go, and
the hostile strings that must stay text on every page.
"""

from __future__ import annotations

from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
XSS_NAME = "<img src=x onerror=alert(1)>"
XSS_COMPANY = '"><script>alert(1)</script>'


def take_problem(problems: list[str], *fragments: str) -> str:
    """Take out of ``problems`` (the ``browser_problems`` fixture) the console error a test
    provoked on purpose, e.g. the "status of 400" chromium logs for a form sent back with its
    errors; fails when there is none, so the expectation stays true.
    """
    matching = [problem for problem in problems if all(f in problem for f in fragments)]
    assert matching, f"no browser problem with {fragments!r} among {problems!r}"
    problems.remove(matching[0])
    return matching[0]
