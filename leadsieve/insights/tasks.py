"""Background work of the insights app: keeping the milestones current (milestones.py)."""

from __future__ import annotations

from django_tasks import task

from leadsieve.background import MAINTENANCE_PRIORITY


@task(priority=MAINTENANCE_PRIORITY)
def refresh_milestones_task() -> int:
    """Bring ``LeadMilestones`` up to date with the history; a run that reaches its time
    limit queues the next (behind any task of higher priority). Returns n rows rebuilt."""
    from leadsieve.insights.milestones import refresh_milestones, request_milestones_refresh

    result = refresh_milestones()
    if not result.is_done:
        request_milestones_refresh()
    return result.n_refreshed + result.n_backfilled
