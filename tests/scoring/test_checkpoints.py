from __future__ import annotations

from pathlib import Path

import pytest
from django.db import connection, transaction

from leadsieve.config.sqlite import checkpoints
from leadsieve.leads.models import Lead
from leadsieve.scoring import services

pytestmark = pytest.mark.skipif(
    connection.vendor != "sqlite", reason="WAL checkpoints are SQLite's"
)


def _autocheckpoint() -> int:
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA wal_autocheckpoint")
        return int(cursor.fetchone()[0])


def test_it_does_nothing_inside_an_outer_transaction(db):
    before = _autocheckpoint()
    with checkpoints.no_autocheckpoint() as deferred:
        assert not deferred
        assert _autocheckpoint() == before


@pytest.mark.django_db(transaction=True)
def test_it_switches_the_autocheckpoint_off_for_the_block_and_restores_it():
    before = _autocheckpoint()
    assert before > 0
    with checkpoints.no_autocheckpoint() as deferred:
        assert deferred
        assert _autocheckpoint() == 0
    assert _autocheckpoint() == before


@pytest.mark.django_db(transaction=True)
def test_it_restores_the_autocheckpoint_when_the_block_fails():
    before = _autocheckpoint()
    with pytest.raises(RuntimeError), checkpoints.no_autocheckpoint():
        raise RuntimeError("scoring failed")
    assert _autocheckpoint() == before


@pytest.mark.django_db(transaction=True)
def test_an_event_wakes_the_background_checkpoint_thread(make_lead):
    _with_default_scorecard()
    lead = make_lead(do_not_contact=True)
    services.rescore_touched_leads([lead.pk])
    thread = checkpoints._THREADS[str(connection.settings_dict["NAME"])]
    assert thread.is_alive() and thread.daemon
    assert _autocheckpoint() > 0  # the request's connection keeps SQLite's autocheckpoint
    lead.refresh_from_db()
    assert lead.status == "disqualified"
    with transaction.atomic():  # the thread's checkpoint never blocks a writer
        make_lead(email="next@example.test")


def _with_default_scorecard() -> None:
    from django.core.management import call_command

    from leadsieve.scoring.models import ScorecardVersion

    if not ScorecardVersion.objects.exists():  # transactional tests flush the data migration
        call_command("migrate", "scoring", "0001", verbosity=0)
        call_command("migrate", "scoring", verbosity=0)


@pytest.mark.django_db(transaction=True)
def test_a_whole_pass_waits_for_the_checkpoint_of_its_last_batch(make_lead):
    _with_default_scorecard()
    leads = [make_lead(do_not_contact=i % 2 == 0) for i in range(5)]
    result = services.rescore_all(batch_size=2, progress=False)
    assert result.n_scored == 5
    thread = checkpoints._THREADS[str(connection.settings_dict["NAME"])]
    assert thread.done == thread.requested >= 3  # one request per batch, then the last wait
    assert _autocheckpoint() > 0
    wal = Path(f"{connection.settings_dict['NAME']}-wal")
    assert not wal.exists() or wal.stat().st_size == 0  # the pass emptied the log
    statuses = set(Lead.objects.filter(pk__in=[lead.pk for lead in leads]).values_list("status"))
    assert ("disqualified",) in statuses


@pytest.mark.django_db(transaction=True)
def test_a_long_log_makes_the_next_batch_wait_for_a_full_checkpoint():
    checkpoints.request_checkpoint()
    thread = checkpoints._THREADS[str(connection.settings_dict["NAME"])]
    thread.log_pages = 10**9
    checkpoints.bound_log(1_000)
    assert thread.done == thread.requested and thread.log_pages == 0
