"""Background work of the scoring app, on Django's tasks framework (docs/decisions/0002).

The filling of snapshot reasons has its task in ``snapshot_reasons`` (rescoring queues it).

Priorities: ``leadsieve.background`` (an import's rescoring before snapshot reasons).
"""

from __future__ import annotations

from django_tasks import task

from leadsieve.background import FOLLOW_UP_PRIORITY, MAINTENANCE_PRIORITY
from leadsieve.scoring.rescoring import rescore_leads
from leadsieve.scoring.snapshot_reasons import fill_snapshot_reasons

# Leads rescored (and written) per transaction by ``rescore_leads_task``.
RESCORE_TASK_BATCH = 500


@task(priority=FOLLOW_UP_PRIORITY)
def rescore_leads_task(
    lead_ids: list[int] | None = None, id_runs: list[list[int]] | None = None
) -> int:
    """Rescore a large set of touched leads (an import) outside the request; returns n scored.

    The leads are ``lead_ids`` plus every id of each inclusive ``[first, last]`` in
    ``id_runs``: an import chunk's new leads have consecutive ids, so its 50,000 leads
    travel (and are stored in the task table) as a few runs instead of 50,000 numbers.
    They are rescored ``RESCORE_TASK_BATCH`` at a time, one short transaction each, so a
    capture meanwhile waits for one batch at most.
    """
    ids = [*(lead_ids or ()), *(i for first, last in id_runs or () for i in range(first, last + 1))]
    n_scored = 0
    for start in range(0, len(ids), RESCORE_TASK_BATCH):
        n_scored += rescore_leads(ids[start : start + RESCORE_TASK_BATCH]).n_scored
    return n_scored


@task(priority=MAINTENANCE_PRIORITY)
def fill_snapshot_reasons_task(snapshot_ids: list[int]) -> int:
    """Explain the given snapshots (the task queued per capture before
    ``fill_pending_snapshot_reasons_task``; kept for the runs still queued); n filled."""
    return fill_snapshot_reasons(snapshot_ids)
