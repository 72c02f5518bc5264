"""``leadsieve worker``: the background worker, django-tasks-db's ``db_worker`` by our name.

Subclassing keeps every ``db_worker`` option (``--batch``, ``--queue-name``, ``--interval``).
Two differences: the worker's id defaults to this process as ``host:pid:start`` (so a task
it leaves running when it is killed can be told from one still running), and on start it
re-queues or fails the tasks a killed worker left running (``background``).
"""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django_tasks_db.management.commands.db_worker import Command as DatabaseWorkerCommand

from leadsieve.background import recover_stopped_tasks
from leadsieve.worker_processes import current_worker


class Command(DatabaseWorkerCommand):
    help = (
        "Run the database-backed task worker (imports, backtests, rescoring, snapshot "
        "reasons, ticks enqueued by `leadsieve tick --enqueue`)."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        # None: this process (``handle``); a string default would be checked against
        # db_worker's 64-character limit meant for ids given by hand.
        parser.set_defaults(worker_id=None)

    def handle(self, *args: Any, **options: Any) -> None:
        options["worker_id"] = options.get("worker_id") or current_worker()
        counts = recover_stopped_tasks()
        if any(counts.values()):
            self.stderr.write(f"tasks left running by a stopped worker: {counts}")
        super().handle(*args, **options)
