"""Background rescoring writes in short transactions: a bounded number of leads each, so a
capture meanwhile waits for one batch at most (SQLite's write lock is database-wide)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.db import connection

from leadsieve.leads.models import Lead
from leadsieve.scoring.tasks import RESCORE_TASK_BATCH, rescore_leads_task

pytestmark = pytest.mark.django_db(transaction=True)


@contextmanager
def counted_transactions() -> Iterator[list[str]]:
    """Every ``BEGIN`` this connection sends (SQLite: Django begins each transaction
    itself, ``BEGIN IMMEDIATE``)."""
    begun: list[str] = []

    def watch(execute: Callable[..., Any], sql: str, *args: Any) -> Any:
        if sql.upper().startswith("BEGIN"):
            begun.append(sql)
        return execute(sql, *args)

    with connection.execute_wrapper(watch):
        yield begun


def test_an_import_sized_rescoring_commits_a_batch_at_a_time(make_lead: Any) -> None:
    if connection.vendor != "sqlite":
        pytest.skip("counts SQLite's explicit BEGIN statements")
    ids = [make_lead(job_title="CEO").pk for _ in range(2 * RESCORE_TASK_BATCH + 10)]
    with counted_transactions() as begun:
        assert rescore_leads_task.call(lead_ids=ids) == len(ids)
    assert len(begun) >= 3
    assert Lead.objects.filter(scored_at__isnull=True).count() == 0


def test_rescoring_touched_leads_in_line_commits_a_batch_at_a_time(
    make_lead: Any, settings: Any
) -> None:
    from leadsieve.scoring.events import EVENT_BATCH, rescore_touched_leads

    if connection.vendor != "sqlite":
        pytest.skip("counts SQLite's explicit BEGIN statements")
    # Queued, not run here: only the rescoring's own transactions are counted.
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    ids = [make_lead(job_title="CEO").pk for _ in range(EVENT_BATCH + 5)]
    with counted_transactions() as begun:
        rescore_touched_leads(ids)
    assert len(begun) == 2
    assert Lead.objects.filter(scored_at__isnull=True).count() == 0
