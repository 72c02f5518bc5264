"""Moving a lead through the pipeline: one service, one audit trail."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from leadsieve.leads.models import Lead, LeadChange, Outcome
from leadsieve.stages.models import Stage, StageChange

STAGE_ACTION = "stage"


@transaction.atomic
def advance_stage(
    lead: Lead,
    stage: Stage,
    *,
    user: Any,
    reason: str = "",
    now: datetime | None = None,
    via: str = "web",
) -> StageChange | None:
    """Move ``lead`` to ``stage``; won/lost stages close it (outcome and ``closed_at``).

    Returns the ``StageChange``, or ``None`` when the lead is already in that stage (so a
    repeated call, e.g. from a retried task, records nothing twice). Moving a closed lead
    back to an open stage reopens it.
    """
    now = now or timezone.now()
    locked = Lead.objects.select_for_update().get(pk=lead.pk)
    if locked.stage_id == stage.pk:
        return None
    changes: dict[str, list[Any]] = {"stage": [locked.stage_id, stage.pk]}
    updates: dict[str, Any] = {"stage": stage, "stage_changed_at": now, "updated_at": now}
    if stage.is_won or stage.is_lost:
        outcome = Outcome.WON if stage.is_won else Outcome.LOST
        updates.update(outcome=outcome, closed_at=now, outcome_reason=reason[:300])
        changes["outcome"] = [locked.outcome, outcome]
    elif locked.outcome != Outcome.OPEN:
        updates.update(outcome=Outcome.OPEN, closed_at=None, outcome_reason="")
        changes["outcome"] = [locked.outcome, Outcome.OPEN]
    change = StageChange.objects.create(
        lead=locked,
        from_stage_id=locked.stage_id,
        to_stage=stage,
        changed_at=now,
        user=user,
        reason=reason[:300],
    )
    LeadChange.objects.create(
        lead=locked,
        changed_at=now,
        user=user,
        via=via,
        action=STAGE_ACTION,
        changes=changes,
        note=reason[:300],
    )
    Lead.objects.filter(pk=lead.pk).update(**updates)
    for name, value in updates.items():
        setattr(lead, name, value)
    return change
