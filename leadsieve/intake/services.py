"""Writes of the forms and import pages: save a web form, store an upload, run its import.

The import itself is the CLI's: ``leadsieve.leads.importing.import_leads`` with a mapping
built from what the mapping page chose (``build_mapping``), so an upload through the UI and
``leadsieve import-leads`` clean, deduplicate and reject rows exactly alike.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import SuspiciousFileOperation
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.text import get_valid_filename

from leadsieve.accounts.models import Team, User
from leadsieve.intake.models import ImportJob, ImportStatus, OnError
from leadsieve.intake.runs import build_mapping, message_for_the_page, notice_stopped_worker
from leadsieve.intake.tasks import run_import_job_task
from leadsieve.leads.importing import (
    ImportFileError,
    MappingError,
)
from leadsieve.leads.importing.reading import iter_chunks, open_lead_file
from leadsieve.webforms.models import WebForm

logger = logging.getLogger(__name__)

PREVIEW_ROWS = 5
PREVIEW_CELL_MAX = 200
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


def store_import_upload(upload: UploadedFile[Any], *, user: User, team: Team | None) -> ImportJob:
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
        created_by=user,
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
        raise UploadRefused(message_for_the_page(error, staging / stored_name, original)) from None
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
    run_import_job_task.enqueue(job.pk)
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
