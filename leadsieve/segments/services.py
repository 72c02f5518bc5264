"""Writes for segments: save, rename, share, delete, and put leads on a segment.

Callers pass leads already loaded through the user's lead scope: these services trust it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from leadsieve.accounts.models import User
from leadsieve.leads.models import Lead
from leadsieve.segments.models import Segment, SegmentMember
from leadsieve.segments.queries import clean_segment_query


@transaction.atomic
def save_segment(
    owner: User, name: str, *, query: str = "", is_shared: bool = False, is_list: bool = False
) -> Segment:
    """A new segment of ``owner``'s filters; shared segments show to the owner's team.

    A list (``is_list``) starts empty and holds the leads added to it.
    """
    now = timezone.now()
    return Segment.objects.create(
        name=name.strip(),
        owner=owner,
        team_id=owner.team_id,
        is_shared=is_shared,
        query=clean_segment_query(query),
        is_list=is_list,
        created_at=now,
        updated_at=now,
    )


@transaction.atomic
def update_segment(segment: Segment, *, name: str, is_shared: bool) -> Segment:
    """Rename a segment or change who sees it (its filter and members stay)."""
    segment.name = name.strip()
    segment.is_shared = is_shared
    segment.updated_at = timezone.now()
    segment.save(update_fields=["name", "is_shared", "updated_at"])
    return segment


@transaction.atomic
def delete_segment(segment: Segment) -> None:
    """Delete a segment and its member list; the leads themselves are untouched."""
    segment.delete()


@transaction.atomic
def add_leads_to_segment(
    segment: Segment, leads: Sequence[Lead], *, user: User, now: datetime | None = None
) -> int:
    """Put ``leads`` on ``segment`` (which becomes a list); returns how many were new on it."""
    now = now or timezone.now()
    present = set(
        SegmentMember.objects.filter(segment=segment, lead__in=leads).values_list(
            "lead_id", flat=True
        )
    )
    new = [
        SegmentMember(segment=segment, lead=lead, added_by=user, added_at=now)
        for lead in leads
        if lead.pk not in present
    ]
    SegmentMember.objects.bulk_create(new, ignore_conflicts=True)
    Segment.objects.filter(pk=segment.pk).update(updated_at=now, is_list=True)
    segment.is_list = True
    return len(new)
