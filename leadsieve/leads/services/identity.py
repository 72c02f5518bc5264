"""Identity: which stored lead a captured row is (dedupe by external id, email, phone).

A row matches the oldest live lead holding one of its keys inside the capture's scope
(``dedupe_scope``: what the capturing user may see), else an earlier row of its batch,
else it is new. A key held only by a lead outside the scope never merges: the pair is
opened as a likely duplicate for a person with that scope (``decide_targets``' crossed
pairs). ``write_batch`` and the one-lead writer share these steps.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import EmptyResultSet, FullResultSet
from django.db import connection

from leadsieve.accounts.models import User
from leadsieve.leads.models import DuplicateCandidate, Lead
from leadsieve.leads.queries import lead_scope_condition
from leadsieve.leads.services.bulk import LOOKUP_CHUNK, fetch_ids

KEY_PREFIXES = (("external_id", "x:"), ("email_key", "e:"), ("phone", "p:"))
KEY_LABELS = {"x": "external id", "e": "email", "p": "phone"}
Target = tuple[str, int]  # ("db", lead id) or ("new", position in the batch)


def dedupe_scope(user: User | None) -> tuple[str, list[Any]] | None:
    """The leads a capture by ``user`` may merge into, as an SQL condition on the lead
    table with its parameters: ``scope_leads_for_user``'s rule, compiled from the same
    ``lead_scope_condition`` the workspace reads through. ``None``: a capture without a
    user (web form, system import) may merge into any live lead.
    """
    if user is None:
        return None
    query = Lead.objects.filter(lead_scope_condition(user, prefix="")).query
    try:
        sql, params = query.get_compiler(connection=connection).compile(query.where)
    except EmptyResultSet:  # an inactive user sees nothing
        return "1 = 0", []
    except FullResultSet:
        return "1 = 1", []
    return sql, list(params)


def existing_leads(
    values: dict[str, list[Any]], scope: tuple[str, list[Any]] | None
) -> tuple[dict[str, int], dict[str, int]]:
    """Identity key → the oldest live lead holding it inside ``scope`` (``dedupe_scope``),
    and key → the oldest live lead outside it, for the keys no lead in scope holds.

    One lookup per key column either way: the scope is a third column of the same query.
    """
    found: dict[str, int] = {}
    outside: dict[str, int] = {}
    also, also_params = (f"CASE WHEN {scope[0]} THEN 1 ELSE 0 END", scope[1]) if scope else ("", [])
    for name, prefix in KEY_PREFIXES:
        wanted = sorted({v for v in values[name] if v})
        # NOT (... = ''): the condition of the partial lead_external_id index, word for
        # word, or SQLite will not use it (the values are never blank anyway).
        where = f"merged_into_id IS NULL AND NOT ({name} = '')"
        for row in fetch_ids(Lead, name, wanted, where=where, also=also, also_params=also_params):
            visible = row[2] if scope else True
            (found if visible else outside).setdefault(prefix + row[0], row[1])
    for key in found.keys() & outside.keys():
        del outside[key]
    return found, outside


def prefixed_keys(column: list[Any], prefix: str) -> list[str]:
    return [prefix + value if value else "" for value in column]


def decide_targets(
    identity: list[tuple[str, ...]], existing: dict[str, int], outside: dict[str, int]
) -> tuple[list[Target], list[int], dict[int, str], list[tuple[int, int, str]]]:
    """Each row's target: a stored lead in scope, an earlier row of the batch, or itself
    (new); and ``(row, lead, reason)`` for each stored lead outside the scope that holds
    one of a row's keys first claimed by this row, to open as a likely duplicate."""
    owner: dict[str, Target] = {key: ("db", pk) for key, pk in existing.items()}
    targets: list[Target] = []
    new_rows: list[int] = []
    matched_on: dict[int, str] = {}
    crossed: dict[tuple[int, int], list[str]] = {}
    for i, keys in enumerate(identity):
        target: Target | None = None
        for key in keys:
            if key:
                target = owner.get(key)
                if target is not None:
                    matched_on[i] = KEY_LABELS[key[0]]
                    break
        if target is None:
            target = ("new", i)
            new_rows.append(i)
        targets.append(target)
        for key in keys:
            if key and key not in owner:
                owner[key] = target
                if key in outside:
                    crossed.setdefault((i, outside[key]), []).append(KEY_LABELS[key[0]])
    return (
        targets,
        new_rows,
        matched_on,
        [(i, pk, _crossed_reason(labels)) for (i, pk), labels in crossed.items()],
    )


def _crossed_reason(labels: list[str]) -> str:
    return f"Same {' and '.join(labels)} (not merged: the capture could not see the other lead)"


def without_known_pairs(
    crossed: list[tuple[int, int, str]], targets: list[Target]
) -> list[tuple[int, int, str]]:
    """``crossed`` less the pairs already recorded: a row merged into a stored lead of the
    scope may name a lead outside it that was flagged against that lead before."""
    stored = sorted({(targets[i][1], pk) for i, pk, _ in crossed if targets[i][0] == "db"})
    if not stored:
        return crossed
    known: set[frozenset[int]] = set()
    for start in range(0, len(stored), LOOKUP_CHUNK // 2):
        ids = {pk for pair in stored[start : start + LOOKUP_CHUNK // 2] for pk in pair}
        known.update(
            frozenset(pair)
            for pair in DuplicateCandidate.objects.filter(
                lead_id__in=ids, duplicate_of_id__in=ids
            ).values_list("lead_id", "duplicate_of_id")
        )
    return [
        (i, pk, reason)
        for i, pk, reason in crossed
        if targets[i][0] != "db" or frozenset((targets[i][1], pk)) not in known
    ]
