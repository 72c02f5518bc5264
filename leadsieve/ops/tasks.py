"""Background tasks (Django's tasks API): the tick, enqueued by ``leadsieve tick --enqueue``."""

from __future__ import annotations

from typing import Any

from django_tasks import task

from leadsieve.background import SCHEDULE_PRIORITY
from leadsieve.ops.tick import run_tick


@task(priority=SCHEDULE_PRIORITY)
def tick_task() -> dict[str, Any]:
    """Run one tick in the worker; the returned counts are stored with the task result."""
    return run_tick()
