"""One tick of time-based work, called by ``leadsieve tick`` (cron) or the task worker.

Leads are routed when they arrive (``leadsieve.pipeline``), not here. The tick only sweeps
leftovers the way a retry does: leads whose routing failed on arrival, a batch whose
routing task has not run yet, leads queued when nobody was on duty (placed once a rep
is back), leads taken back for routing. Then it acts on missed deadlines, moves
re-surfaced leads, enrols, and turns due steps into tasks; last, it deletes
the files of imports kept past ``LEADSIEVE_IMPORT_KEEP_DAYS``, puts back in the queue
(or fails) the background tasks a killed worker left running (``background``), and
queues the filling of snapshot reasons if any still wait for it.
Each part commits in small transactions; running a tick twice does nothing twice.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils import timezone

from leadsieve.background import recover_stopped_tasks
from leadsieve.cadences.services import enrol_due_leads, resurface_leads, run_due_steps
from leadsieve.intake.services import remove_expired_import_files
from leadsieve.leads.models import Lead, Outcome, Status
from leadsieve.routing.services import assign_leads
from leadsieve.routing.sla import check_slas
from leadsieve.scoring.history import request_snapshot_reasons_if_pending

# Leftover unowned leads placed per tick, best rating first; the rest wait for the next one.
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
    }
