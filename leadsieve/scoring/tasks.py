"""Background work of the scoring app, on Django's tasks framework (docs/decisions/0002)."""

from __future__ import annotations

from django_tasks import task


@task()
def rescore_leads_task(lead_ids: list[int]) -> int:
    """Rescore a large set of touched leads (an import) outside the request; returns n scored."""
    from leadsieve.scoring.services import rescore_leads

    return rescore_leads(lead_ids).n_scored


@task()
def fill_snapshot_reasons_task(snapshot_ids: list[int]) -> int:
    """Explain snapshots that event rescoring stored without reasons; returns n filled."""
    from leadsieve.scoring.services import fill_snapshot_reasons

    return fill_snapshot_reasons(snapshot_ids)
