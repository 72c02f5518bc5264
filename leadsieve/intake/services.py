"""Writes of the forms and import pages: save a web form, store an upload, run its import.

The import itself is the CLI's: ``leadsieve.leads.importing.import_leads`` with a mapping
built from what the mapping page chose (``build_mapping``), so an upload through the UI and
``leadsieve import-leads`` clean, deduplicate and reject rows exactly alike.
"""

from __future__ import annotations

import csv
import logging
import re
import shutil
import tempfile
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import SuspiciousFileOperation
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.text import get_valid_filename

from leadsieve.accounts.models import Team, User
from leadsieve.intake.models import ImportJob, ImportStatus, OnError
from leadsieve.leads.importing import (
    ImportAborted,
    ImportFileError,
    LeadMapping,
    MappingError,
    import_leads,
)
from leadsieve.leads.importing.mapping import parse_mapping
from leadsieve.leads.importing.reading import iter_chunks, open_lead_file
from leadsieve.pipeline import receive_batch
from leadsieve.webforms.models import WebForm
from leadsieve.worker_processes import current_worker, worker_is_gone

logger = logging.getLogger(__name__)

PREVIEW_ROWS = 5
PREVIEW_CELL_MAX = 200
# Rows per chunk for imports started from the UI: small enough that the progress moves on a
# file of a few thousand rows, large enough to keep the CLI's per-chunk speed.
UI_CHUNK_SIZE = 5_000
# The reader's advice to CLI users ("pass the right --encoding (e.g. latin-1)").
CLI_ENCODING_ADVICE = re.compile(r"pass (?:the right )?--encoding[^;]*")
UPLOAD_SUFFIXES = (".csv", ".txt", ".tsv", ".xlsx", ".xlsm")
STORED_NAME_MAX = 100


class UploadRefused(Exception):
    """The uploaded file cannot be imported; the message says why in one line."""


@transaction.atomic
def save_web_form(web_form: WebForm) -> WebForm:
    """Validate (the model's own checks of fields and origins) and save a web form."""
    web_form.full_clean()
    web_form.save()
    return web_form


def store_import_upload(upload: UploadedFile[Any], *, by: User, team: Team | None) -> ImportJob:
    """Keep the upload in the data directory, read its header and first rows.

    Raises ``UploadRefused`` (nothing is kept) when the file is not a readable CSV/XLSX.
    The file is received and read in a folder of its own first; the job is then created in
    one INSERT, whose transaction also moves the folder into place. So a request that fails
    anywhere (a locked database, a broken connection) leaves neither a job nor a file.
    """
    original = Path(upload.name or "upload").name
    suffix = Path(original).suffix.lower()
    if suffix not in UPLOAD_SUFFIXES:
        raise UploadRefused(f"{original}: upload a .csv or .xlsx file (not {suffix or 'none'}).")
    try:
        stem = get_valid_filename(Path(original).stem)[: STORED_NAME_MAX - len(suffix)]
    except SuspiciousFileOperation:  # a stem of only dots ("..csv")
        stem = ""
    stored_name = f"{stem or 'upload'}{suffix}"
    imports = Path(settings.DATA_DIR) / "imports"
    imports.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=imports))
    job = ImportJob(
        created_by=by,
        team=team,
        original_name=original[:255],
        stored_name=stored_name,
        size=upload.size or 0,
        kind="xlsx" if suffix in {".xlsx", ".xlsm"} else "csv",
    )
    try:
        with (staging / stored_name).open("wb") as handle:
            for piece in upload.chunks():
                handle.write(piece)
        _inspect(job, staging / stored_name)
        with transaction.atomic():
            job.save()
            shutil.rmtree(job.folder, ignore_errors=True)  # a stale folder under a reused id
            staging.rename(job.folder)
    except ImportFileError as error:
        shutil.rmtree(staging, ignore_errors=True)
        raise UploadRefused(_for_the_page(error, staging / stored_name, original)) from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        if job.pk is not None and not ImportJob.objects.filter(pk=job.pk).exists():
            shutil.rmtree(job.folder, ignore_errors=True)  # moved, then the commit failed
        raise
    return job


