"""``leadsieve create-api-token --user NAME [--name LABEL]``: print a new token, once."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from leadsieve.accounts.models import User
from leadsieve.api.services import create_api_token


class Command(BaseCommand):
    help = "Create an API token for a user and print it (it is stored hashed: copy it now)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--user", required=True, help="Username the token acts as.")
        parser.add_argument("--name", default="", help="A label, e.g. the calling system.")

    def handle(self, *args: Any, **options: Any) -> None:
        user = User.objects.filter(username=options["user"]).first()
        if user is None:
            raise CommandError(f"No user named {options['user']!r}.")
        if not user.is_active:
            raise CommandError(f"User {options['user']!r} is inactive.")
        token, raw = create_api_token(user, name=options["name"])
        self.stderr.write(f"Token {token.prefix} for {user.username}; shown once, store it safely:")
        self.stdout.write(raw)
