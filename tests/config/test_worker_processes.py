"""A job's worker process: recorded when it claims the job, checked when the job is shown."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator

import pytest

from leadsieve.worker_processes import current_worker, worker_is_gone


@pytest.fixture
def sleeper() -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    yield process
    process.kill()
    process.wait()


def _worker_of(pid: int, start: str) -> str:
    return f"{socket.gethostname()}:{pid}:{start}"


def test_this_process_is_never_gone() -> None:
    worker = current_worker()

    assert worker.startswith(f"{socket.gethostname()}:")
    assert not worker_is_gone(worker)


def test_a_process_that_ended_is_gone(ended_worker: str) -> None:
    assert worker_is_gone(ended_worker)


def test_a_live_process_is_not_gone_but_a_reused_pid_is(sleeper: subprocess.Popen[bytes]) -> None:
    start = current_worker().rsplit(":", 1)[1]
    if not start:
        pytest.skip("no /proc: process start times are unknown here")
    from leadsieve.worker_processes import _start_ticks

    assert not worker_is_gone(_worker_of(sleeper.pid, _start_ticks(sleeper.pid)))
    assert not worker_is_gone(_worker_of(sleeper.pid, ""))
    assert worker_is_gone(_worker_of(sleeper.pid, "1"))  # same pid, another process


@pytest.mark.parametrize(
    "worker",
    ["", "garbage", "other-host.example:1:1", f"{socket.gethostname()}:not-a-pid:1"],
)
def test_what_cannot_be_checked_is_never_declared_gone(worker: str) -> None:
    assert not worker_is_gone(worker)
