"""Scoped reads for the duplicates review queue and a lead's merges.

A likely duplicate is shown only when *both* leads are in the user's scope
(``queries.scope_leads_for_user``): merging reads and changes both, so a rep never sees, or
merges into, a lead of another team. Anything else is a 404, like every workspace page.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet
from django.http import Http404

from leadsieve.leads.models import DuplicateCandidate, DuplicateStatus, Lead, MergeRecord
from leadsieve.leads.queries import lead_scope_condition

QUEUE_LIMIT = 50
MERGES_LIMIT = 20
LEAD_RELATIONS = ("company", "owner", "source")


@dataclass(frozen=True)
class DuplicateQueue:
    candidates: list[DuplicateCandidate]
    n_open: int


def _open_in_scope(user: Any) -> QuerySet[DuplicateCandidate]:
    # Joins on both leads, not ``IN (subquery)``: a team's scope is 100,000s of ids.
    return DuplicateCandidate.objects.filter(
        lead_scope_condition(user, prefix="lead__"),
        lead_scope_condition(user, prefix="duplicate_of__"),
        status=DuplicateStatus.OPEN,
    )


def _involving(lead_id: int) -> Q:
    return Q(lead_id=lead_id) | Q(duplicate_of_id=lead_id)


def list_duplicates_for_user(
    user: Any, *, lead_id: int | None = None, limit: int = QUEUE_LIMIT
) -> DuplicateQueue:
    """The open likely duplicates the user may resolve, oldest first, with both leads
    (only those involving ``lead_id`` when given)."""
    candidates = _open_in_scope(user)
    if lead_id is not None:
        candidates = candidates.filter(_involving(lead_id))
    relations = [f"{side}__{name}" for side in ("lead", "duplicate_of") for name in LEAD_RELATIONS]
    rows = list(candidates.select_related(*relations).order_by("created_at", "id")[:limit])
    n_open = len(rows) if len(rows) < limit else candidates.count()
    return DuplicateQueue(candidates=rows, n_open=n_open)


def get_duplicate_for_user(user: Any, candidate_id: int) -> DuplicateCandidate:
    """An open candidate whose two leads are in scope, or ``Http404``."""
    found = (
        _open_in_scope(user).select_related("lead", "duplicate_of").filter(pk=candidate_id).first()
    )
    if found is None:
        raise Http404("No such duplicate to review.")
    return found


def count_duplicates_for_lead(user: Any, lead: Lead) -> int:
    """How many open likely duplicates of ``lead`` the user may review."""
    return _open_in_scope(user).filter(_involving(lead.pk)).count()


def list_merges_for_lead(lead: Lead, *, limit: int = MERGES_LIMIT) -> list[MergeRecord]:
    """Merges into ``lead`` that can still be undone, newest first."""
    merges = MergeRecord.objects.filter(survivor=lead, undone_at__isnull=True)
    return list(
        merges.select_related("merged", "created_by").order_by("-created_at", "-id")[:limit]
    )


def get_merge_for_lead(lead: Lead, merge_id: int) -> MergeRecord:
    """A merge into ``lead`` (already in the user's scope) that is not undone, or ``Http404``."""
    found = MergeRecord.objects.filter(pk=merge_id, survivor=lead, undone_at__isnull=True).first()
    if found is None:
        raise Http404("No such merge.")
    return found
