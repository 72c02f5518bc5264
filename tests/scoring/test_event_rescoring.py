from __future__ import annotations

import pytest

from leadsieve.leads.models import Lead
from leadsieve.scoring import events, services
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

    queued: list[list[list[int]]] = []
    monkeypatch.setattr(events, "EVENT_TASK_THRESHOLD", 2)

    class FakeTask:
        def enqueue(self, *, id_runs: list[list[int]]) -> None:
            queued.append(id_runs)

    monkeypatch.setattr(tasks, "rescore_leads_task", FakeTask())
    services.rescore_touched_leads([3, 1, 2, 2, 9, 7, 10])
    assert queued == [[[1, 3], [7, 7], [9, 10]]]


def test_id_runs():
    assert events.id_runs([]) == []
    assert events.id_runs([5]) == [[5, 5]]
    assert events.id_runs([1, 2, 3, 5, 6, 9]) == [[1, 3], [5, 6], [9, 9]]


def test_the_background_task_rescores(make_lead):
    from leadsieve.scoring.tasks import rescore_leads_task

    leads = [make_lead(do_not_contact=True) for _ in range(3)]
    runs = events.id_runs(sorted(lead.pk for lead in leads[1:]))
    result = rescore_leads_task.enqueue(id_runs=runs)
    assert result.return_value == 2
    assert rescore_leads_task.enqueue([leads[0].pk]).return_value == 1  # tasks queued before
    for lead in leads:
        lead.refresh_from_db()
        assert lead.status == "disqualified"


def test_a_touched_lead_is_scored(make_lead):
    lead = make_lead(do_not_contact=True)
    services.rescore_touched_leads([lead.pk])
    lead.refresh_from_db()
    assert lead.status == "disqualified" and lead.scored_at is not None


@pytest.mark.django_db(transaction=True)
def test_a_received_lead_is_scored_when_its_request_commits():
    from django.core.management import call_command

    from leadsieve.pipeline import receive_lead

    if not ScorecardVersion.objects.exists():  # transactional tests flush the data migration
        call_command("migrate", "scoring", "0001", verbosity=0)
        call_command("migrate", "scoring", verbosity=0)
    outcome = receive_lead(
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
    codes = {item[0] for item in snapshot.reasons}
    assert {"role_decision_maker", "do_not_contact"} <= codes


SCORE_FIELDS = (
    "rating",
    "rating_source",
    "fit_points",
    "fit_grade",
    "interest_points",
    "readiness_points",
    "status",
    "status_reason",
    "horizon",
    "horizon_reason",
)


def _varied_leads(make_lead, n):
    """``n`` stored leads whose fields and activities hit the default scorecard's criteria."""
    from datetime import timedelta
    from decimal import Decimal

    from django.utils import timezone

    from leadsieve.leads.models import Activity, Company

    companies = [
        Company.objects.create(domain=f"c{i}.test", name=f"C{i}", industry=ind, size=size)
        for i, (ind, size) in enumerate([("software", 200), ("education", 5), ("retail", None)])
    ]
    titles = ["VP Sales", "Student", "Head of Marketing", "", "CEO"]
    timelines = ["now", "", "year", "quarter"]
    kinds = ["page_visit", "form_submit", "email_replied", "meeting"]
    now = timezone.now()
    leads = []
    for i in range(n):
        lead = make_lead(
            company=companies[i % 3],
            job_title=titles[i % 5],
            timeline=timelines[i % 4],
            decision_role=["decision_maker", "", "influencer"][i % 3],
            budget=Decimal(str(5000 * (i % 7))) if i % 2 else None,
            country=["US", "DE", ""][i % 3],
            do_not_contact=(i % 11 == 0),
        )
        for j in range(i % 5):
            Activity.objects.create(
                lead=lead,
                kind=kinds[(i + j) % 4],
                url="/pricing" if j % 2 else "/blog",
                occurred_at=now - timedelta(days=2 * j + i % 3),
            )
        leads.append(lead)
    return leads


def test_leads_scored_one_by_one_on_events_equal_one_batch_pass(make_lead):
    from datetime import timedelta

    from django.utils import timezone

    leads = _varied_leads(make_lead, 40)
    ids = [lead.pk for lead in leads]
    when = timezone.now() + timedelta(minutes=1)
    services.rescore_leads(ids, as_of=when)  # one batch of 40 (the temporary-table path aside)
    batch = {row[0]: row[1:] for row in Lead.objects.values_list("id", *SCORE_FIELDS)}
    Lead.objects.update(scored_at=None, rating=None, fit_grade="", horizon="", status="new")
    for lead_id in ids:  # one lead at a time: the event path (cached SQL, no DataFrame)
        services.rescore_leads([lead_id], as_of=when, explain_later=True)
    single = {row[0]: row[1:] for row in Lead.objects.values_list("id", *SCORE_FIELDS)}
    assert single == batch
    assert len({row[6] for row in batch.values()}) >= 2  # statuses differ across leads


def test_an_event_that_changes_nothing_only_marks_the_lead_scored(
    make_lead, django_assert_max_num_queries
):
    from datetime import timedelta

    from django.utils import timezone

    lead = make_lead(decision_role="decision_maker")
    when = timezone.now()
    services.rescore_leads([lead.pk], as_of=when)
    before = Lead.objects.values_list(*SCORE_FIELDS).get(pk=lead.pk)
    # versions, fields, lead, activities, update, and the savepoint pair of the test transaction
    with django_assert_max_num_queries(7):
        result = services.rescore_leads([lead.pk], as_of=when + timedelta(seconds=5))
    assert result.n_snapshots == 0
    lead.refresh_from_db()
    assert Lead.objects.values_list(*SCORE_FIELDS).get(pk=lead.pk) == before
    assert lead.scored_at == when + timedelta(seconds=5)
