"""``leadsieve recover-tasks --host HOST``: the tasks of a worker host lost for good.

A worker that dies leaves its task running; a worker starting on the same host, or that
host's tick, puts it back in the queue (``background.recover_stopped_tasks``). Nothing on
another host can tell a dead worker from a live one there, so when a whole host is gone
(decommissioned, its disk lost) an operator says so with this command: every task still
running under a worker of HOST is put back in the queue, or failed with the reason after
``MAX_ATTEMPTS`` runs, exactly as for a worker killed on this host.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from leadsieve.background import recover_stopped_tasks


class Command(BaseCommand):
    help = (
        "Put back in the queue (or fail, after 3 runs) the tasks left running by the workers "
        "of HOST, a worker host that is gone for good. Do not name a host whose workers run."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--host", required=True, help="The lost host's name, as in its tasks' worker ids."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        host = options["host"].strip()
        if not host or ":" in host:
            raise CommandError("--host takes a host name (the part before the first ':')")
        counts = recover_stopped_tasks(is_gone=lambda worker: worker.partition(":")[0] == host)
        self.stdout.write(json.dumps(counts, sort_keys=True))
