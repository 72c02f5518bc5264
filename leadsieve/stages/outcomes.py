"""Closing a lead as won or lost: a move to the pipeline's won or lost stage, with a reason.

One rule for the lead page, the board and the API (``POST /api/v1/leads/{id}/close``):
``close_lead`` checks the reason and the outcome, ``advance_stage`` sets the outcome, the
closing time and the reason and writes the ``StageChange`` and ``LeadChange`` history, and
the lead leaves its cadence. ``move_lead`` is the one entry for a stage picked by a person
(the lead page's stage form, a card dropped on the board): a won or lost stage closes the
lead through ``close_lead``, any other stage is a plain ``advance_stage``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction

from leadsieve.cadences.services import exit_cadence
from leadsieve.leads.models import Lead, Outcome
from leadsieve.stages.models import Stage, StageChange
from leadsieve.stages.services import advance_stage

CLOSED_OUTCOMES = (Outcome.WON, Outcome.LOST)


class OutcomeError(ValueError):
    """The lead cannot be closed that way (no reason, no such stage, already closed so)."""


def get_closing_stage(outcome: str) -> Stage | None:
    """The first active won (or lost) stage of the pipeline."""
    stages = Stage.objects.filter(is_active=True)
    found = stages.filter(is_won=True) if outcome == Outcome.WON else stages.filter(is_lost=True)
    return found.order_by("position", "id").first()


@transaction.atomic
def close_lead(
    lead: Lead,
    outcome: str,
    *,
    user: Any,
    reason: str,
    now: datetime | None = None,
    via: str = "web",
    stage: Stage | None = None,
) -> StageChange:
    """Mark ``lead`` won or lost with ``reason``; it also leaves its cadence.

    ``stage``: the closing stage a person picked (default: the first active one)."""
    if outcome not in CLOSED_OUTCOMES:
        raise OutcomeError(f"outcome: {outcome!r} must be won or lost")
    reason = reason.strip()
    if not reason:
        raise OutcomeError("reason: say why the lead was won or lost")
    if lead.outcome == outcome:
        raise OutcomeError(f"outcome: the lead is already {lead.get_outcome_display().lower()}")
    if stage is None:
        stage = get_closing_stage(outcome)
    elif not (stage.is_won if outcome == Outcome.WON else stage.is_lost):
        raise OutcomeError(f"stage: {stage.name} does not close a lead as {outcome}")
    if stage is None:
        raise OutcomeError(f"outcome: the pipeline has no active {outcome} stage; ask an admin")
    change = advance_stage(lead, stage, user=user, reason=reason, now=now, via=via)
    if change is None:
        raise OutcomeError(f"outcome: the lead is already in the {stage.name} stage")
    exit_cadence(lead, reason=f"{outcome}: {reason}", now=now)
    return change


def move_lead(
    lead: Lead,
    stage: Stage,
    *,
    user: Any,
    reason: str = "",
    now: datetime | None = None,
    via: str = "web",
) -> StageChange | None:
    """Move ``lead`` to ``stage``; a won or lost stage closes it (``close_lead``'s rules).

    None when the lead already is in ``stage``; ``OutcomeError`` when closing is refused.
    """
    if stage.is_won or stage.is_lost:
        outcome = Outcome.WON if stage.is_won else Outcome.LOST
        return close_lead(lead, outcome, user=user, reason=reason, now=now, via=via, stage=stage)
    return advance_stage(lead, stage, user=user, reason=reason, now=now, via=via)
