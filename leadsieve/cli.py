"""The ``leadsieve`` command: the project's manage.py.

``leadsieve migrate``, ``leadsieve runserver``, ``leadsieve serve`` and every
management command of the apps (``import-leads``, ``load-demo``, ...): dashes in a
command name are accepted for underscores, so ``leadsieve load-demo`` runs
``load_demo``.
"""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> None:
    """Run a Django management command with LeadSieve's settings."""
    args = list(sys.argv if argv is None else argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "leadsieve.config.settings")
    if len(args) > 1 and not args[1].startswith("-"):
        args[1] = args[1].replace("-", "_")
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    try:
        settings.INSTALLED_APPS  # noqa: B018 (reading it loads the settings)
    except ImproperlyConfigured as error:
        # A missing or bad variable is one line that names it, not a traceback.
        sys.exit(f"leadsieve: {error}")

    execute_from_command_line(args)


if __name__ == "__main__":
    main()
