"""Reads for segments: which segments a user sees, and a segment as a lead-list filter.

Scoping: a user sees their own segments and the shared segments of their team (admins see
every shared segment too). Opening a segment never widens the lead scope: its filter is
applied on top of ``scope_leads_for_user``.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Q, QuerySet
from django.http import Http404, QueryDict

from leadsieve.segments.models import Segment

# Query-string keys a segment keeps: the list's filters, never its sort, page or segment.
SEGMENT_KEYS = (
    "q",
    "status",
    "fit_grade",
    "horizon",
    "source",
    "campaign",
    "owner",
    "rating_min",
    "rating_max",
    "created_from",
    "created_to",
    "activity_from",
    "activity_to",
    "team",
    "stage",
)


def visible_segments(user: Any) -> QuerySet[Segment]:
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return Segment.objects.none()
    visible = Q(owner=user)
    if user.is_admin_role():
        visible |= Q(is_shared=True)
    elif user.team_id is not None:
        visible |= Q(is_shared=True, team_id=user.team_id)
    return Segment.objects.filter(visible)


def list_segments_for_user(user: Any) -> QuerySet[Segment]:
    """Segments ``user`` may open: their own, and those shared with their team."""
    return (
        visible_segments(user)
        .select_related("owner", "team")
        .annotate(n_members=Count("members"))
        .order_by("name", "id")
    )


def list_own_segments(user: Any) -> QuerySet[Segment]:
    """The segments ``user`` owns: the ones they may rename, delete and add leads to."""
    return Segment.objects.filter(owner=user).order_by("name", "id")


def get_segment_for_user(user: Any, segment_id: int) -> Segment:
    """A segment ``user`` may open, or ``Http404``."""
    segment = list_segments_for_user(user).filter(pk=segment_id).first()
    if segment is None:
        raise Http404("No such segment.")
    return segment


def get_own_segment_for_user(user: Any, segment_id: int) -> Segment:
    """A segment ``user`` owns, or ``Http404`` (a shared segment is not theirs to change)."""
    segment = list_own_segments(user).filter(pk=segment_id).first()
    if segment is None:
        raise Http404("No such segment.")
    return segment


def clean_segment_query(query: str) -> str:
    """``query`` reduced to the filter keys a segment keeps, empty values dropped."""
    source = QueryDict(query)
    kept = QueryDict(mutable=True)
    for key in SEGMENT_KEYS:
        values = [value for value in source.getlist(key) if value.strip()]
        if values:
            kept.setlist(key, values)
    return kept.urlencode()
