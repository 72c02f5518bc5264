"""Background work on the database queue: who goes first, one waiting task at a time, and
what happens to a task whose worker died.

Every task runs in the one ``leadsieve worker`` (django-tasks-db's ``db_worker``, one queue,
``default``). The worker takes the waiting task of highest priority first (-100..100), so
work a person waits for is given a higher priority than maintenance:

==========================  =========  ===============================================
priority                     value      tasks
==========================  =========  ===============================================
``USER_PRIORITY``            50         an import, a backtest, the rescoring after a
                                        publish: someone is watching its page
``SCHEDULE_PRIORITY``        30         an enqueued tick (deadlines, due steps)
``FOLLOW_UP_PRIORITY``       10         the rescoring of an import's leads
``MAINTENANCE_PRIORITY``     -50        snapshot reasons (``fill_*snapshot_reasons*``)
==========================  =========  ===============================================

A priority orders only what waits; a task already running is not interrupted. So
maintenance tasks stop after a few seconds of work and enqueue their own continuation
(``enqueue_unless_waiting``), which lets an import started meanwhile go first.

A worker records itself in each task it claims as ``host:pid:start``
(``worker_processes.current_worker``). ``recover_stopped_tasks`` (run when a worker starts
and by every tick) finds tasks still marked running whose worker process is certainly gone
(killed, out of memory, a restart): each of our tasks is safe to run again, so it is put
back in the queue, up to ``MAX_ATTEMPTS`` runs in all; after that it is marked failed
with ``WORKER_STOPPED`` as its reason. A task run by a worker on another host is never
declared gone (``worker_is_gone``); run the worker on the server's host.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.db.models import Q
from django.utils import timezone
from django_tasks import TaskResultStatus, task_backends
from django_tasks.base import Task
from django_tasks_db import DatabaseBackend
from django_tasks_db.models import DBTaskResult

from leadsieve.worker_processes import worker_is_gone

logger = logging.getLogger(__name__)

USER_PRIORITY = 50
SCHEDULE_PRIORITY = 30
FOLLOW_UP_PRIORITY = 10
MAINTENANCE_PRIORITY = -50

# Runs of one task in all (the first and the retries) before a dead worker fails it: a task
# that kills its worker each time (out of memory) must not loop forever.
MAX_ATTEMPTS = 3
WORKER_STOPPED = (
    "The worker running this task stopped without finishing (killed, out of memory, or the "
    "machine restarted), {n} times; it is not retried again."
)
# Recorded as the failed task's exception class (the admin's task list shows it).
WORKER_STOPPED_CLASS = "leadsieve.background.WorkerStopped"


def _database_backend(task: Task[Any, Any]) -> DatabaseBackend | None:  # Any: any task
    backend = task_backends[task.backend]
    return backend if isinstance(backend, DatabaseBackend) else None


def is_waiting(task: Task[Any, Any]) -> bool:  # Any: any task's arguments and result
    """Whether a run of ``task`` is queued and not yet claimed (database backend only)."""
    backend = _database_backend(task)
    if backend is None:
        return False
    return DBTaskResult.objects.filter(
        task_path=task.module_path,
        status=TaskResultStatus.READY,
        backend_name=backend.alias,
    ).exists()


def enqueue_unless_waiting(task: Task[Any, Any]) -> bool:  # Any: any argument-less task
    """Enqueue ``task`` (it takes no arguments) unless a run of it already waits; returns
    whether this call enqueued one.

    Safe for a task that handles everything pending when it runs: a waiting run has not
    started yet, so it will see what the caller committed before calling. Two callers may
    both enqueue (neither saw the other's); the second run then finds nothing to do.
    """
    if is_waiting(task):
        return False
    task.enqueue()
    return True


def recover_stopped_tasks(*, is_gone: Callable[[str], bool] = worker_is_gone) -> dict[str, int]:
    """Re-queue (or, after ``MAX_ATTEMPTS`` runs, fail) the running tasks whose worker
    process is gone; the counts of each.

    ``is_gone`` decides from a task's last worker id (``host:pid:start``); by default only a
    process of this host is ever declared gone. ``leadsieve recover-tasks --host`` passes
    one that says so of every worker of a host lost for good.
    """
    counts = {"requeued": 0, "failed": 0}
    running = DBTaskResult.objects.filter(status=TaskResultStatus.RUNNING).only(
        "id", "worker_ids", "task_path"
    )
    for result in running:
        worker_ids = list(result.worker_ids or [])
        if not worker_ids or not is_gone(str(worker_ids[-1])):
            continue
        # Only if nothing moved meanwhile (another worker or tick recovered it first).
        still = DBTaskResult.objects.filter(
            Q(id=result.id), Q(status=TaskResultStatus.RUNNING), Q(worker_ids=worker_ids)
        )
        if len(worker_ids) < MAX_ATTEMPTS:
            changed = still.update(status=TaskResultStatus.READY, started_at=None)
            action = "requeued"
        else:
            changed = still.update(
                status=TaskResultStatus.FAILED,
                finished_at=timezone.now(),
                exception_class_path=WORKER_STOPPED_CLASS,
                traceback=WORKER_STOPPED.format(n=len(worker_ids)),
            )
            action = "failed"
        if changed:
            counts[action] += 1
            logger.warning(
                "task %s (%s): its worker %s is gone; %s",
                result.id,
                result.task_path,
                worker_ids[-1],
                action,
            )
    return counts
