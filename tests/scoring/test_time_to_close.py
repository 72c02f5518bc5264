"""Time to decision in the product: trained with the model, it sets the horizon; the lead page
says when a lead is likely to decide, and on what basis."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from leadsieve.engine import time_to_close as engine_ttc
from leadsieve.engine.time_to_close import TimeToCloseModel
from leadsieve.leads.models import Lead, Outcome
from leadsieve.scoring import time_to_close
from leadsieve.scoring.queries import get_active_scoring
from leadsieve.scoring.rescoring import rescore_leads
from leadsieve.scoring.training import train_model

FAST = {"gbm_max_rounds": 60, "gbm_early_stopping": 10, "n_inner_folds": 3, "lr_cs": (0.1,)}
START = datetime(2025, 1, 1, tzinfo=UTC)
NOW = datetime(2026, 1, 1, tzinfo=UTC)
# Days a lead takes to decide, on average: decision makers within two weeks, users in months.
MEAN_DAYS = {"decision_maker": 10.0, "user": 200.0}
API = {"channel": "api", "via": "test"}


def make_dated_history(
    n: int = 600, *, seed: int = 0, same_time: bool = False, mean_days: Any = MEAN_DAYS
) -> None:
    """Leads captured over the year before NOW; each decides after an exponential time whose
    mean depends on the role (or after 20 days exactly, with ``same_time``); those whose
    decision falls after NOW are still open."""
    rng = np.random.default_rng(seed)
    leads = []
    for i in range(n):
        role = ("decision_maker", "user")[i % 2]
        created = START + timedelta(days=float(rng.uniform(0, 330)))
        took = 20.0 if same_time else float(rng.exponential(mean_days[role]))
        decided_at = created + timedelta(days=took)
        won = rng.random() < (0.6 if role == "decision_maker" else 0.3)
        is_open = decided_at > NOW
        leads.append(
            Lead(
                email=f"p{i}@history.test",
                email_key=f"p{i}@history.test",
                decision_role=role,
                created_at=created,
                outcome=Outcome.OPEN if is_open else Outcome.WON if won else Outcome.LOST,
                closed_at=None if is_open else decided_at,
            )
        )
    Lead.objects.bulk_create(leads)


def two_new_leads(make_lead: Callable[..., Any], **values: Any) -> tuple[Any, Any]:
    """A decision maker without a timeline and a user who says "now", captured at NOW."""
    maker = make_lead(decision_role="decision_maker", created_at=NOW, **values)
    user = make_lead(decision_role="user", timeline="now", created_at=NOW, **values)
    rescore_leads([maker.pk, user.pk], as_of=NOW)
    maker.refresh_from_db()
    user.refresh_from_db()
    return maker, user


@pytest.fixture
def trained(db: None) -> Any:
    make_dated_history()
    with time_machine.travel(NOW, tick=False):
        return train_model(min_closed=200, model_params=FAST)


# --- failure paths first ---------------------------------------------------------------------


def test_it_learns_nothing_when_every_lead_took_the_same_time(db: None) -> None:
    make_dated_history(same_time=True)
    with time_machine.travel(NOW, tick=False):
        version = train_model(min_closed=200, model_params=FAST)
    assert version.time_to_close == ""
    assert "same time to decide" in version.metrics["time_to_close"]["skipped"]
    line = time_to_close.describe_time_to_close(version.metrics["time_to_close"])
    assert line.startswith("time to decision: not learned (every closed lead took the same")
    assert get_active_scoring().time_to_close is None


def test_it_learns_nothing_from_too_few_closing_dates(db: None) -> None:
    make_dated_history(60)
    Lead.objects.filter(outcome__in=[Outcome.WON, Outcome.LOST]).update(closed_at=None)
    text, figures = time_to_close.fit_time_to_close(_spec(), now=NOW)
    assert text == ""
    assert figures["n_decided"] == 0
    assert "only 0 closed leads have a closing date" in figures["skipped"]


def test_it_is_not_used_when_it_ranks_leads_no_better_than_chance(db: None) -> None:
    make_dated_history(mean_days={"decision_maker": 60.0, "user": 60.0})
    text, figures = time_to_close.fit_time_to_close(_spec(), now=NOW)
    assert text == ""
    assert figures["holdout"]["cindex"] < time_to_close.MIN_CINDEX
    assert "no better than chance" in figures["skipped"]


def test_a_lead_closed_before_it_was_captured_is_left_out(db: None) -> None:
    make_dated_history(200)
    first = Lead.objects.filter(outcome=Outcome.WON).first()
    assert first is not None
    Lead.objects.filter(pk=first.pk).update(closed_at=first.created_at - timedelta(days=3))
    text, figures = time_to_close.fit_time_to_close(_spec(), now=NOW)
    assert figures["n_left_out_closed_before_captured"] == 1
    assert figures["n_leads"] == 199
    assert text


def _spec() -> Any:
    from leadsieve.scoring.frames import feature_spec

    return feature_spec()


# --- the horizon: the rules without history, the model with it -----------------------------


def test_without_a_time_to_decision_the_horizon_comes_from_the_rules(
    make_lead: Callable[..., Any],
) -> None:
    maker, user = two_new_leads(make_lead)
    assert user.horizon == "short"  # "now" is a short timeline in the default rules
    assert user.horizon_reason == "plans to buy this month"
    assert maker.horizon == "long"
    assert maker.horizon_reason.startswith("not buying soon")


def test_with_a_time_to_decision_the_horizon_follows_the_history(
    trained: Any, make_lead: Callable[..., Any]
) -> None:
    assert trained.time_to_close
    maker, user = two_new_leads(make_lead)
    # Decision makers decided within two weeks on average: short, whatever the timeline says.
    assert maker.horizon == "short"
    assert maker.horizon_reason.startswith("likely to decide within 90 days (90–100 %")
    # Users took 200 days on average: P(within 90 days) = 1 - exp(-90/200) = 36 %, so long,
    # although the rules would make a "now" lead short.
    assert user.horizon == "long"
    assert user.horizon_reason.startswith("not likely to decide within 90 days (30–40 %")
    assert "decisions of" in user.horizon_reason


def test_a_captured_lead_gets_its_horizon_from_the_history(trained: Any) -> None:
    from leadsieve.leads.capture import capture_leads
    from leadsieve.pipeline import ArrivalScorer, receive_lead

    with time_machine.travel(NOW, tick=False):
        # One lead (written, then scored by id) and a bulk call (scored before its insert,
        # from the values the writer inserts: capture times as text).
        receive_lead({"email": "dm@new.test", "decision_role": "decision_maker"}, **API)
        capture_leads(
            [
                {"email": "dm2@new.test", "decision_role": "decision_maker"},
                {"email": "u@new.test", "decision_role": "user", "timeline": "now"},
            ],
            score_new=ArrivalScorer(as_of=NOW),
            **API,
        )
    leads = {lead.email: lead for lead in Lead.objects.filter(email__endswith="@new.test")}
    assert [leads[e].horizon for e in ("dm@new.test", "dm2@new.test", "u@new.test")] == [
        "short",
        "short",
        "long",
    ]
    assert leads["dm2@new.test"].horizon_reason.startswith("likely to decide within 90 days")
    assert leads["u@new.test"].horizon_reason.startswith("not likely to decide within 90 days")


def test_a_lead_open_longer_is_judged_on_the_time_it_has_left(trained: Any) -> None:
    model = get_active_scoring().time_to_close
    assert model is not None
    ages = time_to_close.lead_ages_days(
        np.array(["2025-12-01T00:00:00+00:00", "2025-12-31T00:00:00+00:00", None], dtype=object),
        NOW,
    )
    np.testing.assert_allclose(ages, [31.0, 1.0, 0.0])


# --- stored with the model version, reloaded identically -------------------------------------


def test_it_is_stored_with_the_model_version_and_reloads_identically(trained: Any) -> None:
    model = get_active_scoring().time_to_close
    assert model is not None
    assert model.to_json() == TimeToCloseModel.from_json(trained.time_to_close).to_json()
    assert model.to_json() == trained.time_to_close
    figures = trained.metrics["time_to_close"]
    assert figures["n_decided"] == Lead.objects.exclude(outcome=Outcome.OPEN).count()
    assert figures["holdout"]["cindex"] > 0.7  # the role drives the time: easy to rank
    assert figures["holdout"]["cal90_gap"] < figures["holdout"]["cal90_gap_km"]
    line = time_to_close.describe_time_to_close(figures)
    assert line.startswith(f"time to decision: learned from 600 leads ({figures['n_decided']} ")
    assert f"concordance {figures['holdout']['cindex']}, 90-day calibration gap" in line
    assert time_to_close.HORIZON_DAYS == engine_ttc.HORIZON_DAYS
    assert time_to_close.SHORT_RANGE_DAYS == engine_ttc.SHORT_RANGE_DAYS


# --- the lead page ---------------------------------------------------------------------------


def test_the_lead_page_says_when_a_lead_is_likely_to_decide_and_why(
    trained: Any, make_lead: Callable[..., Any], client: Client, alice: Any
) -> None:
    client.force_login(alice)
    maker, user = two_new_leads(make_lead, team=alice.team)
    with time_machine.travel(NOW, tick=False):
        page = client.get(reverse("leads:detail", args=[maker.pk])).content.decode()
    # Mean 10 days: the median of an exponential is 10·ln 2 ≈ 7 days, so ~1 or 2 weeks.
    assert "likely to decide within ~1 week<" in page or "likely to decide within ~2 weeks" in page
    assert f"from the time to decision of {trained.n_rows:,}" not in page  # all leads, not closed
    assert "leads (" in page and "decided), trained 2026-01-01; open 0 days" in page
    assert "within 30 days" in page and "within 180 days" in page

    with time_machine.travel(NOW, tick=False):
        page = client.get(reverse("leads:detail", args=[user.pk])).content.decode()
    # Median 200·ln 2 ≈ 139 days = 20 weeks; learned from 300 users, half of them still open.
    weeks = int(re.search(r'id="time-to-decision">likely to decide within ~(\d+) weeks', page)[1])
    assert 16 <= weeks <= 26


def test_the_lead_page_names_the_rules_as_the_basis_without_history(
    make_lead: Callable[..., Any], client: Client, alice: Any
) -> None:
    client.force_login(alice)
    lead = make_lead(team=alice.team)
    page = client.get(reverse("leads:detail", args=[lead.pk])).content.decode()
    assert "Time to decision" not in page  # not scored yet: no horizon to explain either
    rescore_leads([lead.pk])
    page = client.get(reverse("leads:detail", args=[lead.pk])).content.decode()
    assert "Horizon from the scorecard&#x27;s rules (no time to decision in use" in page
    assert "likely to decide within" not in page


def test_the_lead_page_says_nothing_of_it_once_the_lead_is_closed(
    trained: Any, make_lead: Callable[..., Any], client: Client, alice: Any
) -> None:
    client.force_login(alice)
    lead = make_lead(team=alice.team, outcome=Outcome.WON, closed_at=NOW)
    page = client.get(reverse("leads:detail", args=[lead.pk])).content.decode()
    assert "Time to decision" not in page
