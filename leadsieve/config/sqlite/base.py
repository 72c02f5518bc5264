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
"""

from __future__ import annotations

import threading

from django.db.backends.sqlite3 import base

# Threads of this process that want to write, queued (threading.Lock wakes one on release).
WRITE_LOCK = threading.Lock()


class DatabaseWrapper(base.DatabaseWrapper):
    _holds_write_lock = False

    def _start_transaction_under_autocommit(self) -> None:
        if not self._holds_write_lock:
            timeout = float(self.settings_dict.get("OPTIONS", {}).get("timeout", 5))
            self._holds_write_lock = WRITE_LOCK.acquire(timeout=timeout)
        try:
            super()._start_transaction_under_autocommit()  # type: ignore[misc]  # not in the stubs
        except BaseException:
            self._release_write_lock()
            raise

    def _release_write_lock(self) -> None:
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
