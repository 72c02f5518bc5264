"""``leadsieve worker``: the background worker (django-tasks-db's ``db_worker``)."""

from __future__ import annotations

from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = "Run the database-backed task worker (arguments are passed to db_worker)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("args", nargs="*", help="Extra db_worker arguments after --.")

    def handle(self, *args: Any, **options: Any) -> None:
        call_command("db_worker", *args)
