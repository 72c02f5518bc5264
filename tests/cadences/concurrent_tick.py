"""One of the concurrent tick runners of ``test_concurrent_tick`` (not a test).

Usage: python -m tests.cadences.concurrent_tick ISO_NOW
"""

from __future__ import annotations

import os
import sys
from datetime import datetime


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "leadsieve.config.settings")
    import django

    django.setup()
    from leadsieve.cadences.services import run_due_steps

    run_due_steps(now=datetime.fromisoformat(sys.argv[1]))


if __name__ == "__main__":
    main()
