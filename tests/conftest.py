"""Shared fixtures: the personas every test speaks of.

- ``alice``: manager of team North;
- ``bob``: rep on Alice's team;
- ``carol``: rep on team South, who must be refused North's leads.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

PASSWORD = "correct horse battery staple"


@pytest.hookimpl(trylast=True)  # after the browser folder marks its live-server tests
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every transactional test restores the migrated data after its flush.

    A transactional test's teardown flushes every table. Without ``serialized_rollback`` the
    flush also re-creates content types and permissions (post_migrate), and the next test
    *with* ``serialized_rollback`` (the browser tests) then re-inserts them from its snapshot
    and fails on their unique keys; which tests share an xdist worker decides whether that
    happens. With every transactional test restoring the snapshot, none is left half-filled.
    """
    for item in items:
        marker = item.get_closest_marker("django_db")
        transactional = "transactional_db" in getattr(item, "fixturenames", ()) or (
            marker is not None and marker.kwargs.get("transaction", False)
        )
        if not transactional:
            continue
        kwargs = {**(marker.kwargs if marker is not None else {}), "transaction": True}
        kwargs["serialized_rollback"] = True
        item.add_marker(pytest.mark.django_db(**kwargs), append=False)


@pytest.fixture(autouse=True)
def _stage_counts_match_the_leads(request: pytest.FixtureRequest) -> None:
    """No board count is left over from the previous test's leads.

    A transactional test's flush may empty the count table before the lead table, whose
    delete trigger then writes counts for leads that no longer exist; with
    ``serialized_rollback`` the flush sends no post-migrate, so the product's own repair
    (``stages.counts.repair_after_migrate``) does not run. Each database test runs it first.
    """
    wants_db = {"db", "transactional_db"} & set(request.fixturenames)
    if not wants_db and request.node.get_closest_marker("django_db") is None:
        return
    request.getfixturevalue("transactional_db" if "transactional_db" in wants_db else "db")
    from django.db import connection

    from leadsieve.stages.counts import repair_after_migrate

    repair_after_migrate(connection)


@pytest.fixture
def north(db: None) -> Any:
    from leadsieve.accounts.models import Team

    return Team.objects.create(name="North", slug="north", timezone="Europe/Paris")


@pytest.fixture
def south(db: None) -> Any:
    from leadsieve.accounts.models import Team

    return Team.objects.create(name="South", slug="south", timezone="America/New_York")


@pytest.fixture
def make_user(db: None) -> Callable[..., Any]:
    from leadsieve.accounts.models import Role, User

    def make(username: str, *, role: str = Role.REP, team: Any = None, **extra: Any) -> Any:
        return User.objects.create_user(
            username=username,
            password=PASSWORD,
            email=f"{username}@example.test",
            first_name=username.capitalize(),
            role=role,
            team=team,
            **extra,
        )

    return make


@pytest.fixture
def alice(make_user: Callable[..., Any], north: Any) -> Any:
    return make_user("alice", role="manager", team=north)


@pytest.fixture
def bob(make_user: Callable[..., Any], north: Any) -> Any:
    return make_user("bob", role="rep", team=north)


@pytest.fixture
def carol(make_user: Callable[..., Any], south: Any) -> Any:
    return make_user("carol", role="rep", team=south)


@pytest.fixture
def admin_user(make_user: Callable[..., Any]) -> Any:
    return make_user("root", role="admin", is_staff=True, is_superuser=True)


@pytest.fixture
def make_lead(db: None) -> Callable[..., Any]:
    """A tiny factory for tests that need a stored lead and nothing of capture."""
    from leadsieve.leads.models import Lead

    counter = {"n": 0}

    def make(**overrides: Any) -> Any:
        counter["n"] += 1
        n = counter["n"]
        values: dict[str, Any] = {
            "first_name": "Lee",
            "last_name": f"Tester{n}",
            "email": f"lee{n}@acme-{n}.test",
            "email_key": f"lee{n}@acme-{n}.test",
        }
        values.update(overrides)
        return Lead.objects.create(**values)

    return make


@pytest.fixture
def ended_worker() -> str:
    """A job's ``worker`` record (``host:pid:``) of a process of this host that has ended."""
    import socket
    import subprocess
    import sys

    ended = subprocess.Popen([sys.executable, "-c", "pass"])
    ended.wait()
    return f"{socket.gethostname()}:{ended.pid}:"
