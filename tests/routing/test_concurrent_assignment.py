"""Four processes assign the same 5,000 leads at once, on the test database itself."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.db.models import Count

from leadsieve.leads.models import Lead
from leadsieve.routing.models import Assignment, QueuedLead
from tests.routing.conftest import MONDAY_MORNING

N_LEADS = 5000
N_WORKERS = 4
N_REPS = 20
DAILY_CAPACITY = 200  # 20 × 200 = 4,000 < 5,000: capacity runs short on purpose
ROOT = Path(__file__).resolve().parents[2]


def _database_url() -> str:
    settings_dict = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{settings_dict['NAME']}"
    user, host, port = settings_dict["USER"], settings_dict["HOST"], settings_dict["PORT"]
    password = f":{settings_dict['PASSWORD']}" if settings_dict.get("PASSWORD") else ""
    return f"postgres://{user}{password}@{host}:{port or 5432}/{settings_dict['NAME']}"


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_four_workers_never_assign_a_lead_twice_or_exceed_a_capacity(
    make_rep: Any, north: Any, north_rule: Any
) -> None:
    reps = [
        make_rep(f"rep{n}", team=north, max_new_per_day=DAILY_CAPACITY, max_open=10_000)
        for n in range(N_REPS)
    ]
    Lead.objects.bulk_create(
        Lead(first_name="Lee", last_name=str(n), email=f"l{n}@x.test", rating=n % 100 + 1)
        for n in range(N_LEADS)
    )
    env = {**os.environ, "DATABASE_URL": _database_url(), "SECRET_KEY": "tests"}
    workers = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.routing.concurrent_worker",
                str(seed),
                "500",
                MONDAY_MORNING.isoformat(),
            ],
            cwd=ROOT,
            env=env,
            stderr=subprocess.PIPE,
        )
        for seed in range(N_WORKERS)
    ]
    for worker in workers:
        _, err = worker.communicate(timeout=600)
        assert worker.returncode == 0, err.decode()[-3000:]

    per_lead = Assignment.objects.values("lead_id").annotate(n=Count("id"))
    assert not per_lead.filter(n__gt=1).exists(), "a lead was assigned twice"
    per_rep = dict(Assignment.objects.values_list("rep_id").annotate(n=Count("id")))
    assert max(per_rep.values()) <= DAILY_CAPACITY
    assert sum(per_rep.values()) == N_REPS * DAILY_CAPACITY
    owned = Lead.objects.filter(owner__isnull=False)
    assert owned.count() == N_REPS * DAILY_CAPACITY
    queued = QueuedLead.objects.all()
    assert queued.count() == N_LEADS - N_REPS * DAILY_CAPACITY
    assert not queued.filter(reason="").exists()
    assert not owned.filter(queued__isnull=False).exists()
    assert set(per_rep) == {r.pk for r in reps}
