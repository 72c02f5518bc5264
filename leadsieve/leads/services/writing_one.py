"""``write_batch`` for one clean row, without frames: the single-lead capture's write half.

The same steps in the same order, through the same helpers (``identity``: dedupe lookup and
scope; ``likely_duplicates``: same name at the same company; ``writing``: identity locks,
merge fills, lead/activity/merge/audit inserts), on one-element value lists. Only company
resolution, which ``write_batch`` does with pandas over a whole batch, is written here for
one row, with the rules of ``companies.resolve_companies``. Called inside the caller's
transaction.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils import timezone

from leadsieve.accounts.models import Team, User
from leadsieve.engine.normalize_value import company_name_key
from leadsieve.leads.models import (
    Activity,
    DuplicateCandidate,
    Lead,
    LeadChange,
    MergeKind,
    MergeRecord,
)
from leadsieve.leads.services.bulk import (
    allocate_ids,
    db_datetime,
    db_json,
    insert_rows,
    lock_identity_keys,
)
from leadsieve.leads.services.companies import _fetch, _insert_companies
from leadsieve.leads.services.identity import (
    KEY_PREFIXES,
    decide_targets,
    dedupe_scope,
    existing_leads,
    without_known_pairs,
)
from leadsieve.leads.services.likely_duplicates import (
    insert_duplicates,
    leads_by_name_and_company,
    likely_duplicates,
    name_company_pairs,
)
from leadsieve.leads.services.writing import (
    STATE_FIELDS,
    _fill,
    _incoming,
    _insert_leads,
    _joined,
    _lead_values,
    _states,
    _update_survivors,
    db_datetimes,
)


def write_one(
    clean: dict[str, Any],
    *,
    payload: str,
    channel: str,
    via: str,
    source_id: int | None,
    campaign_id: int | None,
    user: User | None,
    team: Team | None,
    activity_kind: str,
    occurred_at: datetime | None,
) -> tuple[int, bool, int, int | None]:
    """Write one clean row: ``(lead id, created, activity id, merge id)``."""
    moment = timezone.now()
    occurred = [occurred_at or moment]
    values: dict[str, list[Any]] = {name: [value] for name, value in clean.items()}
    identity = [tuple(prefix + v if (v := clean[name]) else "" for name, prefix in KEY_PREFIXES)]
    # Keys first, companies after, as ``write_batch`` does (see there).
    lock_identity_keys(
        [key for key in identity[0] if key]
        + (
            ["c:" + clean["company_key"]]
            if clean["company_key"] and not clean["company_domain"]
            else []
        )
    )
    values["company_id"] = [
        resolve_company(clean["company_domain"], clean["company_name"], clean["company_key"])
    ]
    values["source_id"] = [source_id]
    values["campaign_id"] = [campaign_id]
    values["team_id"] = [team.pk if team else None]
    existing, outside = existing_leads(values, dedupe_scope(user))
    targets, new_rows, matched_on, crossed = decide_targets(identity, existing, outside)
    crossed = without_known_pairs(crossed, targets)
    target = targets[0]
    created = target == ("new", 0)
    lead_id = allocate_ids(Lead, 1)[0] if created else target[1]
    pairs = name_company_pairs(values, new_rows)
    stored_pairs = leads_by_name_and_company(
        list(dict.fromkeys((name, company) for _, name, company in pairs))
    )
    states = _states(values, occurred, targets)
    activity_id = allocate_ids(Activity, 1)[0]
    merge_ids = [] if created else allocate_ids(MergeRecord, 1)
    merge_id = merge_ids[0] if merge_ids else None
    user_id = user.pk if user else None
    stamp = db_datetime(moment)

    _insert_leads(values, new_rows, {0: lead_id}, occurred, channel, moment)
    applied = {} if created else _fill(states[target], _lead_values(values, 0, occurred[0]))
    insert_rows(
        Activity,
        {
            "lead_id": [lead_id],
            "kind": [activity_kind],
            "occurred_at": db_datetimes(occurred),
            "channel": [channel],
            "source_id": [source_id],
            "campaign_id": [campaign_id],
            "user_id": [user_id],
            "payload": [payload],
            "created_at": [stamp],
        },
        [activity_id],
    )
    if not created:
        _update_survivors(states, [(0, target, applied)], moment)
        insert_rows(
            MergeRecord,
            {
                "kind": [MergeKind.CAPTURE],
                "survivor_id": [lead_id],
                "incoming": [db_json(_incoming(values, 0, occurred[0], channel))],
                "applied": [db_json(applied)],
                "moved_activity_ids": [db_json([activity_id])],
                "via": [via[:60]],
                "created_at": [stamp],
                "created_by_id": [user_id],
            },
            merge_ids,
        )
    change = (
        ("created", {}, f"Captured via {channel}.")
        if created
        else ("merged", applied, f"Capture matched on {matched_on[0]}; merge {merge_id}.")
    )
    insert_rows(
        LeadChange,
        {
            "lead_id": [lead_id],
            "changed_at": [stamp],
            "user_id": [user_id],
            "via": [via[:60]],
            "action": [change[0]],
            "changes": [db_json(change[1]) if change[1] else "{}"],
            "note": [change[2]],
        },
        allocate_ids(LeadChange, 1),
    )
    duplicates = _joined(
        [(lead_id, pk, reason) for _, pk, reason in crossed],
        likely_duplicates(pairs, stored_pairs, {0: lead_id}),
    )
    if duplicates:
        insert_duplicates(duplicates, allocate_ids(DuplicateCandidate, len(duplicates)), moment)
    return lead_id, created, activity_id, merge_id


def resolve_company(domain: str, name: str, name_key: str) -> int | None:
    """``companies.resolve_companies`` for one row: by domain, else by name key; creates the
    company when missing (named after the stated name, else the domain)."""
    if domain:
        found = _fetch("domain", [domain])
        if domain not in found:
            _insert_companies(
                [domain], [name or domain], [company_name_key(name)], ignore_conflicts=True
            )
            found = _fetch("domain", [domain])
        return found.get(domain)
    if name_key:
        found = _fetch("name_key", [name_key])
        if name_key not in found:
            _insert_companies([""], [name], [name_key])
            found = _fetch("name_key", [name_key])
        return found.get(name_key)
    return None


__all__ = ["STATE_FIELDS", "resolve_company", "write_one"]
