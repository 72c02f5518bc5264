"""The SQLite backend's writers' queue: in order within a process, a file lock between them."""

from __future__ import annotations

import fcntl
import os
import threading
import time

import pytest
from django.db import connection

from leadsieve.config.sqlite.base import FairLock


def test_waiters_get_the_lock_in_the_order_they_asked():
    lock = FairLock()
    assert lock.acquire()
    got: list[int] = []
    threads = []
    for n in range(5):
        thread = threading.Thread(
            target=lambda n=n: (lock.acquire(), got.append(n), lock.release())
        )
        thread.start()
        threads.append(thread)
        time.sleep(0.05)  # each one waiting before the next asks
    # A newcomer asking as the holder releases does not pass the five who wait.
    lock.release()
    assert lock.acquire(timeout=5)
    got.append(99)
    lock.release()
    for thread in threads:
        thread.join(5)
    assert got == [0, 1, 2, 3, 4, 99]


def test_a_waiter_that_times_out_leaves_the_line():
    lock = FairLock()
    assert lock.acquire()
    started = time.monotonic()
    assert not lock.acquire(timeout=0.05)
    assert time.monotonic() - started >= 0.05
    lock.release()
    assert lock.acquire(timeout=0)  # nobody is left waiting for it
    lock.release()


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's writers only")
def test_a_transaction_holds_the_writers_file_lock_other_processes_wait_on(db):
    # The test runs inside a transaction: its thread holds the process lock and the file lock.
    fd = os.open(f"{connection.settings_dict['NAME']}-writers", os.O_RDWR)
    try:
        with pytest.raises(BlockingIOError):
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    finally:
        os.close(fd)
