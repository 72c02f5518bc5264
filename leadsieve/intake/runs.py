"""Running an import started from the import page: the worker's side of ``start_import``.

``run_import_job`` claims the queued job, runs the CLI's ``import_leads`` on it and records
how it ended; ``notice_stopped_worker`` fails a job whose worker died. The task in
``intake.tasks`` calls it; ``intake.services`` stores uploads and queues the task.
"""

from __future__ import annotations

import csv
import logging
import re
from pathlib import Path
from typing import Any

from django.db.models import F
from django.utils import timezone

from leadsieve.intake.models import ImportJob, ImportStatus, OnError
from leadsieve.leads.importing import (
    ImportAborted,
    ImportFileError,
    LeadMapping,
    MappingError,
    import_leads,
)
from leadsieve.leads.importing.mapping import parse_mapping
from leadsieve.pipeline import receive_batch
from leadsieve.worker_processes import current_worker, worker_is_gone

logger = logging.getLogger(__name__)

# Rows per chunk for imports started from the UI: small enough that the progress moves on a
# file of a few thousand rows, large enough to keep the CLI's per-chunk speed.
UI_CHUNK_SIZE = 5_000


# The reader's advice to CLI users ("pass the right --encoding (e.g. latin-1)").
CLI_ENCODING_ADVICE = re.compile(r"pass (?:the right )?--encoding[^;]*")


def build_mapping(job: ImportJob) -> LeadMapping:
    """The job's choices as a mapping, checked like a mapping file; raises ``MappingError``."""
    constants: dict[str, Any] = {}
    if job.team_id is not None:
        assert job.team is not None
        constants["team"] = job.team.slug
    if job.source_name:
        constants["source"] = job.source_name
    if job.campaign_name:
        constants["campaign"] = job.campaign_name
    file_options: dict[str, Any] = {}
    if job.encoding:
        file_options["encoding"] = job.encoding
    if job.delimiter:
        file_options["delimiter"] = job.delimiter
    return parse_mapping(
        {"columns": dict(job.columns), "constants": constants, "file": file_options},
        base=job.folder,
    )


def run_import_job(job_id: int) -> ImportJob:
    """Run a queued import, counting rows read as each chunk is saved; never raises for a
    bad file or a bad row: the job ends ``done`` or ``failed`` with the reason.
    """
    claimed = ImportJob.objects.filter(pk=job_id, status=ImportStatus.QUEUED).update(
        status=ImportStatus.RUNNING, started_at=timezone.now(), worker=current_worker()
    )
    job = ImportJob.objects.select_related("team", "created_by").get(pk=job_id)
    if not claimed:
        # Run already, or never queued; or this is the task run again after its worker was
        # killed (``background``): then the job fails, saying so, rather than run twice.
        return notice_stopped_worker(job)

    def progress(n_rows: int) -> None:
        # Outside the chunk's transaction in skip mode, so a poll sees it at once; in
        # all-or-nothing mode it commits with the whole import.
        ImportJob.objects.filter(pk=job_id).update(n_read=F("n_read") + n_rows)

    job.rejected_path.unlink(missing_ok=True)
    try:
        summary = import_leads(
            job.path,
            build_mapping(job),
            on_error="abort" if job.on_error == OnError.ABORT else "skip",
            rejected_path=job.rejected_path,
            chunk_size=UI_CHUNK_SIZE,
            progress=progress,
            user=job.created_by,
            arrived=receive_batch,
        )
    except ImportAborted as error:
        return _finish(job, ImportStatus.FAILED, error=str(error), n_rejected=_n_rejected(job))
    except (ImportFileError, MappingError) as error:
        message = message_for_the_page(error, job.path, job.original_name)
        return _finish(job, ImportStatus.FAILED, error=message, n_rejected=_n_rejected(job))
    except Exception:
        logger.exception("import job %s stopped", job_id)
        return _finish(
            job,
            ImportStatus.FAILED,
            error="The import stopped on an unexpected error; the rows saved before it are kept.",
            n_rejected=_n_rejected(job),
        )
    return _finish(
        job,
        ImportStatus.DONE,
        n_read=summary.rows,
        n_created=summary.created,
        n_merged=summary.merged,
        n_rejected=summary.rejected,
    )


WORKER_STOPPED = (
    "The import stopped: the process running it ended without finishing (killed, out of "
    "memory, or the server restarted). What was saved before it is kept ({n_read} rows "
    "read). Upload the file again to import the rest: rows already saved are matched and "
    "merged, not doubled."
)


WORKER_STOPPED_ALL_OR_NOTHING = (
    "The import stopped: the process running it ended without finishing (killed, out of "
    "memory, or the server restarted). Nothing was saved (all or nothing). Upload the file "
    "again to import it."
)


def notice_stopped_worker(job: ImportJob) -> ImportJob:
    """Fail a running import whose worker process is certainly gone (``worker_processes``),
    so the page says what happened instead of "Importing…" forever; the job otherwise."""
    if job.status != ImportStatus.RUNNING or not job.worker or not worker_is_gone(job.worker):
        return job
    message = WORKER_STOPPED_ALL_OR_NOTHING if job.on_error == OnError.ABORT else WORKER_STOPPED
    failed = ImportJob.objects.filter(
        pk=job.pk, status=ImportStatus.RUNNING, worker=job.worker
    ).update(
        status=ImportStatus.FAILED,
        finished_at=timezone.now(),
        error=message.format(n_read=f"{job.n_read:,}"),
        has_rejected_file=job.rejected_path.exists(),
    )
    if failed:
        logger.warning("import job %s: its worker %s is gone; marked failed", job.pk, job.worker)
    job.refresh_from_db()
    return job


def message_for_the_page(error: Exception, stored_path: Path, original: str) -> str:
    """The reader's message for a person in the browser: the file by the name they gave it
    (not its place in the data directory), and no advice about the CLI's options.
    """
    message = str(error).replace(str(stored_path), original)
    return CLI_ENCODING_ADVICE.sub("save the file as UTF-8 and upload it again", message)


def _finish(job: ImportJob, status: str, **counts: Any) -> ImportJob:
    values: dict[str, Any] = {
        "status": status,
        "finished_at": timezone.now(),
        "has_rejected_file": job.rejected_path.exists(),
        **counts,
    }
    ImportJob.objects.filter(pk=job.pk).update(**values)
    job.refresh_from_db()
    return job


def _n_rejected(job: ImportJob) -> int:
    """Distinct bad rows in the rejected file (a row may fail on several columns)."""
    if not job.rejected_path.exists():
        return 0
    with job.rejected_path.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        next(reader, None)
        return len({row[0] for row in reader if row})
