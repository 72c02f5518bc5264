"""Background work of the import page, on Django's tasks framework (docs/decisions/0002)."""

from __future__ import annotations

from django_tasks import task

from leadsieve.background import USER_PRIORITY
from leadsieve.intake.runs import run_import_job


@task(priority=USER_PRIORITY)
def run_import_job_task(job_id: int) -> str:
    """Run one queued import from the workspace; returns its final status."""
    return str(run_import_job(job_id).status)
