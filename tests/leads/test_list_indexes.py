"""The lead lists' default order (open leads first, then best rated first, unrated last) walks an
index on both databases: one query for the open leads, one for the closed ones, each in order.

PostgreSQL keeps a ``DESC`` index key nulls first, so ``ORDER BY rating DESC NULLS LAST`` once
sorted a manager's whole team on every page (1.5 s at 1M leads, 18 ms after): the plans below
must read the leads in index order and stop, with no sort step. The planner is told to avoid
full scans so that a small test table does not hide a missing index.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from leadsieve.leads.queries import DEFAULT_SORT
from leadsieve.segments.filters import LeadFilters
from leadsieve.workspace.queries import list_leads_for_user


def _plans(user: Any, sort: str = DEFAULT_SORT) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        list_leads_for_user(user, LeadFilters(), sort=sort)
    lead_queries = [q["sql"] for q in captured.captured_queries if "leads_lead" in q["sql"]]
    assert lead_queries
    plans = []
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute("SET LOCAL enable_bitmapscan = off")
        for sql in lead_queries:
            prefix = "EXPLAIN " if connection.vendor == "postgresql" else "EXPLAIN QUERY PLAN "
            cursor.execute(prefix + sql)
            plans.append("\n".join(str(row[-1]) for row in cursor.fetchall()))
    return plans


def _sorts(plan: str) -> bool:
    if connection.vendor == "postgresql":
        return any(line.strip().lstrip("-> ").startswith("Sort") for line in plan.splitlines())
    return "TEMP B-TREE FOR ORDER BY" in plan


@pytest.mark.parametrize("who", ["alice", "bob", "admin_user"])
def test_each_role_s_default_list_reads_an_index_in_order(
    who: str, request: pytest.FixtureRequest, make_lead: Any
) -> None:
    user = request.getfixturevalue(who)
    owner = user if who == "bob" else None
    for rating in (10, None, 80):
        make_lead(team=user.team, owner=owner, rating=rating)
    # Fewer open leads than a page: the closed ones' query runs too, and walks an index.
    make_lead(team=user.team, owner=owner, rating=67, status="disqualified")
    make_lead(team=user.team, owner=owner, rating=90, outcome="won")
    plans = _plans(user)
    assert len(plans) == (4 if who == "bob" else 2)  # open, then closed (a rep's two parts)
    for plan in [*plans, *_plans(user, "-rating")]:
        assert not _sorts(plan), plan


@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite indexes have no NULLS")
def test_postgresql_indexes_say_nulls_last(db: None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE indexname IN "
            "('lead_live_rating', 'lead_team_rating', 'lead_team_status_rating', "
            "'lead_owner_rating', 'lead_team_unassigned_rating')"
        )
        definitions = dict(cursor.fetchall())
    assert len(definitions) == 5
    for definition in definitions.values():
        assert "rating DESC NULLS LAST, id DESC NULLS LAST" in definition
