from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from leadsieve.leads.models import Lead


def test_train_says_there_is_too_little_history(db):
    with pytest.raises(CommandError, match="Ratings keep coming from the scorecard"):
        call_command("train")


def test_rescore_rejects_a_bad_batch_size(db):
    with pytest.raises(CommandError, match="batch-size"):
        call_command("rescore", "--batch-size", "0")


def test_rescore_scores_open_leads_and_prints_the_rate(make_lead, capsys):
    leads = [make_lead() for _ in range(3)]
    call_command("rescore", "--no-progress")
    assert Lead.objects.filter(pk__in=[x.pk for x in leads], scored_at__isnull=False).count() == 3
    assert "rescored 3 leads" in capsys.readouterr().out
