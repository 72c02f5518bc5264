"""What a person sets by hand: a status or a rating the scorecard then never overwrites."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from leadsieve.leads.models import Lead, LeadChange, Status
from leadsieve.scoring.reconciling import REASON_MAX_LENGTH
from leadsieve.scoring.rescoring import rescore_leads


def _validate_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Say why you override the score (the team sees it)."})
    if len(reason) > REASON_MAX_LENGTH:
        raise ValidationError({"reason": f"At most {REASON_MAX_LENGTH} characters."})
    return reason


def set_status_by_hand(
    lead: Lead, status: str, *, user: Any, reason: str, via: str = "web"
) -> Lead:  # Any: the user model (settings.AUTH_USER_MODEL)
    """A person sets the status; the scorecard never overwrites it until it is cleared."""
    set_statuses_by_hand([lead.pk], status, user=user, reason=reason, via=via)
    return Lead.objects.get(pk=lead.pk)


@transaction.atomic
def set_statuses_by_hand(
    lead_ids: Sequence[int], status: str, *, user: Any, reason: str, via: str = "web"
) -> int:  # Any: the user model
    """The same for many leads at once (bulk actions): one audit row per lead, all or none."""
    if status not in Status.values:
        raise ValidationError(
            {"status": f"'{status}' is not a status ({', '.join(Status.values)})."}
        )
    reason = _validate_reason(reason)
    locked = Lead.objects.select_for_update().filter(pk__in=list(lead_ids))
    before = list(locked.values_list("pk", "status", "status_is_manual"))
    locked.update(
        status=status, status_reason=reason, status_is_manual=True, updated_at=timezone.now()
    )
    LeadChange.objects.bulk_create(
        LeadChange(
            lead_id=pk,
            user=user,
            via=via,
            action="status_override",
            changes={"status": [old, status], "status_is_manual": [was_manual, True]},
            note=reason,
        )
        for pk, old, was_manual in before
    )
    return len(before)


@transaction.atomic
def set_rating_by_hand(
    lead: Lead, rating: int, *, user: Any, reason: str, via: str = "web"
) -> Lead:  # Any: the user model
    """A person sets the 1–100 rating; rescoring keeps it until it is cleared."""
    if isinstance(rating, bool) or not isinstance(rating, int) or not 1 <= rating <= 100:
        raise ValidationError(
            {"rating": f"The rating must be a whole number 1–100, not {rating!r}."}
        )
    reason = _validate_reason(reason)
    lead = Lead.objects.select_for_update().get(pk=lead.pk)
    changes = {"rating": [lead.rating, rating], "rating_is_manual": [lead.rating_is_manual, True]}
    lead.rating, lead.rating_is_manual = rating, True
    lead.updated_at = timezone.now()
    lead.save(update_fields=["rating", "rating_is_manual", "updated_at"])
    LeadChange.objects.create(
        lead=lead, user=user, via=via, action="rating_override", changes=changes, note=reason
    )
    return lead


def clear_manual_status(lead: Lead, *, user: Any, via: str = "web") -> Lead:  # Any: user model
    """Hand the status back to the scorecard and rescore the lead at once."""
    return _clear_manual(lead, "status_is_manual", "status_override_cleared", user=user, via=via)


def clear_manual_rating(lead: Lead, *, user: Any, via: str = "web") -> Lead:  # Any: user model
    """Hand the rating back to the scorecard/model and rescore the lead at once."""
    return _clear_manual(lead, "rating_is_manual", "rating_override_cleared", user=user, via=via)


@transaction.atomic
def _clear_manual(lead: Lead, flag: str, action: str, *, user: Any, via: str) -> Lead:
    lead = Lead.objects.select_for_update().get(pk=lead.pk)
    if not getattr(lead, flag):
        return lead
    Lead.objects.filter(pk=lead.pk).update(**{flag: False})
    LeadChange.objects.create(
        lead=lead, user=user, via=via, action=action, changes={flag: [True, False]}
    )
    rescore_leads([lead.pk])
    return Lead.objects.get(pk=lead.pk)
