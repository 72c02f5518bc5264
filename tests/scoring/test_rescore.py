from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine

from leadsieve.leads.models import Activity, Company, Lead, LeadChange, Outcome, Status
from leadsieve.scoring.models import ScoreSnapshot
from leadsieve.scoring.services import (
    clear_manual_status,
    rescore_all,
    rescore_leads,
    set_rating_by_hand,
    set_status_by_hand,
)

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


@pytest.fixture
def hot_lead(make_lead):
    company = Company.objects.create(
        domain="acme.test", name="Acme", industry="software", size=200, revenue_band="1m_10m"
    )
    lead = make_lead(
        company=company,
        job_title="VP Sales",
        decision_role="decision_maker",
        country="US",
        budget=Decimal("60000"),
        need="A CRM",
        timeline="now",
        created_at=NOW - timedelta(days=3),
    )
    for day in (1, 2):
        Activity.objects.create(
            lead=lead, kind="form_submit", occurred_at=NOW - timedelta(days=day)
        )
    Activity.objects.create(lead=lead, kind="meeting", occurred_at=NOW - timedelta(days=1))
    return lead


def test_it_skips_merged_leads(make_lead, hot_lead):
    merged = make_lead(merged_into=hot_lead)
    result = rescore_leads([merged.pk], as_of=NOW)
    assert result.n_scored == 0
    merged.refresh_from_db()
    assert merged.scored_at is None


def test_it_never_moves_a_manual_status(hot_lead, alice):
    set_status_by_hand(hot_lead, Status.NEW, user=alice, reason="Talked to them: not now")
    rescore_leads([hot_lead.pk], as_of=NOW)
    hot_lead.refresh_from_db()
    assert hot_lead.status == Status.NEW
    assert hot_lead.status_is_manual
    assert hot_lead.status_reason == "Talked to them: not now"
    assert hot_lead.fit_grade == "A"


def test_it_never_overwrites_a_manual_rating(hot_lead, alice):
    set_rating_by_hand(hot_lead, 7, user=alice, reason="Known tyre kicker")
    rescore_leads([hot_lead.pk], as_of=NOW)
    hot_lead.refresh_from_db()
    assert hot_lead.rating == 7
    assert hot_lead.rating_is_manual
    change = LeadChange.objects.get(lead=hot_lead, action="rating_override")
    assert change.changes["rating"] == [None, 7]
    assert change.note == "Known tyre kicker"


def test_it_rejects_an_override_without_reason_or_out_of_range(hot_lead, alice):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError, match="reason"):
        set_status_by_hand(hot_lead, Status.SQL, user=alice, reason=" ")
    with pytest.raises(ValidationError, match="1–100"):
        set_rating_by_hand(hot_lead, 101, user=alice, reason="why not")
    with pytest.raises(ValidationError, match="not a status"):
        set_status_by_hand(hot_lead, "hot", user=alice, reason="why not")
    assert not LeadChange.objects.filter(lead=hot_lead).exists()


def test_it_leaves_closed_and_working_leads_status_alone(make_lead):
    won = make_lead(outcome=Outcome.WON, status=Status.CONVERTED, do_not_contact=True)
    working = make_lead(status=Status.WORKING, do_not_contact=True)
    rescore_leads([won.pk, working.pk], as_of=NOW)
    won.refresh_from_db()
    working.refresh_from_db()
    assert won.status == Status.CONVERTED
    assert working.status == Status.WORKING
    assert won.rating is not None


def test_it_writes_every_score_column(hot_lead):
    result = rescore_leads([hot_lead.pk], as_of=NOW)
    assert result.n_scored == 1
    hot_lead.refresh_from_db()
    assert hot_lead.fit_grade == "A"
    assert hot_lead.status == Status.SQL
    assert hot_lead.horizon == "short"
    assert hot_lead.horizon_reason
    assert hot_lead.status_reason
    assert 1 <= hot_lead.rating <= 100
    assert hot_lead.rating_source == "scorecard"
    assert hot_lead.fit_points > 0 and hot_lead.interest_points > 0
    assert hot_lead.readiness_points > 0
    assert hot_lead.scored_at == NOW
    assert hot_lead.scorecard_version == 1
    audit = LeadChange.objects.get(lead=hot_lead, action="status_scored")
    assert audit.changes == {"status": ["new", "sql"]}