def _inspect(job: ImportJob, path: Path) -> None:
    """Fill the job's file details and preview from the file at ``path`` (nothing saved)."""
    lead_file = open_lead_file(path)
    first = next(iter_chunks(lead_file, PREVIEW_ROWS), None)
    job.kind = lead_file.kind
    job.encoding = lead_file.encoding or ""
    job.delimiter = lead_file.delimiter or ""
    job.header = lead_file.header
    rows = first.rows if first else []
    job.preview = [[str(value)[:PREVIEW_CELL_MAX] for value in row] for row in rows]


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


def start_import(
    job: ImportJob,
    *,
    columns: dict[str, str],
    source_name: str,
    campaign_name: str,
    on_error: str,
) -> ImportJob:
    """Record the mapping and queue the import; raises ``MappingError`` when it is unusable.

    One save, then the enqueue: no transaction is held open around it, so under the
    immediate tasks backend (tests, ``LEADSIEVE_TASKS_BACKEND``) the import runs right here
    with each chunk committed on its own; the database backend's worker picks it up later.
    """
    if job.status != ImportStatus.UPLOADED:
        raise MappingError("this import has already been started")
    job.columns = columns
    job.source_name = source_name
    job.campaign_name = campaign_name
    job.on_error = OnError(on_error)
    build_mapping(job)
    job.status = ImportStatus.QUEUED
    job.save(update_fields=["columns", "source_name", "campaign_name", "on_error", "status"])
    from leadsieve.intake.tasks import run_import_job_task

    run_import_job_task.enqueue(job.pk)
    job.refresh_from_db()
    return job


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
        message = _for_the_page(error, job.path, job.original_name)
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


EXPIRED_UPLOAD = (
    "This upload was never started; its file was deleted after {days} days. Upload it again "
    "to import it."
)
REMOVE_PER_CALL = 500


def remove_expired_import_files(*, now: datetime | None = None) -> int:
    """Delete the stored files (upload, rejected rows) and the preview rows of imports that
    ended more than ``LEADSIEVE_IMPORT_KEEP_DAYS`` ago, or were uploaded that long ago and
    never started (those are marked failed, saying why). The job rows and their counts stay.
    Returns how many jobs were cleared; ``leadsieve tick`` calls it.
    """
    now = now or timezone.now()
    # A job whose worker died is failed here too, so its files expire even if nobody
    # opens its page.
    for running in ImportJob.objects.filter(status=ImportStatus.RUNNING).exclude(worker=""):
        notice_stopped_worker(running)
    days = settings.LEADSIEVE_IMPORT_KEEP_DAYS
    cutoff = now - timedelta(days=days)
    expired = ImportJob.objects.filter(files_removed_at__isnull=True).filter(
        Q(status__in=[ImportStatus.DONE, ImportStatus.FAILED], finished_at__lt=cutoff)
        | Q(status=ImportStatus.UPLOADED, created_at__lt=cutoff)
    )
    removed = 0
    for job in expired.order_by("id")[:REMOVE_PER_CALL]:
        values: dict[str, Any] = {
            "files_removed_at": now,
            "has_rejected_file": False,
            "preview": [],
        }
        if job.status == ImportStatus.UPLOADED:
            values.update(
                status=ImportStatus.FAILED, finished_at=now, error=EXPIRED_UPLOAD.format(days=days)
            )
        # Only if nobody started it meanwhile; the files go once the row says so.
        if ImportJob.objects.filter(pk=job.pk, status=job.status).update(**values):
            shutil.rmtree(job.folder, ignore_errors=True)
            removed += 1
    _remove_abandoned_uploads(now)
    return removed


# An upload is received in a folder of its own (``store_import_upload``); one still there a
# day later belongs to a request that was killed mid-upload.
STAGING_PREFIX = ".incoming-"
ABANDONED_UPLOAD_AGE = timedelta(days=1)


def _remove_abandoned_uploads(now: datetime) -> None:
    imports = Path(settings.DATA_DIR) / "imports"
    if not imports.is_dir():
        return
    cutoff = (now - ABANDONED_UPLOAD_AGE).timestamp()
    for staging in imports.glob(f"{STAGING_PREFIX}*"):
        if staging.is_dir() and staging.stat().st_mtime < cutoff:
            shutil.rmtree(staging, ignore_errors=True)


def _for_the_page(error: Exception, stored_path: Path, original: str) -> str:
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
