"""Background work of the scoring app, on Django's tasks framework (docs/decisions/0002)."""

from __future__ import annotations

from django_tasks import task


@task()
def rescore_leads_task(
    lead_ids: list[int] | None = None, id_runs: list[list[int]] | None = None
) -> int:
    """Rescore a large set of touched leads (an import) outside the request; returns n scored.

    The leads are ``lead_ids`` plus every id of each inclusive ``[first, last]`` in
    ``id_runs``: an import chunk's new leads have consecutive ids, so its 50,000 leads
    travel (and are stored in the task table) as a few runs instead of 50,000 numbers.
    """
    from leadsieve.scoring.services import rescore_leads

    ids = [*(lead_ids or ()), *(i for first, last in id_runs or () for i in range(first, last + 1))]
    return rescore_leads(ids).n_scored


@task()
def fill_snapshot_reasons_task(snapshot_ids: list[int]) -> int:
    """Explain snapshots that event rescoring stored without reasons; returns n filled."""
    from leadsieve.scoring.services import fill_snapshot_reasons

    return fill_snapshot_reasons(snapshot_ids)
