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
a process waiting on ``flock`` as soon as the holder's transaction ends. That wait is also
given up after the busy timeout (``WritersFile``); the lock goes with a process that dies.
"""

from __future__ import annotations

import fcntl
import os
import queue
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


class _Claim:
    def __init__(self) -> None:
        self.done = threading.Event()
        self.mutex = threading.Lock()
        self.granted = False
        self.abandoned = False


class WritersFile:
    """This process's exclusive ``flock`` on a database's writers' file, with a timeout.

    ``flock`` cannot time out, so when the lock is not free at once a thread of its own
    waits for it and the asking thread waits for that thread, with a timeout. That thread
    locks through a second descriptor: a claim given up late must not merge into (and then
    undo) a lock another thread of the process holds through the first.
    """

    def __init__(self, path: str) -> None:
        flags = os.O_RDWR | os.O_CREAT | os.O_CLOEXEC
        self._fast = os.open(path, flags, 0o600)
        self._slow = os.open(path, flags, 0o600)
        self._claims: queue.SimpleQueue[_Claim] = queue.SimpleQueue()
        self._waiter: threading.Thread | None = None
        self._guard = threading.Lock()

    def acquire(self, timeout: float) -> int | None:
        """The descriptor that now holds the lock (for ``release``); ``None`` after
        ``timeout`` seconds without it."""
        try:
            fcntl.flock(self._fast, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return self._fast
        except BlockingIOError:
            pass
        with self._guard:
            if self._waiter is None:
                self._waiter = threading.Thread(
                    target=self._wait_for_claims, name="sqlite-writers-flock", daemon=True
                )
                self._waiter.start()
        claim = _Claim()
        self._claims.put(claim)
        claim.done.wait(timeout)
        with claim.mutex:
            if claim.granted:
                return self._slow
            claim.abandoned = True
            return None

    @staticmethod
    def release(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)

    def _wait_for_claims(self) -> None:
        while True:
            claim = self._claims.get()
            fcntl.flock(self._slow, fcntl.LOCK_EX)
            with claim.mutex:
                if claim.abandoned:
                    fcntl.flock(self._slow, fcntl.LOCK_UN)
                    continue
                claim.granted = True
            claim.done.set()


# Each database's writers' file, per process (a forked child opens its own: a file
# description shared with the parent would let both hold the flock at once).
_WRITERS_FILES: dict[tuple[int, str], WritersFile] = {}
_WRITERS_FILES_GUARD = threading.Lock()


def writers_file(name: str) -> WritersFile | None:
    """This process's ``WritersFile`` of the database ``name``; ``None`` for a database in
    memory (one process only)."""
    if not name or name == ":memory:" or name.startswith("file:"):
        return None
    key = (os.getpid(), name)
    with _WRITERS_FILES_GUARD:
        found = _WRITERS_FILES.get(key)
        if found is None:
            found = _WRITERS_FILES[key] = WritersFile(f"{name}-writers")
        return found


class DatabaseWrapper(base.DatabaseWrapper):
    _holds_write_lock = False
    _holds_file_lock: int | None = None

    def _start_transaction_under_autocommit(self) -> None:
        if not self._holds_write_lock:
            timeout = float(self.settings_dict.get("OPTIONS", {}).get("timeout", 5))
            self._holds_write_lock = WRITE_LOCK.acquire(timeout=timeout)
            # Only the thread holding the process lock may take the file lock: the
            # process's threads share its descriptors, and so would share the flock. Given
            # up after the busy timeout too (then SQLite's own wait applies).
            if self._holds_write_lock:
                writers = writers_file(str(self.settings_dict["NAME"]))
                if writers is not None:
                    self._holds_file_lock = writers.acquire(timeout)
        try:
            super()._start_transaction_under_autocommit()  # type: ignore[misc]  # not in the stubs
        except BaseException:
            self._release_write_lock()
            raise

    def _release_write_lock(self) -> None:
        if self._holds_file_lock is not None:
            fd, self._holds_file_lock = self._holds_file_lock, None
            WritersFile.release(fd)
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
