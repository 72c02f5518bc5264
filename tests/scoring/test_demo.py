from __future__ import annotations

import io
import random

from django.core.management import call_command

from leadsieve.leads.models import Lead, Outcome, RatingSource
from leadsieve.scoring.demo import DEMO_NOTE, seed_demo
from leadsieve.scoring.models import ModelVersion, ScorecardVersion, ScoreSnapshot


def test_seeding_twice_adds_one_draft_and_scores_leads(make_lead):
    lead = make_lead()
    seed_demo(random.Random(0))
    seed_demo(random.Random(0))
    draft = ScorecardVersion.objects.get(note=DEMO_NOTE)
    assert draft.status == "draft" and draft.number == 2
    assert not ModelVersion.objects.exists()  # no closed history here
    lead.refresh_from_db()
    assert lead.scored_at is not None


def test_the_demo_keeps_a_model_no_better_than_the_scorecard_without_letting_it_rate(db):
    # The browser walk's demo: its small history's outcomes do not follow the profile much,
    # so its model is stored with the decision and the scorecard keeps rating.
    call_command("load_demo", leads=160, seed=7, stdout=io.StringIO())
    version = ModelVersion.objects.get()
    assert not version.is_active
    assert version.decision.endswith("the scorecard keeps rating leads")
    assert not Lead.objects.filter(rating_source=RatingSource.MODEL).exists()
    # The closed leads' history still feeds the calibration page, from the scorecard.
    history = ScoreSnapshot.objects.filter(lead__outcome__in=(Outcome.WON, Outcome.LOST))
    assert history.exists()
    assert set(history.values_list("rating_source", flat=True)) == {RatingSource.SCORECARD}
    assert not history.filter(model_version__isnull=False).exists()
