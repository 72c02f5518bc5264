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
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from django.db import connection

logger = logging.getLogger(__name__)

# An event commits some 20 pages: at most one checkpoint per 0.1 s keeps the log below
# SQLite's own 1,000-page autocheckpoint even at a few hundred events a second, without an
# fsync per event.
CHECKPOINT_INTERVAL_S = 0.1
# While a loop of batches runs, the WAL may grow to about this many pages (256 MiB of 4 KiB
# pages) before a batch waits for the background checkpoint to catch up (``bound_log``).
MAX_LOG_PAGES = 65_536


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


@contextmanager
def checkpoints_between_batches(
    max_log_pages: int = MAX_LOG_PAGES,
) -> Iterator[Callable[[], None]]:
    """A loop of batch transactions (a rescoring pass, an import) whose commits leave the
    WAL checkpoint to the background thread, while the next batch is read and prepared.

    Yields the function to call after each batch's commit: it asks the thread for a
    checkpoint and, once the log has outgrown ``max_log_pages``, waits for a full one so
    the next transaction starts the log over. When the block ends normally it waits for
    the last checkpoint and empties the log (TRUNCATE), so that work counts in the loop's
    own time and no log of gigabytes stays on disk. Outside SQLite, or inside an outer
    transaction, the function does nothing.
    """
    with no_autocheckpoint() as deferred:
        if not deferred:
            yield _nothing
            return

        def after_commit() -> None:
            request_checkpoint()
            bound_log(max_log_pages)

        yield after_commit
        checkpoint_and_wait(truncate=True)


def _nothing() -> None:
    pass


class _Checkpointer(threading.Thread):
    """A daemon thread that checkpoints one database file whenever it is asked to.

    Requests are numbered; ``done`` is the last request a finished checkpoint covered, so a
    caller can wait for the checkpoint of its own commits (``checkpoint_and_wait``).
    """

    def __init__(self, path: str, timeout_s: float) -> None:
        super().__init__(name="leadsieve-wal-checkpoint", daemon=True)
        self.path = path
        self.timeout_s = timeout_s
        self.condition = threading.Condition()
        self.requested = 0
        self.done = 0
        self.stopped = False
        # Pages in the log at the last checkpoint: a log that is never fully checkpointed
        # when a transaction starts keeps growing instead of restarting from its beginning.
        self.log_pages = 0

    def request(self) -> int:
        with self.condition:
            self.requested += 1
            self.condition.notify_all()
            return self.requested

    def wait_for(self, ticket: int, timeout_s: float) -> bool:
        with self.condition:
            return self.condition.wait_for(
                lambda: self.done >= ticket or self.stopped, timeout_s
            ) and not (self.stopped and self.done < ticket)

    def run(self) -> None:
        try:
            db = sqlite3.connect(self.path, timeout=self.timeout_s, isolation_level=None)
            try:
                while True:
                    with self.condition:
                        self.condition.wait_for(lambda: self.requested > self.done)
                        ticket = self.requested
                    _, log_pages, _ = db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                    with self.condition:
                        self.done = ticket
                        self.log_pages = int(log_pages)
                        self.condition.notify_all()
                    time.sleep(CHECKPOINT_INTERVAL_S)
            finally:
                db.close()
        except sqlite3.Error:
            # A checkpoint is an optimisation: the other writers' autocheckpoint still runs.
            logger.exception("background WAL checkpoints stopped for %s", self.path)
        finally:
            with self.condition:
                self.stopped = True
                self.condition.notify_all()


_THREADS: dict[str, _Checkpointer] = {}
_THREADS_LOCK = threading.Lock()


def _checkpointer() -> _Checkpointer | None:
    """This process's checkpoint thread for the default database (started on first use);
    ``None`` outside SQLite and for in-memory databases."""
    if connection.vendor != "sqlite":
        return None
    path = str(connection.settings_dict["NAME"])
    if not path or path == ":memory:" or "mode=memory" in path:
        return None
    thread = _THREADS.get(path)
    if thread is None or not thread.is_alive():
        with _THREADS_LOCK:
            thread = _THREADS.get(path)
            if thread is None or not thread.is_alive():
                timeout = float(connection.settings_dict.get("OPTIONS", {}).get("timeout", 5))
                thread = _Checkpointer(path, timeout)
                thread.start()
                _THREADS[path] = thread
    return thread


def request_checkpoint() -> None:
    """Ask the checkpoint thread to checkpoint soon, and return at once.

    Cheap enough to call after every event commit: it only bumps a counter the thread reads.
    """
    thread = _checkpointer()
    if thread is not None:
        thread.request()


def bound_log(max_pages: int) -> None:
    """Before a transaction: if the log held more than ``max_pages`` at the last background
    checkpoint, wait for a full checkpoint so this transaction restarts the log.

    Without it, a loop of transactions that each start while the previous one is still
    being checkpointed appends to the log for ever (SQLite only rewinds it when a writer
    finds everything copied back): a million-lead pass would leave a log of gigabytes.
    """
    thread = _checkpointer()
    if thread is not None and thread.log_pages > max_pages:
        checkpoint_and_wait()
        thread.log_pages = 0  # the next commit rewinds the log


def checkpoint_and_wait(timeout_s: float = 600.0, *, truncate: bool = False) -> None:
    """Checkpoint everything committed so far and wait for it (end of a rescoring pass).

    The pass's batches committed without autocheckpoint while the thread copied earlier
    batches back in parallel; waiting here leaves the log as SQLite's own autocheckpoint
    would have, and keeps that work inside the time the pass reports. If the thread is
    gone, the checkpoint runs here. ``truncate`` then empties the log file (a whole pass
    grows it to a few batches' worth; SQLite would otherwise keep that size on disk):
    a TRUNCATE checkpoint waits, within the busy timeout, for readers of older pages and
    gives up harmlessly if they outlast it.
    """
    thread = _checkpointer()
    if thread is None:
        return
    if not thread.wait_for(thread.request(), timeout_s):
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA wal_checkpoint(PASSIVE)")
            cursor.fetchall()
    if truncate:
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            cursor.fetchall()
