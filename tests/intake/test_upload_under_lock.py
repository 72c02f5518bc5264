"""An upload that meets a locked database (SQLite: the worker holds the write lock) fails
without leaving a half-created import job or a stray file behind."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import OperationalError, connection

from leadsieve.intake.models import ImportJob
from leadsieve.intake.services import store_import_upload

pytestmark = pytest.mark.django_db(transaction=True)


class _UploadArrivingUnderLock(SimpleUploadedFile):
    """An upload whose body is received while another connection takes the write lock."""

    def __init__(self, name: str, content: bytes, on_receive: Callable[[], None]) -> None:
        super().__init__(name, content)
        self.on_receive = on_receive

    def chunks(self, chunk_size: int | None = None) -> Iterator[bytes]:
        self.on_receive()
        yield from super().chunks(chunk_size)


@pytest.fixture
def short_lock_wait() -> Iterator[None]:
    """This test's connection waits 0.2 s for the lock instead of the configured 30 s."""
    options = connection.settings_dict["OPTIONS"]
    before = options.get("timeout")
    connection.close()
    options["timeout"] = 0.2
    try:
        yield
    finally:
        connection.close()
        options["timeout"] = before


def test_an_upload_meeting_a_locked_database_leaves_no_job_and_no_file(
    admin_user: Any, data_dir: Path, short_lock_wait: None
) -> None:
    if connection.vendor != "sqlite":
        pytest.skip("SQLite's database-wide write lock")
    holder = sqlite3.connect(connection.settings_dict["NAME"], isolation_level=None)
    upload = _UploadArrivingUnderLock(
        "leads.csv",
        b"email;first_name\nann@acme.test;Ann\n",
        on_receive=lambda: holder.execute("BEGIN IMMEDIATE"),
    )
    try:
        with pytest.raises(OperationalError, match="locked"):
            store_import_upload(upload, user=admin_user, team=None)
    finally:
        holder.execute("ROLLBACK")
        holder.close()

    assert not ImportJob.objects.exists()
    assert not [path for path in (data_dir / "imports").rglob("*") if path.is_file()]


def test_an_upload_is_stored_under_its_job_with_nothing_left_aside(
    admin_user: Any, data_dir: Path
) -> None:
    upload = SimpleUploadedFile("fair leads.csv", b"email;first_name\nann@acme.test;Ann\n")
    job = store_import_upload(upload, user=admin_user, team=None)
    assert job.path.read_bytes() == b"email;first_name\nann@acme.test;Ann\n"
    assert job.header == ["email", "first_name"]
    assert [path.name for path in (data_dir / "imports").iterdir()] == [str(job.pk)]


def test_the_upload_page_answers_503_with_retry_after_when_the_lock_wait_runs_out(
    admin_user: Any, data_dir: Path, short_lock_wait: None
) -> None:
    from django.test import Client

    if connection.vendor != "sqlite":
        pytest.skip("SQLite's database-wide write lock")
    client = Client()
    client.force_login(admin_user)
    client.get("/intake/imports/")  # the session is renewed now, not on the post
    holder = sqlite3.connect(connection.settings_dict["NAME"], isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        upload = SimpleUploadedFile("leads.csv", b"email;first_name\nann@acme.test;Ann\n")
        response = client.post("/intake/imports/", {"file": upload})
    finally:
        holder.execute("ROLLBACK")
        holder.close()

    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert "nothing was saved" in response.content.decode()
    assert not ImportJob.objects.exists()


def test_the_tick_removes_an_upload_abandoned_mid_request_a_day_later(data_dir: Path) -> None:
    import os
    import time

    from leadsieve.intake.services import remove_expired_import_files

    abandoned = data_dir / "imports" / ".incoming-abc123"
    recent = data_dir / "imports" / ".incoming-def456"
    for folder in (abandoned, recent):
        folder.mkdir(parents=True)
        (folder / "leads.csv").write_text("email\n")
    two_days_ago = time.time() - 2 * 86400
    os.utime(abandoned, (two_days_ago, two_days_ago))

    remove_expired_import_files()

    assert not abandoned.exists()
    assert recent.exists()
