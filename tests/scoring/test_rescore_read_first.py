"""SQLite rescores many touched leads (a bulk capture's) by reading and scoring them before it
takes the write lock: it must store what scoring inside the transaction stores, and never
overwrite what changed in between."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection, transaction
from django.utils import timezone

from tests.scoring.test_event_rescoring import SCORE_FIELDS, _varied_leads

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "sqlite", reason="reading before the write lock is SQLite's"
    ),
]


def _history() -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    from leadsieve.leads.models import LeadChange
    from leadsieve.scoring.models import ScoreSnapshot

    snapshots = list(
        ScoreSnapshot.objects.order_by("lead_id").values_list(
            "lead_id", "rating", "rating_band", "fit_grade", "status", "horizon", "reasons"
        )
    )
    changes = list(
        LeadChange.objects.filter(action="status_scored")
        .order_by("lead_id")
        .values_list("lead_id", "changes", "note")
    )
    return snapshots, changes


def _forget_scores() -> None:
    from leadsieve.leads.models import Lead, LeadChange
    from leadsieve.scoring.models import ScoreSnapshot

    ScoreSnapshot.objects.all().delete()
    LeadChange.objects.filter(action="status_scored").delete()
    Lead.objects.update(
        scored_at=None, rating=None, fit_grade="", horizon="", status="new", rating_source=""
    )


@pytest.mark.parametrize(
    ("n_leads", "explain_later"),
    [(120, True), (120, False), (520, True)],  # 520: past SMALL_WRITE, one UPDATE ... FROM
)
def test_leads_read_before_the_write_lock_are_stored_as_when_read_inside_it(
    make_lead: Callable[..., Any], n_leads: int, explain_later: bool
) -> None:
    from leadsieve.leads.models import Lead
    from leadsieve.scoring import rescoring, services

    assert n_leads >= rescoring.READ_FIRST_MIN_LEADS
    ids = [lead.pk for lead in _varied_leads(make_lead, n_leads)]
    when = timezone.now() + timedelta(minutes=1)
    with transaction.atomic():  # inside a transaction: read, scored and written in it
        inside = services.rescore_leads(ids, as_of=when, explain_later=explain_later)
    scores_inside = list(Lead.objects.order_by("id").values_list("id", *SCORE_FIELDS))
    history_inside = _history()
    _forget_scores()
    first = services.rescore_leads(ids, as_of=when, explain_later=explain_later)
    assert list(Lead.objects.order_by("id").values_list("id", *SCORE_FIELDS)) == scores_inside
    assert _history() == history_inside
    assert (first.n_scored, first.n_status_changed, first.n_snapshots) == (
        inside.n_scored,
        inside.n_status_changed,
        inside.n_snapshots,
    )
    assert inside.n_snapshots == len(ids)


def test_a_status_and_a_rating_set_by_hand_while_the_leads_were_scored_are_kept(
    make_lead: Callable[..., Any], alice: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from leadsieve.leads.models import Lead
    from leadsieve.scoring import rescoring, services
    from leadsieve.scoring.overrides import set_rating_by_hand, set_status_by_hand

    leads = _varied_leads(make_lead, rescoring.READ_FIRST_MIN_LEADS)
    ids = [lead.pk for lead in leads]
    real_score_leads = rescoring.score_leads

    def score_while_a_rep_edits(*args: Any, **kwargs: Any) -> Any:
        # Another request commits while this one scores what it read before.
        set_status_by_hand(leads[7], "disqualified", user=alice, reason="Asked us to stop")
        set_rating_by_hand(leads[8], 97, user=alice, reason="Met them at the fair")
        return real_score_leads(*args, **kwargs)

    monkeypatch.setattr(rescoring, "score_leads", score_while_a_rep_edits)
    result = services.rescore_leads(ids, explain_later=True)
    edited = Lead.objects.get(pk=leads[7].pk)
    assert (edited.status, edited.status_is_manual) == ("disqualified", True)
    rated = Lead.objects.get(pk=leads[8].pk)
    assert (rated.rating, rated.rating_is_manual) == (97, True)
    assert result.n_scored == len(ids)
    assert Lead.objects.filter(pk__in=ids, scored_at__isnull=True).count() == 0
