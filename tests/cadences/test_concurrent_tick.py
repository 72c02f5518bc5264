"""Three ticks over the same due steps at once: every step once, every email once."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from typing import Any

import pytest
from django.db.models import Count

from leadsieve.cadences.models import Enrolment, Task
from leadsieve.leads.models import Activity, ActivityKind, Lead
from tests.cadences.conftest import MONDAY_MORNING
from tests.routing.test_concurrent_assignment import ROOT, _database_url

N_LEADS = 2000


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_concurrent_ticks_send_each_email_once(dan: Any, nurture: Any) -> None:
    Lead.objects.bulk_create(
        Lead(first_name="Lee", email=f"l{n}@x.test", owner=dan, horizon="long", consent=True)
        for n in range(N_LEADS)
    )
    Enrolment.objects.bulk_create(
        Enrolment(
            lead_id=lead_id,
            cadence=nurture,
            owner=dan,
            next_due_at=MONDAY_MORNING - timedelta(minutes=1),
            enrolled_at=MONDAY_MORNING - timedelta(hours=1),
        )
        for lead_id in Lead.objects.values_list("id", flat=True)
    )
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "SECRET_KEY": "tests",
        "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
    }
    runners = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.cadences.concurrent_tick", MONDAY_MORNING.isoformat()],
            cwd=ROOT,
            env=env,
            stderr=subprocess.PIPE,
        )
        for _ in range(3)
    ]
    for runner in runners:
        _, err = runner.communicate(timeout=600)
        assert runner.returncode == 0, err.decode()[-3000:]
    assert Task.objects.count() == N_LEADS
    sent = Activity.objects.filter(kind=ActivityKind.EMAIL_SENT)
    assert sent.count() == N_LEADS
    assert not sent.values("lead_id").annotate(n=Count("id")).filter(n__gt=1).exists()
    assert set(Enrolment.objects.values_list("next_position", flat=True)) == {2}
