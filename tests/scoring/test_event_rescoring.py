from __future__ import annotations

import pytest

from leadsieve.leads.models import Lead
from leadsieve.scoring import events, services
from leadsieve.scoring.apps import RESCORE_HOOK
from leadsieve.scoring.models import ScorecardVersion


def test_a_failing_rescore_never_breaks_the_committed_capture(make_lead, caplog):
    lead = make_lead()
    ScorecardVersion.objects.all().delete()
    services.rescore_touched_leads([lead.pk])
    lead.refresh_from_db()
    assert lead.scored_at is None
    assert "rescoring 1 touched leads failed" in caplog.text


def test_large_touched_sets_go_to_the_background_task(db, monkeypatch):
    from leadsieve.scoring import tasks

    queued: list[list[int]] = []
    monkeypatch.setattr(events, "EVENT_TASK_THRESHOLD", 2)

    class FakeTask:
        def enqueue(self, ids: list[int]) -> None:
            queued.append(ids)

    monkeypatch.setattr(tasks, "rescore_leads_task", FakeTask())
    services.rescore_touched_leads([3, 1, 2, 2])
    assert queued == [[1, 2, 3]]


def test_the_background_task_rescores(make_lead):
    from leadsieve.scoring.tasks import rescore_leads_task

    lead = make_lead(do_not_contact=True)
    result = rescore_leads_task.enqueue([lead.pk])
    assert result.return_value == 1
    lead.refresh_from_db()
    assert lead.status == "disqualified"


def test_a_touched_lead_is_scored(make_lead):
    lead = make_lead(do_not_contact=True)
    services.rescore_touched_leads([lead.pk])
    lead.refresh_from_db()
    assert lead.status == "disqualified" and lead.scored_at is not None


@pytest.mark.django_db(transaction=True)
def test_a_capture_rescores_the_lead_right_after_commit():
    capture = pytest.importorskip("leadsieve.leads.capture")
    from django.core.management import call_command

    if not ScorecardVersion.objects.exists():  # transactional tests flush the data migration
        call_command("migrate", "scoring", "0001", verbosity=0)
        call_command("migrate", "scoring", verbosity=0)
    assert RESCORE_HOOK in capture.LEADS_TOUCHED_HOOKS
    outcome = capture.capture_lead(
        {"email": "ann@acme-corp.test", "first_name": "Ann", "do_not_contact": True},
        channel="api",
        via="api:test",
    )
    lead = Lead.objects.get(pk=outcome.lead.pk)
    assert lead.scored_at is not None
    assert lead.status == "disqualified"


def test_event_snapshots_get_their_reasons_from_the_task_after_commit(
    make_lead, django_capture_on_commit_callbacks
):
    from leadsieve.scoring.models import ScoreSnapshot

    lead = make_lead(decision_role="decision_maker", do_not_contact=True)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        services.rescore_touched_leads([lead.pk])
    assert len(callbacks) == 1
    snapshot = ScoreSnapshot.objects.get(lead=lead)
    codes = {r["code"] for r in snapshot.reasons}
    assert {"role_decision_maker", "do_not_contact"} <= codes
