"""Loaded with ``-p tests.testenv`` before pytest-django reads the settings."""

from __future__ import annotations

import faulthandler
import os
from pathlib import Path
from typing import IO

import pytest

# Tests never need a real secret.
os.environ.setdefault("SECRET_KEY", "tests-only-not-a-secret")
os.environ.setdefault("LEADSIEVE_TASKS_BACKEND", "django_tasks.backends.immediate.ImmediateBackend")


# Where a test process that dies of a signal (a segfault, an abort in a C library) writes every
# thread's stack. xdist cuts a dead worker's stderr short; the Makefile prints these files after
# the run, so the stacks are the last thing a CI log shows.
CRASH_DIR = Path(__file__).resolve().parent.parent / ".pytest-crash"
_crash_log: IO[str] | None = None


@pytest.hookimpl(trylast=True)  # after pytest's faulthandler plugin has pointed it at stderr
def pytest_configure(config: pytest.Config) -> None:
    global _crash_log
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    CRASH_DIR.mkdir(exist_ok=True)
    _crash_log = open(CRASH_DIR / f"{worker}-{os.getpid()}.log", "w")  # noqa: SIM115
    faulthandler.enable(file=_crash_log, all_threads=True)


def pytest_unconfigure(config: pytest.Config) -> None:
    if _crash_log is not None:
        faulthandler.disable()
        _crash_log.close()
