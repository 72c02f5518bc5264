"""Django's SQLite backend, with the threads of one process queueing for the write lock.

SQLite has one writer at a time. A connection that finds the lock taken sleeps in SQLite's
busy handler and polls (1, 2, 5, … then every 100 ms), so with eight request threads and a
worker writing, a writer can lose the race again and again: on 2 cores, 16 API writers saw a
median of 130 ms and a p99 of over 3 s, the tail made of writers polling while others won.
Here every transaction (``BEGIN IMMEDIATE``, which takes the write lock at once) first takes
a lock shared by the threads of the process, which wakes the next waiter as soon as a
transaction ends; SQLite's busy handler is left to arbitrate only between processes (the
server's workers, the background worker), which are few.

The process lock is given up after the SQLite busy timeout, so a thread never waits on it
longer than it would have waited on SQLite itself (then SQLite's own wait applies).

Between processes (``leadsieve serve``'s workers, the background worker) the thread that
holds its process's lock also takes an exclusive ``flock`` on a file beside the database
(``<name>-writers``) before ``BEGIN IMMEDIATE``. SQLite's busy handler sleeps and polls, so
a process whose threads hand the write lock to each other kept it for seconds while the
other worker's writer slept (API captures at 16 connections: p99 4–7 s); the kernel wakes
a process waiting on ``flock`` as soon as the holder's transaction ends. The wait is the
holder's transaction, as it was on SQLite; the lock goes with the process if it dies.
"""

from __future__ import annotations

import fcntl
import os
import threading
from collections import deque

from django.db.backends.sqlite3 import base


class FairLock:
    """A lock its waiters get in the order they asked: ``release`` hands it to the first.

    ``threading.Lock`` wakes a waiter on release, but a thread asking at that moment takes
    it first: under steady load some requests lost again and again (API captures at 16
    connections: p50 0.7 s, p99 3.6–4.5 s, a waiting line with no order).
    """

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._locked = False
        self._waiters: deque[threading.Lock] = deque()

    def acquire(self, timeout: float = -1) -> bool:
        with self._mutex:
            if not self._locked:
                self._locked = True
                return True
            waiter = threading.Lock()
            waiter.acquire()
            self._waiters.append(waiter)
        if waiter.acquire(timeout=timeout):  # released by the holder: the lock is ours
            return True
        with self._mutex:
            if waiter in self._waiters:  # still waiting: give up
                self._waiters.remove(waiter)
                return False
        return True  # handed over just as the wait timed out: ours all the same

    def release(self) -> None:
        with self._mutex:
            if self._waiters:
                self._waiters.popleft().release()  # still locked, now by the first waiter
            else:
                self._locked = False


# Threads of this process that want to write, queued in order.
WRITE_LOCK = FairLock()
# The open lock file of each database, per process (a forked child opens its own: a file
# description shared with the parent would let both hold the flock at once).
_LOCK_FILES: dict[tuple[int, str], int] = {}
_LOCK_FILES_GUARD = threading.Lock()


def _lock_file(name: str) -> int | None:
    """This process's descriptor of ``name``'s writers' lock file; ``None`` for a database
    in memory (one process only)."""
    if not name or name == ":memory:" or name.startswith("file:"):
        return None
    key = (os.getpid(), name)
    with _LOCK_FILES_GUARD:
        fd = _LOCK_FILES.get(key)
        if fd is None:
            fd = os.open(f"{name}-writers", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            _LOCK_FILES[key] = fd
        return fd


class DatabaseWrapper(base.DatabaseWrapper):
    _holds_write_lock = False
    _holds_file_lock: int | None = None

    def _start_transaction_under_autocommit(self) -> None:
        if not self._holds_write_lock:
            timeout = float(self.settings_dict.get("OPTIONS", {}).get("timeout", 5))
            self._holds_write_lock = WRITE_LOCK.acquire(timeout=timeout)
            # Only the thread holding the process lock may take the file lock: the
            # process's threads share one descriptor, and so would share the flock.
            if self._holds_write_lock:
                fd = _lock_file(str(self.settings_dict["NAME"]))
                if fd is not None:
                    fcntl.flock(fd, fcntl.LOCK_EX)
                    self._holds_file_lock = fd
        try:
            super()._start_transaction_under_autocommit()  # type: ignore[misc]  # not in the stubs
        except BaseException:
            self._release_write_lock()
            raise

    def _release_write_lock(self) -> None:
        if self._holds_file_lock is not None:
            fd, self._holds_file_lock = self._holds_file_lock, None
            fcntl.flock(fd, fcntl.LOCK_UN)
        if self._holds_write_lock:
            self._holds_write_lock = False
            WRITE_LOCK.release()

    def _commit(self) -> None:
        try:
            super()._commit()  # type: ignore[misc]
        finally:
            self._release_write_lock()

    def _rollback(self) -> None:
        try:
            super()._rollback()  # type: ignore[misc]
        finally:
            self._release_write_lock()

    def _close(self) -> None:
        try:
            super()._close()  # type: ignore[misc]
        finally:
            self._release_write_lock()
