from __future__ import annotations

import random

from leadsieve.scoring.demo import DEMO_NOTE, seed_demo
from leadsieve.scoring.models import ModelVersion, ScorecardVersion


def test_seeding_twice_adds_one_draft_and_scores_leads(make_lead):
    lead = make_lead()
    seed_demo(random.Random(0))
    seed_demo(random.Random(0))
    draft = ScorecardVersion.objects.get(note=DEMO_NOTE)
    assert draft.status == "draft" and draft.number == 2
    assert not ModelVersion.objects.exists()  # no closed history here
    lead.refresh_from_db()
    assert lead.scored_at is not None
