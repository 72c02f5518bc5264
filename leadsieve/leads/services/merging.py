"""Merges a person decides (from the likely-duplicate queue), undoing any merge, and
flagging likely duplicates for that queue.

Nothing is deleted: the losing lead keeps its row with ``merged_into`` set, and the
``MergeRecord`` holds what is needed to put both leads back exactly as they were.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from leadsieve.accounts.models import User
from leadsieve.leads.models import (
    Activity,
    DuplicateCandidate,
    DuplicateStatus,
    Lead,
    LeadChange,
    MergeKind,
    MergeRecord,
)
from leadsieve.leads.services.bulk import concrete_field
from leadsieve.leads.services.writing import FILL_FIELDS

VIA_WEB = "web"


class MergeError(Exception):
    """The merge or unmerge is not possible (already merged, already undone, same lead)."""


def _stored(lead: Lead, name: str) -> Any:
    value = getattr(lead, name)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _restore(lead: Lead, name: str, value: Any) -> None:
    field = concrete_field(Lead, name)
    if field.is_relation:
        setattr(lead, name if name.endswith("_id") else f"{name}_id", value)
        return
    setattr(lead, name, None if value is None else field.to_python(value))


@transaction.atomic
def merge_leads(
    survivor: Lead, other: Lead, *, user: User | None, via: str = VIA_WEB
) -> MergeRecord:
    """Merge ``other`` into ``survivor``: fill the survivor's blanks, move the activities,
    mark ``other.merged_into`` and resolve their duplicate candidates.
    """
    survivor = Lead.objects.select_for_update().get(pk=survivor.pk)
    other = Lead.objects.select_for_update().get(pk=other.pk)
    if survivor.pk == other.pk:
        raise MergeError("A lead cannot be merged into itself.")
    if survivor.merged_into_id or other.merged_into_id:
        raise MergeError("One of the leads was already merged; undo that merge first.")
    applied: dict[str, list[Any]] = {}
    for name in FILL_FIELDS:
        if getattr(survivor, name) in (None, "") and getattr(other, name) not in (None, ""):
            applied[name] = [_stored(survivor, name), _stored(other, name)]
            setattr(survivor, name, getattr(other, name))
    added = {k: v for k, v in other.custom.items() if k not in survivor.custom}
    if added:
        applied["custom"] = [dict(survivor.custom), {**survivor.custom, **added}]
        survivor.custom = {**survivor.custom, **added}
    for flag in ("consent", "do_not_contact"):
        if getattr(other, flag) and not getattr(survivor, flag):
            for name in (flag, f"{flag}_at"):
                applied[name] = [_stored(survivor, name), _stored(other, name)]
                setattr(survivor, name, getattr(other, name))
    if other.last_activity_at and (
        survivor.last_activity_at is None or other.last_activity_at > survivor.last_activity_at
    ):
        applied["last_activity_at"] = [
            _stored(survivor, "last_activity_at"),
            _stored(other, "last_activity_at"),
        ]
        survivor.last_activity_at = other.last_activity_at
    moment = timezone.now()
    survivor.updated_at = moment
    survivor.save()
    moved = list(other.activities.values_list("id", flat=True))
    Activity.objects.filter(id__in=moved).update(lead=survivor)
    other.merged_into = survivor
    other.updated_at = moment
    other.save(update_fields=["merged_into", "updated_at"])
    record = MergeRecord.objects.create(
        kind=MergeKind.MANUAL,
        survivor=survivor,
        merged=other,
        applied=applied,
        moved_activity_ids=moved,
        via=via[:60],
        created_by=user,
        created_at=moment,
    )
    _pair(survivor, other).filter(status=DuplicateStatus.OPEN).update(
        status=DuplicateStatus.MERGED, resolved_at=moment, resolved_by=user
    )
    LeadChange.objects.create(
        lead=survivor,
        user=user,
        via=via[:60],
        action="merged",
        changes=applied,
        note=f"Lead {other.pk} merged in; merge {record.pk}.",
        changed_at=moment,
    )
    LeadChange.objects.create(
        lead=other,
        user=user,
        via=via[:60],
        action="merged_into",
        changes={"merged_into": [None, survivor.pk]},
        note=f"Merge {record.pk}.",
        changed_at=moment,
    )
    return record


@transaction.atomic
def unmerge(record: MergeRecord, *, user: User | None, via: str = VIA_WEB) -> Lead:
    """Undo a merge; returns the lead given back (the merged one, or for a capture merge
    the captured lead recreated from its incoming values)."""
    record = MergeRecord.objects.select_for_update().get(pk=record.pk)
    if record.is_undone():
        raise MergeError("This merge was already undone.")
    survivor = Lead.objects.select_for_update().get(pk=record.survivor_id)
    moment = timezone.now()
    for name, (old, _new) in record.applied.items():
        _restore(survivor, name, old)
    survivor.updated_at = moment
    survivor.save()
    if record.kind == MergeKind.CAPTURE:
        given_back = _recreate(record, moment)
    else:
        assert record.merged_id is not None  # a manual merge always names the merged lead
        given_back = Lead.objects.select_for_update().get(pk=record.merged_id)
        given_back.merged_into = None
        given_back.updated_at = moment
        given_back.save(update_fields=["merged_into", "updated_at"])
        _pair(survivor, given_back).filter(status=DuplicateStatus.MERGED).update(
            status=DuplicateStatus.OPEN, resolved_at=None, resolved_by=None
        )
    Activity.objects.filter(id__in=record.moved_activity_ids).update(lead=given_back)
    record.undone_at = moment
    record.undone_by = user
    record.save(update_fields=["undone_at", "undone_by"])
    reverted = {name: [new, old] for name, (old, new) in record.applied.items()}
    LeadChange.objects.create(
        lead=survivor,
        user=user,
        via=via[:60],
        action="unmerged",
        changes=reverted,
        note=f"Merge {record.pk} undone; lead {given_back.pk} given back.",
        changed_at=moment,
    )
    LeadChange.objects.create(
        lead=given_back,
        user=user,
        via=via[:60],
        action="unmerged",
        changes={"merged_into": [survivor.pk, None]},
        note=f"Merge {record.pk} undone.",
        changed_at=moment,
    )
    return given_back


def _recreate(record: MergeRecord, moment: datetime) -> Lead:
    incoming = dict(record.incoming)
    occurred = incoming.pop("occurred_at", None)
    created_via = incoming.pop("created_via", "")
    lead = Lead(created_via=created_via or Lead._meta.get_field("created_via").default)
    for name, value in incoming.items():
        if name in {"consent", "do_not_contact"}:
            setattr(lead, name, bool(value))
        else:
            _restore(lead, name, value)
    when = datetime.fromisoformat(occurred) if occurred else moment
    if "created_at" not in incoming:
        lead.created_at = when
    lead.last_activity_at = when
    lead.consent_at = when if lead.consent else None
    lead.do_not_contact_at = when if lead.do_not_contact else None
    lead.updated_at = moment
    lead.save()
    return lead


@transaction.atomic
def dismiss_duplicate(
    candidate: DuplicateCandidate, *, user: User | None, via: str = VIA_WEB
) -> DuplicateCandidate:
    """Mark a likely duplicate as not a duplicate; it leaves the review queue."""
    candidate = DuplicateCandidate.objects.select_for_update().get(pk=candidate.pk)
    if candidate.status != DuplicateStatus.OPEN:
        raise MergeError("This candidate was already resolved.")
    candidate.status = DuplicateStatus.DISMISSED
    candidate.resolved_at = timezone.now()
    candidate.resolved_by = user
    candidate.save(update_fields=["status", "resolved_at", "resolved_by"])
    LeadChange.objects.create(
        lead_id=candidate.lead_id,
        user=user,
        via=via[:60],
        action="duplicate_dismissed",
        changes={},
        note=f"Not a duplicate of lead {candidate.duplicate_of_id}.",
    )
    return candidate


@transaction.atomic
def flag_likely_duplicates(lead: Lead, reasons: Mapping[int, str]) -> list[DuplicateCandidate]:
    """Open a likely duplicate of ``lead`` for each ``{other lead id: reason}``, unless the
    pair was flagged before (either way round, resolved or not: a decision stands).

    For a change that gave ``lead`` an identity leads outside its author's scope hold:
    someone who sees both leads (``duplicates``) reviews them. Writes nothing on the others.
    """
    if not reasons:
        return []
    known = {
        frozenset(pair)
        for pair in DuplicateCandidate.objects.filter(
            Q(lead=lead, duplicate_of_id__in=list(reasons))
            | Q(lead_id__in=list(reasons), duplicate_of=lead)
        ).values_list("lead_id", "duplicate_of_id")
    }
    return DuplicateCandidate.objects.bulk_create(
        DuplicateCandidate(lead=lead, duplicate_of_id=other, reason=reason[:200])
        for other, reason in reasons.items()
        if frozenset((lead.pk, other)) not in known
    )


def _pair(a: Lead, b: Lead) -> Any:
    return DuplicateCandidate.objects.filter(Q(lead=a, duplicate_of=b) | Q(lead=b, duplicate_of=a))
