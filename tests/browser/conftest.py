"""Browser tests run against ``live_server``, so their database is flushed after each test.

A flush also removes what the migrations seeded (the default pipeline stages and scorecard),
which the next browser test would then miss. ``serialized_rollback`` restores that content at
the start of every browser test, whatever order the tests run in.
"""

from __future__ import annotations

import pytest


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        uses_live_server = "live_server" in getattr(item, "fixturenames", ())
        if item.path.parent.name == "browser" and uses_live_server:
            item.add_marker(pytest.mark.django_db(transaction=True, serialized_rollback=True))
