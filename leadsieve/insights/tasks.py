"""Background work of the insights app: keeping the milestones current (milestones.py)."""

from __future__ import annotations

from django_tasks import task

from leadsieve.background import MAINTENANCE_PRIORITY, enqueue_unless_waiting
from leadsieve.insights.milestones import refresh_milestones


@task(priority=MAINTENANCE_PRIORITY)
def refresh_milestones_task() -> int:
    """Bring ``LeadMilestones`` up to date with the history; a run that reaches its time
    limit queues the next (behind any task of higher priority). Returns n rows rebuilt."""
    result = refresh_milestones()
    if not result.is_done:
        request_milestones_refresh()
    return result.n_refreshed + result.n_backfilled


def request_milestones_refresh() -> bool:
    """Queue one background refresh unless one already waits (the tick calls this)."""
    return enqueue_unless_waiting(refresh_milestones_task)
