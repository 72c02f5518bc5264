"""``leadsieve worker``: the background worker, django-tasks-db's ``db_worker`` by our name.

Subclassing keeps every ``db_worker`` option (``--batch``, ``--queue-name``, ``--interval``).
"""

from __future__ import annotations

from django_tasks_db.management.commands.db_worker import Command as DatabaseWorkerCommand


class Command(DatabaseWorkerCommand):
    help = "Run the database-backed task worker (ticks enqueued by `leadsieve tick --enqueue`)."
