"""Which process runs a background job, and whether it is still there.

A job (an import, a backtest) marks itself "running" when a worker claims it and "done" or
"failed" when it ends. A worker that is killed (out of memory, ``kill -9``, a restart of the
machine) ends nothing: its job would show "running" forever. So a job records the process
that claimed it, as ``host:pid:start``; a page that shows a running job asks
``worker_is_gone`` and, if so, fails the job with a message that says what happened.

Only a process on the same host can be checked. ``start`` (the process's start time in
clock ticks since boot, from ``/proc``) tells a reused process id from the original one;
where ``/proc`` is missing it is empty and the process id alone is checked. A worker on
another host, or a value not in this form, is never declared gone.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

WORKER_MAX_LENGTH = 120


def _start_ticks(pid: int) -> str:
    """The process's start time (``/proc/<pid>/stat`` field 22), or "" if unknown."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return ""
    # The command name (field 2) is in parentheses and may hold spaces: split after it.
    fields = stat.rpartition(")")[2].split()
    return fields[19] if len(fields) > 19 else ""


def current_worker() -> str:
    """This process, as a job records it: ``host:pid:start``."""
    pid = os.getpid()
    return f"{socket.gethostname()}:{pid}:{_start_ticks(pid)}"[:WORKER_MAX_LENGTH]


def worker_is_gone(worker: str) -> bool:
    """Whether the process recorded as ``worker`` has certainly stopped.

    True only for a process of this host that no longer exists, or whose process id now
    belongs to a process started at another time. Unknown (another host, no record) is
    False: a job is never failed on a guess.
    """
    host, _, rest = worker.partition(":")
    pid_text, _, start = rest.partition(":")
    if not host or host != socket.gethostname() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, owned by another user
        pass
    return bool(start) and _start_ticks(pid) not in ("", start)
