"""One tick of time-based work, called by ``leadsieve tick`` (cron) or the task worker.

The tick owns no rule: it calls each concept's periodic function, in this order.

1. routing: leads are routed when they arrive (``leadsieve.pipeline``), not here; the tick
   sweeps leftovers the way a retry does (``place_waiting_leads``): leads whose routing
   failed on arrival, a batch whose routing task has not run yet, leads queued when nobody
   was on duty (placed once a rep is back), leads taken back for routing; so they get
   deadlines and cadences in the steps below;
2. routing (deadlines): act on missed first-response deadlines (``check_deadlines``);
3. cadences: move re-surfaced leads back when their rep returns to working hours, enrol due
   leads, and turn due steps into tasks;
4. intake: delete the files of imports kept past ``LEADSIEVE_IMPORT_KEEP_DAYS``;
5. background: put back in the queue (or fail) the tasks a killed worker left running;
6. scoring: queue the filling of snapshot reasons if any still wait for it, and the
   retraining of the conversion model when the schedule says it is due
   (``request_retraining_if_due``, weekly by default);
7. insights: queue the refresh of the reports' history (``LeadMilestones``) from the new
   history rows.
8. stages: fold the board's count deltas into one row per key (``compact_stage_counts``).

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
from leadsieve.routing.breaches import check_deadlines
from leadsieve.routing.sweep import place_waiting_leads
from leadsieve.scoring.retraining import request_retraining_if_due
from leadsieve.scoring.snapshot_reasons import request_snapshot_reasons_if_pending
from leadsieve.stages.counts import compact_stage_counts


def run_tick(*, now: datetime | None = None) -> dict[str, Any]:
    """Run every time-based job once; the counts of what each did."""
    now = now or timezone.now()
    placed = place_waiting_leads(now=now)
    breaches = check_deadlines(now=now)
    resurfaced = resurface_leads(now=now)
    enrolled = enrol_due_leads(now=now)
    steps = run_due_steps(now=now)
    import_files_removed = remove_expired_import_files(now=now)
    tasks = recover_stopped_tasks()
    reasons_queued = request_snapshot_reasons_if_pending()
    retraining_queued = request_retraining_if_due(now=now)
    milestones_queued = request_milestones_refresh()
    counts_folded = compact_stage_counts()
    return {
        "assigned": len(placed.assigned),
        "queued": len(placed.queued),
        "deadline_breaches": len(breaches),
        "resurfaced": resurfaced,
        "enrolled": enrolled,
        **{f"steps_{name}": count for name, count in steps.items()},
        "import_files_removed": import_files_removed,
        "tasks_requeued": tasks["requeued"],
        "tasks_failed": tasks["failed"],
        "snapshot_reasons_queued": int(reasons_queued),
        "retraining_queued": int(retraining_queued),
        "milestones_refresh_queued": int(milestones_queued),
        "stage_counts_folded": counts_folded,
    }
