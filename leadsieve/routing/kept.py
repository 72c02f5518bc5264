"""Routing settings kept per process while unchanged: the active rules and deadline policies.

Every arriving lead needs the active rules (with their teams, their conditions compiled) and
the teams' deadline policies. Built through the ORM they cost about a millisecond of CPU per
capture (query compilation, model instances, compiling the conditions). A process keeps
what it built together with a *fingerprint*: the settings' rows themselves, read by one
fixed SQL statement (no ORM, no model instance) every time they are asked for. When any
row differs (a rule edited, reordered, switched off or deleted, a team renamed, a policy
changed), the settings are built again in that same call: an edit applies to the very next
lead, in every process, with no version column to bump and no signal to forget. The
fingerprint is read in the caller's transaction, so it sees what that transaction sees.

Callers must treat what they get as read-only: it is shared by the process's threads.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from django.db import connection

from leadsieve.accounts.models import Team
from leadsieve.routing.conditions import RELATIONS, compile_conditions
from leadsieve.routing.models import AssignmentRule, DeadlinePolicy

T = TypeVar("T")


@dataclass(frozen=True)
class ActiveRules:
    """The active rules in their order, each with its team loaded, and their matchers."""

    rules: list[AssignmentRule]
    matchers: list[tuple[AssignmentRule, Any]]  # Any: (lead) -> bool, compile_conditions'
    relations: list[str]  # the lead's relations some condition reads (sorted)


# name → ((database, key, rows), built value); replaced whole, never mutated.
# Any: each name keeps its own type of value.
_KEPT: dict[str, tuple[tuple[str, object, list[tuple[Any, ...]]], Any]] = {}


def kept_while_unchanged(
    name: str, sql: str, params: Sequence[Any], build: Callable[[], T], *, key: object = None
) -> T:
    """``build()``, or what it returned last time under ``name`` if the rows ``sql`` reads
    (with ``params``) and ``key`` (what else ``build`` depends on) are the same as then.
    ``sql`` may lock what it reads (routing locks the reps' profiles with the statement
    that fingerprints them)."""
    with connection.cursor() as cursor:
        cursor.execute(sql, list(params))
        rows = [tuple(row) for row in cursor.fetchall()]
    fingerprint = (f"{connection.vendor}:{connection.settings_dict['NAME']}", key, rows)
    kept = _KEPT.get(name)
    if kept is not None and kept[0] == fingerprint:
        value: T = kept[1]
        return value
    value = build()
    _KEPT[name] = (fingerprint, value)
    return value


def _rules_sql() -> str:
    rule, team = AssignmentRule._meta.db_table, Team._meta.db_table
    return (
        f'SELECT r.*, t.* FROM "{rule}" r LEFT JOIN "{team}" t ON t.id = r.team_id '
        "WHERE r.is_active ORDER BY r.position, r.id"
    )


def _build_rules() -> ActiveRules:
    rules = list(
        AssignmentRule.objects.filter(is_active=True)
        .select_related("team")
        .order_by("position", "id")
    )
    used = {c["field"].partition(".")[0] for r in rules for c in r.conditions} & RELATIONS
    return ActiveRules(
        rules=rules,
        matchers=[(r, compile_conditions(r.conditions)) for r in rules],
        relations=sorted(used),
    )


def get_active_rules() -> ActiveRules:
    """The active rules by position then id, with their teams and compiled conditions."""
    return kept_while_unchanged("rules", _rules_sql(), (), _build_rules)


def _build_policies() -> dict[tuple[int | None, str], DeadlinePolicy]:
    return {(p.team_id, p.horizon): p for p in DeadlinePolicy.objects.all()}


def get_deadline_policies() -> dict[tuple[int | None, str], DeadlinePolicy]:
    """Every team's deadline policy, by ``(team id, horizon)``."""
    sql = f'SELECT * FROM "{DeadlinePolicy._meta.db_table}" ORDER BY id'
    return kept_while_unchanged("policies", sql, (), _build_policies)


def forget_routing_settings() -> None:
    """Drop what this process kept (the next call builds again); for tests."""
    _KEPT.clear()
