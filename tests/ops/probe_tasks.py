"""A task that records every run of itself, for the multi-process test's claim check.

Each run inserts (task id, worker id) into ``probe_runs``, a table the test creates with SQL,
in the run's own transaction. A task claimed by two workers at once would leave two rows
with two worker ids; a task re-run after its worker was killed shows two worker ids in its
result's ``worker_ids`` too, so the test compares the rows with that list.
"""

from __future__ import annotations

from django.db import connection
from django_tasks import TaskContext, task

PROBE_TABLE = "probe_runs"


@task(takes_context=True)
def probe_task(context: TaskContext, n: int) -> int:
    result = context.task_result
    worker = result.worker_ids[-1] if result.worker_ids else ""
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {PROBE_TABLE} (task_id, worker_id, n) VALUES (%s, %s, %s)",
            [str(result.id), worker, n],
        )
    return n
