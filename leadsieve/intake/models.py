"""An import started from the workspace: the stored upload, its mapping and its progress.

The uploaded file lives in the data directory (``LEADSIEVE_DATA_DIR/imports/<job>/``), never
in the repository; the job row records what the mapping page chose and what the background
task counted, so the progress page can be polled while the import runs.
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.db import models
from django.utils import timezone


class ImportStatus(models.TextChoices):
    UPLOADED = "uploaded", "Waiting for its mapping"
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class OnError(models.TextChoices):
    SKIP = "skip", "Skip bad rows, import the rest"
    ABORT = "abort", "All or nothing: save nothing if any row is bad"


class ImportJob(models.Model):
    """One uploaded lead file and the run of its import."""

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    team = models.ForeignKey(
        "accounts.Team",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="import_jobs",
        help_text="Team the imported leads join; its managers may see the job.",
    )
    original_name = models.CharField(max_length=255)
    stored_name = models.CharField(
        max_length=255, help_text="File name inside the job's folder in the data directory."
    )
    size = models.PositiveBigIntegerField(default=0)
    kind = models.CharField(max_length=8)  # csv or xlsx
    encoding = models.CharField(max_length=40, blank=True)
    delimiter = models.CharField(max_length=4, blank=True)
    header = models.JSONField(default=list)
    preview = models.JSONField(default=list, help_text="The first rows, as read.")
    columns = models.JSONField(default=dict, help_text="File column → lead field.")
    source_name = models.CharField(max_length=120, blank=True)
    campaign_name = models.CharField(max_length=160, blank=True)
    on_error = models.CharField(max_length=8, choices=OnError.choices, default=OnError.SKIP)
    status = models.CharField(
        max_length=16, choices=ImportStatus.choices, default=ImportStatus.UPLOADED
    )
    n_read = models.PositiveIntegerField(default=0)
    n_created = models.PositiveIntegerField(default=0)
    n_merged = models.PositiveIntegerField(default=0)
    n_rejected = models.PositiveIntegerField(default=0)
    has_rejected_file = models.BooleanField(default=False)
    error = models.TextField(blank=True)
    worker = models.CharField(
        max_length=120,
        blank=True,
        help_text="The process running the import (host:pid:start), to notice it stopped.",
    )
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    files_removed_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the upload, its rejected rows and its preview were deleted "
        "(LEADSIEVE_IMPORT_KEEP_DAYS after the import).",
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["team", "-created_at"], name="importjob_team_created")]

    def __str__(self) -> str:
        return f"{self.original_name} ({self.get_status_display()})"

    @property
    def folder(self) -> Path:
        return Path(settings.DATA_DIR) / "imports" / str(self.pk)

    @property
    def path(self) -> Path:
        return self.folder / self.stored_name

    @property
    def rejected_path(self) -> Path:
        return self.folder / "rejected.csv"

    def is_finished(self) -> bool:
        return self.status in {ImportStatus.DONE, ImportStatus.FAILED}

    def is_in_progress(self) -> bool:
        return self.status in {ImportStatus.QUEUED, ImportStatus.RUNNING}
