"""The SQLite backend's writers' queue: in order within a process, a file lock between them."""

from __future__ import annotations

import fcntl
import os
import threading
import time

import pytest
from django.db import connection

from leadsieve.config.sqlite.base import FairLock, WritersFile


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


def _holder(path: str) -> int:
    """Another process's hold on the writers' file (a file description of its own)."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)
    return fd


def test_a_writers_file_wait_gives_up_after_its_timeout_and_leaves_no_claim(tmp_path):
    path = str(tmp_path / "db-writers")
    writers = WritersFile(path)
    other = _holder(path)
    started = time.monotonic()
    assert writers.acquire(0.2) is None
    assert time.monotonic() - started >= 0.2
    os.close(other)  # the other process's transaction ends
    fd = writers.acquire(5)
    assert fd is not None
    probe = _other_fd(path)
    with pytest.raises(BlockingIOError):  # held: another process must wait
        fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
    os.close(probe)
    WritersFile.release(fd)
    probe = _other_fd(path)
    fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)  # free again
    os.close(probe)


def test_a_writer_waiting_on_the_file_gets_it_when_the_holder_lets_go(tmp_path):
    path = str(tmp_path / "db-writers")
    writers = WritersFile(path)
    other = _holder(path)
    threading.Timer(0.2, os.close, args=(other,)).start()
    started = time.monotonic()
    fd = writers.acquire(10)
    assert fd is not None and 0.15 <= time.monotonic() - started < 5
    WritersFile.release(fd)


def _other_fd(path: str) -> int:
    return os.open(path, os.O_RDWR)
