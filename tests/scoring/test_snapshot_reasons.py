"""Snapshot reasons: stored compact (codes and points), worded by the snapshot's version."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import numpy as np
import pytest

from leadsieve.leads.models import Activity, Company
from leadsieve.scoring.frames import activity_frame, lead_frame
from leadsieve.scoring.history import _stored_points, describe_snapshot_reasons
from leadsieve.scoring.models import ScoreSnapshot
from leadsieve.scoring.queries import get_active_scoring
from leadsieve.scoring.services import rescore_all, rescore_leads

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


@pytest.fixture
def busy_lead(make_lead):
    company = Company.objects.create(
        domain="acme.test", name="Acme", industry="software", size=5000
    )
    lead = make_lead(
        company=company,
        job_title="Head of Sales",
        decision_role="decision_maker",
        country="US",
        budget=Decimal("80000"),
        need="A CRM",
        timeline="now",
        do_not_contact=True,
    )
    for hours in (2, 30, 200, 900):
        Activity.objects.create(
            lead=lead, kind="page_visit", occurred_at=NOW - timedelta(hours=hours)
        )
    Activity.objects.create(lead=lead, kind="call", occurred_at=NOW - timedelta(days=3))
    return lead


def test_a_snapshot_stores_codes_and_points_only(busy_lead):
    rescore_leads([busy_lead.pk], as_of=NOW)
    snapshot = ScoreSnapshot.objects.get(lead=busy_lead)
    assert snapshot.reasons
    for item in snapshot.reasons:
        assert isinstance(item[0], str) and isinstance(item[1], float)
        assert len(item) == (3 if item[0].startswith("interest:") else 2)
    assert any(r[0] == "interest:page_visit" and r[2] == 4 for r in snapshot.reasons)


def test_stored_reasons_read_back_in_the_engines_own_words(busy_lead):
    rescore_all(progress=False, as_of=NOW)
    snapshot = ScoreSnapshot.objects.select_related("scorecard_version").get(lead=busy_lead)
    worded = describe_snapshot_reasons(snapshot.reasons, snapshot.scorecard_version.config)
    active = get_active_scoring()
    expected = active.scorecard.explain(
        lead_frame([busy_lead.pk]), activity_frame([busy_lead.pk], until=NOW), as_of=NOW
    )[0]
    assert [(r.dimension, r.code, r.label) for r in worded] == [
        (r.dimension, r.code, r.label) for r in expected
    ]
    np.testing.assert_allclose([r.points for r in worded], [r.points for r in expected], atol=2e-3)
    assert {"disqualify", "fit", "readiness", "interest"} <= {r.dimension for r in worded}


def test_snapshots_in_the_long_form_still_read_as_stored(busy_lead):
    long_form = [
        {"dimension": "fit", "code": "title_senior", "label": "Senior title (+10)", "points": 10.0}
    ]
    worded = describe_snapshot_reasons(long_form, None)
    assert [(r.dimension, r.code, r.label, r.points) for r in worded] == [
        ("fit", "title_senior", "Senior title (+10)", 10.0)
    ]


def test_an_unknown_code_reads_as_itself():
    (reason,) = describe_snapshot_reasons([["gone", 5.0]], None)
    assert (reason.code, reason.label, reason.points) == ("gone", "gone", 5.0)


def test_rounding_never_changes_a_shown_tenth_nor_reaches_a_cap():
    exact = np.array([2.54996, 0.0505, 29.9996, 30.0, -4.94996])
    stored = _stored_points(exact, 30.0)
    assert np.array_equal(np.round(stored, 1), np.round(exact, 1))
    assert stored[2] < 30.0 and stored[3] == 30.0
    assert np.all(np.abs(stored - exact) < 2e-3)
    assert np.array_equal(stored, stored.round(3))


def test_the_admin_shows_old_and_compact_reasons_in_words(busy_lead, admin_client):
    rescore_leads([busy_lead.pk], as_of=NOW)
    compact = ScoreSnapshot.objects.get(lead=busy_lead)
    old = ScoreSnapshot.objects.create(
        lead=busy_lead,
        reasons=[{"dimension": "fit", "code": "x", "label": "An old reason (+3)", "points": 3.0}],
    )
    page = admin_client.get(f"/admin/scoring/scoresnapshot/{compact.pk}/change/")
    assert page.status_code == 200
    assert "Disqualified: " in page.content.decode()
    assert "decaying by half every" in page.content.decode()
    page = admin_client.get(f"/admin/scoring/scoresnapshot/{old.pk}/change/")
    assert "An old reason (+3)" in page.content.decode()


def test_reasons_explained_with_the_scores_go_to_the_snapshot_leads_only(make_lead):
    old = make_lead(job_title="VP Sales")
    rescore_leads([old.pk], as_of=NOW)
    fresh = [make_lead(do_not_contact=True), make_lead(decision_role="decision_maker")]
    later = NOW + timedelta(minutes=1)
    result = rescore_leads([old.pk, *(lead.pk for lead in fresh)], as_of=later)
    assert result.n_snapshots == 2  # most leads were never scored: explained in the same pass
    assert ScoreSnapshot.objects.filter(lead=old).count() == 1
    card = get_active_scoring().scorecard
    for lead in fresh:
        snapshot = ScoreSnapshot.objects.select_related("scorecard_version").get(lead=lead)
        worded = describe_snapshot_reasons(snapshot.reasons, snapshot.scorecard_version.config)
        expected = card.explain(lead_frame([lead.pk]), activity_frame([lead.pk]), as_of=later)[0]
        assert [(r.code, r.label) for r in worded] == [(r.code, r.label) for r in expected]
        assert worded


def test_snapshots_are_indexed_by_lead_and_time_only_once(db):
    from django.db import connection

    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, ScoreSnapshot._meta.db_table)
    by_lead = [
        c["columns"] for c in constraints.values() if c["index"] and c["columns"][0] == "lead_id"
    ]
    assert by_lead == [["lead_id", "at"]]
