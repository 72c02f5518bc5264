"""SQLite WAL checkpoints moved off the event path, into one background thread per process.

Why: in WAL mode the commit that grows the log past ``wal_autocheckpoint`` pages (1,000 by
default) copies the log back into the database file and fsyncs it, in the committing
thread. That is 10–20 ms on about one event in fifty: the whole tail of "one lead scored
on an event" (p99 2–3× the CPU time; with autocheckpoint off the wall p99 falls to the
CPU p99).

What changes: event rescoring commits with the autocheckpoint off *for its own
transaction only* (``no_autocheckpoint``), then wakes a daemon thread that runs the same
``PRAGMA wal_checkpoint(PASSIVE)`` SQLite would have run, on its own connection, at most
once every ``CHECKPOINT_INTERVAL_S`` (a checkpoint per event would fsync per event). Nothing
else changes: every other writer keeps SQLite's autocheckpoint, so the log stays bounded
even if the thread is gone.

Why it is safe for users' data: a checkpoint only copies committed pages from the log to
the database; when it runs never decides whether a commit is durable (WAL +
``synchronous=NORMAL`` as configured in settings, unchanged). PASSIVE never waits for and
never blocks readers or writers. PostgreSQL and in-memory databases are left alone.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection

logger = logging.getLogger(__name__)

# An event commits some 20 pages: at most one checkpoint per 0.1 s keeps the log below
# SQLite's own 1,000-page autocheckpoint even at a few hundred events a second, without an
# fsync per event.
CHECKPOINT_INTERVAL_S = 0.1


@contextmanager
def no_autocheckpoint() -> Iterator[bool]:
    """Commit inside the block without SQLite's autocheckpoint (SQLite in WAL mode only).

    Yields whether it was switched off; the connection's setting is restored on exit,
    also on error. Outside SQLite, or inside an outer transaction (whose commit comes
    later, with the setting restored), it does nothing.
    """
    if connection.vendor != "sqlite" or connection.in_atomic_block:
        yield False
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA wal_autocheckpoint")
        pages = int(cursor.fetchone()[0])
        cursor.execute("PRAGMA wal_autocheckpoint = 0")
    try:
        yield True
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA wal_autocheckpoint = {pages}")


class _Checkpointer(threading.Thread):
    """A daemon thread that checkpoints one database file whenever it is woken."""

    def __init__(self, path: str, timeout_s: float) -> None:
        super().__init__(name="leadsieve-wal-checkpoint", daemon=True)
        self.path = path
        self.timeout_s = timeout_s
        self.wake = threading.Event()

    def run(self) -> None:
        db = sqlite3.connect(self.path, timeout=self.timeout_s, isolation_level=None)
        try:
            while True:
                self.wake.wait()
                self.wake.clear()
                db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                time.sleep(CHECKPOINT_INTERVAL_S)
        except sqlite3.Error:
            # A checkpoint is an optimisation: the other writers' autocheckpoint still runs.
            logger.exception("background WAL checkpoints stopped for %s", self.path)
        finally:
            db.close()


_THREADS: dict[str, _Checkpointer] = {}
_THREADS_LOCK = threading.Lock()


def request_checkpoint() -> None:
    """Wake this process's checkpoint thread for the default database (started on first use).

    Cheap enough to call after every event commit: it only sets a flag the thread reads.
    """
    if connection.vendor != "sqlite":
        return
    path = str(connection.settings_dict["NAME"])
    if not path or path == ":memory:" or "mode=memory" in path:
        return
    thread = _THREADS.get(path)
    if thread is None or not thread.is_alive():
        with _THREADS_LOCK:
            thread = _THREADS.get(path)
            if thread is None or not thread.is_alive():
                timeout = float(connection.settings_dict.get("OPTIONS", {}).get("timeout", 5))
                thread = _Checkpointer(path, timeout)
                thread.start()
                _THREADS[path] = thread
    thread.wake.set()
