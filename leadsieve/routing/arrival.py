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
from django.db.models import Q, QuerySet
from django.utils import timezone

from leadsieve.accounts.models import Team, User
from leadsieve.leads.models import Lead, Outcome, Status
from leadsieve.routing.calendar import WorkCalendar
from leadsieve.routing.kept import get_active_rules, kept_while_unchanged
from leadsieve.routing.loads import count_assigned_since
from leadsieve.routing.models import AssignmentRule, RepProfile
from leadsieve.routing.queries import CalendarRow, get_kept_calendars
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
            profiles = _lock_rule_profiles(rule)
        self._load_reps(profiles)

    def _build_calendars(self, rows: list[CalendarRow]) -> dict[int, WorkCalendar]:
        return get_kept_calendars(rows, around=self.now)

    def _count_new_today(self, user_ids: list[int]) -> dict[int, int]:
        """``_Router._count_new_today`` counted by the database: one query per distinct
        start of day (reps of one zone share it) instead of a row per assignment."""
        by_start: dict[datetime, list[int]] = defaultdict(list)
        for user_id in user_ids:
            by_start[self.calendars[user_id].start_of_day(self.now)].append(user_id)
        counts: dict[int, int] = {}
        for start, ids in by_start.items():
            counts.update(count_assigned_since(ids, start))
        return counts


# Inside the pipeline's savepoint (``route_now``) it needs none of its own.
@transaction.atomic(savepoint=False)
def assign_arriving_lead(
    lead_id: int, *, now: datetime | None = None, via: str = "routing"
) -> AssignmentResult:
    """``assign_leads`` of the lead ``lead_id`` if it is open and not disqualified."""
    now = now or timezone.now()
    # With their teams (the placement's reason names it), kept while unchanged.
    active = get_active_rules()
    leads = (
        Lead.objects.filter(pk=lead_id, merged_into__isnull=True, outcome=Outcome.OPEN)
        .exclude(status=Status.DISQUALIFIED)
        .select_related(*active.relations)
    )
    lead = _only(leads)
    result = AssignmentResult()
    if lead is None:
        return result
    matchers = active.matchers
    rule = _first_rule(matchers, lead)
    router = _RuleRouter(now, matchers, rule)
    # SQLite has no row locks: its transaction holds the database's write lock already.
    locked = _only(leads.select_for_update(of=("self",))) if _row_locks() else lead
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


def _lock_rule_profiles(rule: AssignmentRule) -> list[tuple[Any, ...]]:
    """``_Router._lock_profiles`` of the reps ``rule`` can pick (its team and named owner).

    One plain statement locks the profiles (PostgreSQL; SQLite's transaction holds the
    write lock already) and reads every column of them ``_lock_profiles`` depends on: while
    those rows are unchanged, the process reuses the tuples it built (``kept``), and the
    ORM query runs only after an edit (a rep's hours, capacity, name, team or zone).
    """
    profile, user, team = RepProfile._meta.db_table, User._meta.db_table, Team._meta.db_table
    sql = (
        "SELECT p.*, u.username, u.first_name, u.last_name, u.team_id, u.is_active, "
        f'u.timezone, t.timezone FROM "{profile}" p JOIN "{user}" u ON u.id = p.user_id '
        f'LEFT JOIN "{team}" t ON t.id = u.team_id '
        "WHERE (u.team_id = %s OR p.user_id = %s) AND p.accepts_leads AND u.is_active "
        "ORDER BY p.id" + (" FOR UPDATE OF p" if _row_locks() else "")
    )
    wanted = Q(user__team_id=rule.team_id)
    if rule.named_owner_id is not None:
        wanted |= Q(user_id=rule.named_owner_id)
    return kept_while_unchanged(
        f"profiles:{rule.team_id}:{rule.named_owner_id}",
        sql,
        [rule.team_id, rule.named_owner_id],
        lambda: _Router._lock_profiles(wanted),
    )


def _only(leads: QuerySet[Lead]) -> Lead | None:
    """The one lead of a query by primary key, or None: ``first()`` without its ORDER BY
    (a third of the ORM's work on this hot read, for a single row anyway)."""
    found = list(leads[:1])
    return found[0] if found else None


def _row_locks() -> bool:
    return bool(connection.features.has_select_for_update)


def _first_rule(matchers: list[tuple[AssignmentRule, Any]], lead: Lead) -> AssignmentRule | None:
    """``_Router.place``'s choice of rule."""
    return next(
        (r for r, is_match in matchers if lead.team_id in (None, r.team_id) and is_match(lead)),
        None,
    )
