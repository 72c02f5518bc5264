"""One tick of time-based work, called by ``leadsieve tick`` (cron) or the task worker.

Order matters: place waiting leads first (so they get deadlines and cadences), then act
on missed deadlines, move re-surfaced leads, enrol, and turn due steps into tasks; last,
delete the files of imports kept past ``LEADSIEVE_IMPORT_KEEP_DAYS``, and put back in the
queue (or fail) the background tasks a killed worker left running (``background``), and
queue the filling of snapshot reasons if any still wait for it.
Each part commits in small transactions; running a tick twice does nothing twice.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils import timezone

from leadsieve.background import recover_stopped_tasks
from leadsieve.cadences.services import enrol_due_leads, resurface_leads, run_due_steps
from leadsieve.insights.tasks import request_milestones_refresh
from leadsieve.intake.services import remove_expired_import_files
from leadsieve.leads.models import Lead, Outcome, Status
from leadsieve.routing.services import assign_leads
from leadsieve.routing.sla import check_slas
from leadsieve.scoring.history import request_snapshot_reasons_if_pending

# Unowned leads placed per tick, best rating first; the rest wait for the next tick.
ASSIGN_PER_TICK = 5000


def run_tick(*, now: datetime | None = None) -> dict[str, Any]:
    """Run every time-based job once; the counts of what each did."""
    now = now or timezone.now()
    waiting = (
        Lead.objects.filter(owner__isnull=True, outcome=Outcome.OPEN, merged_into__isnull=True)
        .exclude(status=Status.DISQUALIFIED)
        .order_by("-rating", "created_at")
        .values_list("id", flat=True)[:ASSIGN_PER_TICK]
    )
    placed = assign_leads(Lead.objects.filter(id__in=list(waiting)), now=now, via="tick")
    breaches = check_slas(now=now)
    resurfaced = resurface_leads(now=now)
    enrolled = enrol_due_leads(now=now)
    steps = run_due_steps(now=now)
    import_files_removed = remove_expired_import_files(now=now)
    tasks = recover_stopped_tasks()
    reasons_queued = request_snapshot_reasons_if_pending()
    milestones_queued = request_milestones_refresh()
    return {
        "assigned": len(placed.assigned),
        "queued": len(placed.queued),
        "sla_breaches": len(breaches),
        "resurfaced": resurfaced,
        "enrolled": enrolled,
        **{f"steps_{name}": count for name, count in steps.items()},
        "import_files_removed": import_files_removed,
        "tasks_requeued": tasks["requeued"],
        "tasks_failed": tasks["failed"],
        "snapshot_reasons_queued": int(reasons_queued),
        "milestones_refresh_queued": int(milestones_queued),
    }