def test_it_disqualifies_do_not_contact_leads(make_lead):
    lead = make_lead(do_not_contact=True)
    rescore_leads([lead.pk], as_of=NOW)
    lead.refresh_from_db()
    assert lead.status == Status.DISQUALIFIED
    assert "Asked not to be contacted" in lead.status_reason


def test_it_snapshots_only_when_the_score_moves(hot_lead):
    rescore_leads([hot_lead.pk], as_of=NOW)
    assert ScoreSnapshot.objects.filter(lead=hot_lead).count() == 1
    rescore_leads([hot_lead.pk], as_of=NOW + timedelta(minutes=5))
    assert ScoreSnapshot.objects.filter(lead=hot_lead).count() == 1
    Lead.objects.filter(pk=hot_lead.pk).update(do_not_contact=True)
    rescore_leads([hot_lead.pk], as_of=NOW + timedelta(minutes=10))
    snapshots = list(ScoreSnapshot.objects.filter(lead=hot_lead))
    assert len(snapshots) == 2
    assert snapshots[0].status == Status.DISQUALIFIED
    first = snapshots[1]
    assert first.scorecard_version.number == 1
    assert first.rating_band == (first.rating - 1) // 10 + 1
    assert ["role_decision_maker", 15.0] in first.reasons


def test_clearing_a_manual_status_hands_it_back_to_the_scorecard(hot_lead, alice):
    set_status_by_hand(hot_lead, Status.NEW, user=alice, reason="wait")
    with time_machine.travel(NOW, tick=False):
        lead = clear_manual_status(hot_lead, user=alice)
    assert not lead.status_is_manual
    assert lead.status == Status.SQL
    assert LeadChange.objects.filter(lead=hot_lead, action="status_override_cleared").exists()


def test_rescore_all_scores_open_leads_in_batches(make_lead):
    open_leads = [make_lead() for _ in range(7)]
    lost = make_lead(outcome=Outcome.LOST)
    result = rescore_all(batch_size=3, progress=False, as_of=NOW)
    assert result.n_scored == 7
    assert Lead.objects.filter(pk__in=[x.pk for x in open_leads], scored_at=NOW).count() == 7
    lost.refresh_from_db()
    assert lost.scored_at is None


def test_large_sets_are_written_through_the_temporary_table(make_lead, monkeypatch):
    from leadsieve.scoring import rescoring

    monkeypatch.setattr(rescoring, "SMALL_WRITE", 2)
    leads = [make_lead(do_not_contact=(i % 2 == 0)) for i in range(6)]
    rescore_leads([x.pk for x in leads], as_of=NOW)
    statuses = dict(Lead.objects.filter(pk__in=[x.pk for x in leads]).values_list("id", "status"))
    assert [statuses[x.pk] for x in leads] == ["disqualified", "new"] * 3
    assert Lead.objects.filter(pk__in=[x.pk for x in leads], scored_at=NOW).count() == 6


def test_a_second_pass_only_marks_unchanged_leads_as_scored(make_lead):
    leads = [make_lead(do_not_contact=(i == 0)) for i in range(4)]
    rescore_all(batch_size=2, progress=False, as_of=NOW)
    before = dict(Lead.objects.values_list("id", "rating"))
    later = NOW + timedelta(hours=1)
    result = rescore_all(batch_size=2, progress=False, as_of=later)
    assert result.n_scored == 4 and result.n_snapshots == 0
    assert Lead.objects.filter(pk__in=[x.pk for x in leads], scored_at=later).count() == 4
    assert dict(Lead.objects.values_list("id", "rating")) == before
    assert ScoreSnapshot.objects.count() == 4
