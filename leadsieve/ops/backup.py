"""A consistent copy of a live SQLite database, through SQLite's online backup API.

``leadsieve backup`` calls ``backup_sqlite``. The copy is made with
``sqlite3.Connection.backup`` from a connection of its own, so the server and the worker go
on writing (WAL: a reader never blocks the writer). The copy is written to
``<target>.partial``, checked with ``PRAGMA quick_check`` and only then renamed over the
target: a backup that stops half-way (killed, disk full) never leaves a file that looks whole.

The backup API copies ``step_pages`` pages per step, which lets it report progress; but if
another connection writes to the database between two steps, SQLite starts the copy again.
Under a steady stream of writes a stepped copy may start again for ever, so after
``MAX_RESTARTS`` restarts the rest is copied in one step: one read snapshot, taken and
copied at once (the writers still do not wait in WAL mode; a rollback-journal database is
locked against writes for that step).

PostgreSQL is backed up with ``pg_dump`` or continuous archiving (docs/deploy.md); this module
is SQLite only.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

# 25,600 pages of 4 KiB: a progress line per 100 MiB.
DEFAULT_STEP_PAGES = 25_600
# Restarts of a stepped copy (the source changed between steps) before copying in one step.
MAX_RESTARTS = 3
# Milliseconds a step waits for a lock held by a writer (SQLite's busy timeout).
BUSY_TIMEOUT_MS = 30_000

# Called after each step with (pages copied, pages in all).
Progress = Callable[[int, int], None]


class BackupFailed(Exception):
    """The copy could not be made, or the copy failed its check; no target was written."""


@dataclass(frozen=True)
class BackupResult:
    target: Path
    n_pages: int
    n_bytes: int
    n_restarts: int
    stepped: bool  # False: the copy was finished in one step after too many restarts


class _Restarted(Exception):
    """Raised from the progress callback to stop a copy that keeps starting again."""


def backup_sqlite(
    source: Path,
    target: Path,
    *,
    step_pages: int = DEFAULT_STEP_PAGES,
    progress: Progress | None = None,
) -> BackupResult:
    """Copy the SQLite database ``source`` to ``target`` while others may write to it.

    Raises ``BackupFailed`` (and leaves ``target`` untouched) if the source is missing or is
    not a database, or if the copy does not pass ``PRAGMA quick_check``.
    """
    if step_pages < 1:
        raise ValueError("step_pages must be at least 1")
    if not source.is_file():
        raise BackupFailed(f"{source} does not exist")
    if source.resolve() == target.resolve():
        raise BackupFailed("the backup would overwrite the database itself")
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    restarts = 0
    stepped = True
    try:
        # mode=ro: the backup never writes to (or creates) the live database.
        with (
            closing(_connect(f"{source.resolve().as_uri()}?mode=ro")) as src,
            closing(_connect(str(partial))) as dst,
        ):
            copied = [0]

            def on_step(status: int, remaining: int, total: int) -> None:
                nonlocal restarts
                done = total - remaining
                if done < copied[0]:  # the source changed: SQLite started again
                    restarts += 1
                    if restarts >= MAX_RESTARTS:
                        raise _Restarted
                copied[0] = done
                if progress is not None:
                    progress(done, total)

            try:
                src.backup(dst, pages=step_pages, progress=on_step)
            except _Restarted:
                stepped = False
                src.backup(dst, pages=-1)
            if progress is not None and not stepped:
                n = _page_count(dst)
                progress(n, n)
            check = dst.execute("PRAGMA quick_check").fetchone()[0]
            if check != "ok":
                raise BackupFailed(f"the copy failed its check: {check}")
            n_pages = _page_count(dst)
            # One self-contained file: no -wal file left next to the copy.
            dst.execute("PRAGMA journal_mode=DELETE")
        with partial.open("rb") as handle:
            os.fsync(handle.fileno())
        os.replace(partial, target)
    except sqlite3.Error as error:
        partial.unlink(missing_ok=True)
        raise BackupFailed(f"SQLite: {error}") from error
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return BackupResult(
        target=target,
        n_pages=n_pages,
        n_bytes=target.stat().st_size,
        n_restarts=restarts,
        stepped=stepped,
    )


def _connect(database: str) -> sqlite3.Connection:
    return sqlite3.connect(
        database, uri=database.startswith("file:"), timeout=BUSY_TIMEOUT_MS / 1000
    )


def _page_count(connection: sqlite3.Connection) -> int:
    return int(connection.execute("PRAGMA page_count").fetchone()[0])
