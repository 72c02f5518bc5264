"""Routing one arriving lead: ``assign_leads``' rules, loads and writes for a batch of one.

``assign_leads`` loads every rep who takes leads, their calendars and their loads, so that
a batch of thousands is placed from memory. For one lead most of that is for reps its rule
cannot pick, and reading the day's assignments of every rep cost more than the capture
itself. ``assign_arriving_lead`` reads the lead first (no lock), finds the rule it
matches, then loads, locks and counts only that rule's team (and its named owner), and
places and writes the lead with ``assign_leads``' own ``_Router.place`` and ``_write``: the
same strategies, capacities, reasons, queue and deadlines. If the locked lead no longer
matches that rule, it falls back to ``assign_leads``.

Locks are taken in ``assign_leads``' order (rep profiles by id, then the lead), so the two
never deadlock; on SQLite the ``BEGIN IMMEDIATE`` transaction serialises them anyway.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.db.models import Count, Q
from django.utils import timezone

from leadsieve.leads.models import Lead, Outcome, Status
from leadsieve.routing.conditions import RELATIONS, compile_conditions
from leadsieve.routing.models import Assignment, AssignmentRule
from leadsieve.routing.services import AssignmentResult, _Router, _write, assign_leads


class _RuleRouter(_Router):
    """``_Router``'s state for the reps one rule can pick (its team and named owner)."""

    def __init__(
        self, now: datetime, matchers: list[tuple[AssignmentRule, Any]], rule: AssignmentRule | None
    ) -> None:
        self.now = now
        self.turns = 0
        self.rules = [r for r, _ in matchers]
        self.matchers = matchers
        profiles: list[tuple[Any, ...]] = []
        if rule is not None:  # no rule: the lead is queued, no rep is read
            wanted = Q(user__team_id=rule.team_id)
            if rule.named_owner_id is not None:
                wanted |= Q(user_id=rule.named_owner_id)
            profiles = self._lock_profiles(wanted)
        self._load_reps(profiles)

    def _count_new_today(self, user_ids: list[int]) -> dict[int, int]:
        """``_Router._count_new_today`` counted by the database: one query per distinct
        start of day (reps of one zone share it) instead of a row per assignment."""
        by_start: dict[datetime, list[int]] = defaultdict(list)
        for user_id in user_ids:
            by_start[self.calendars[user_id].start_of_day(self.now)].append(user_id)
        counts: dict[int, int] = {}
        for start, ids in by_start.items():
            counts.update(
                Assignment.objects.filter(rep_id__in=ids, assigned_at__gte=start)
                .values("rep_id")
                .annotate(n=Count("id"))
                .values_list("rep_id", "n")
            )
        return counts


# Inside the pipeline's savepoint (``route_now``) it needs none of its own.
@transaction.atomic(savepoint=False)
def assign_arriving_lead(
    lead_id: int, *, now: datetime | None = None, via: str = "routing"
) -> AssignmentResult:
    """``assign_leads`` of the lead ``lead_id`` if it is open and not disqualified."""
    now = now or timezone.now()
    # With its team: the placement's reason names it.
    rules = list(
        AssignmentRule.objects.filter(is_active=True)
        .select_related("team")
        .order_by("position", "id")
    )
    used = sorted({c["field"].partition(".")[0] for r in rules for c in r.conditions} & RELATIONS)
    leads = (
        Lead.objects.filter(pk=lead_id, merged_into__isnull=True, outcome=Outcome.OPEN)
        .exclude(status=Status.DISQUALIFIED)
        .select_related(*used)
    )
    lead = leads.first()
    result = AssignmentResult()
    if lead is None:
        return result
    matchers = [(r, compile_conditions(r.conditions)) for r in rules]
    rule = _first_rule(matchers, lead)
    router = _RuleRouter(now, matchers, rule)
    # SQLite has no row locks: its transaction holds the database's write lock already.
    locked = leads.select_for_update(of=("self",)).first() if _row_locks() else lead
    if locked is None:
        return result
    if _first_rule(matchers, locked) != rule:  # changed since it was read: the general path
        return assign_leads(Lead.objects.filter(pk=lead_id), now=now, via=via)
    if locked.owner_id is not None:
        result.skipped += 1
        return result
    placement = router.place(locked)
    _write([placement], now=now, user=None, via=via, result=result, calendars=router.calendars)
    return result


def _row_locks() -> bool:
    return bool(connection.features.has_select_for_update)


def _first_rule(matchers: list[tuple[AssignmentRule, Any]], lead: Lead) -> AssignmentRule | None:
    """``_Router.place``'s choice of rule."""
    return next(
        (r for r, is_match in matchers if lead.team_id in (None, r.team_id) and is_match(lead)),
        None,
    )
