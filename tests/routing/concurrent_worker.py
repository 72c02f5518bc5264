"""One of the concurrent assigners started by ``test_concurrent_assignment`` (not a test).

Usage: python -m tests.routing.concurrent_worker SEED CHUNK ISO_NOW
"""

from __future__ import annotations

import os
import random
import sys
from datetime import datetime


def main() -> None:
    seed, chunk, now = int(sys.argv[1]), int(sys.argv[2]), datetime.fromisoformat(sys.argv[3])
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "leadsieve.config.settings")
    import django

    django.setup()
    from leadsieve.leads.models import Lead
    from leadsieve.routing.services import assign_leads

    ids = list(Lead.objects.order_by("id").values_list("id", flat=True))
    random.Random(seed).shuffle(ids)
    for start in range(0, len(ids), chunk):
        assign_leads(Lead.objects.filter(id__in=ids[start : start + chunk]), now=now)


if __name__ == "__main__":
    main()
