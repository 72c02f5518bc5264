"""Simultaneous captures of one person never create two leads (SQLite and PostgreSQL)."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connection

from leadsieve.leads.models import Channel, Lead, MergeRecord
from leadsieve.leads.services import capture_lead

WRITERS = 6


@pytest.mark.django_db(transaction=True)
def test_simultaneous_captures_of_one_email_make_one_lead() -> None:
    barrier = threading.Barrier(WRITERS)
    outcomes: list[Any] = []
    failures: list[BaseException] = []

    def write(n: int) -> None:
        try:
            barrier.wait()
            values = {"email": f"  Ada@ACME.test{' ' * n}", "job_title": f"Title {n}"}
            outcomes.append(capture_lead(values, channel=Channel.API, via=f"api:{n}"))
        except BaseException as error:  # reported below, with the thread's exception
            failures.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=write, args=(n,)) for n in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert Lead.objects.filter(email_key="ada@acme.test").count() == 1
    assert sum(1 for o in outcomes if o.created) == 1
    assert MergeRecord.objects.count() == WRITERS - 1
