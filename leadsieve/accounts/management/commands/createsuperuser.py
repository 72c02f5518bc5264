"""``leadsieve createsuperuser``: Django's, with the password rules in non-interactive runs too.

Django checks ``AUTH_PASSWORD_VALIDATORS`` when it prompts for the password, but takes
``DJANGO_SUPERUSER_PASSWORD`` unchecked with ``--noinput``: a deployment script could create
an administrator with the password ``a``. This command refuses that, naming each rule broken.
(``leadsieve.accounts`` comes before ``django.contrib.auth`` in ``INSTALLED_APPS`` so this
command is the one that runs.)
"""

from __future__ import annotations

import os
from typing import Any

from django.contrib.auth.management.commands import createsuperuser
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import CommandError

from leadsieve.accounts.models import User

PASSWORD_VARIABLE = "DJANGO_SUPERUSER_PASSWORD"  # noqa: S105 (a variable name, not a secret)


class Command(createsuperuser.Command):
    def handle(self, *args: Any, **options: Any) -> str | None:
        password = os.environ.get(PASSWORD_VARIABLE)
        if not options["interactive"] and password is not None:
            username = options.get(User.USERNAME_FIELD) or os.environ.get(
                "DJANGO_SUPERUSER_USERNAME", ""
            )
            email = options.get("email") or os.environ.get("DJANGO_SUPERUSER_EMAIL", "")
            try:
                validate_password(password, User(username=username, email=email))
            except ValidationError as error:
                raise CommandError(
                    f"{PASSWORD_VARIABLE} is refused: " + " ".join(error.messages)
                ) from None
        result: str | None = super().handle(*args, **options)
        return result
