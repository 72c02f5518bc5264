"""Likely duplicates: a new lead with the same name at the same company as a stored lead
(or an earlier lead of its batch) is flagged for a person to review, never merged.

``write_batch`` and the one-lead writer (``writing_one``) call these inside the capture's
transaction: the pairs are read before the first write, the candidates inserted with the
batch's other rows.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

import pandas as pd
from django.db import connection

from leadsieve.leads.models import Company, DuplicateCandidate, DuplicateStatus, Lead
from leadsieve.leads.services.bulk import db_datetime, fetch_ids, insert_rows, json_rows

DUPLICATES_PER_LEAD = 5


# (row, name key, company id) of a new lead with a name at a company: ``name_company_pairs``.
Pair = tuple[int, str, int]


def name_company_pairs(values: dict[str, list[Any]], new_rows: list[int]) -> list[Pair]:
    """(row, name key, company id) of each new lead with a name and a company, in batch
    order: its company row, and every company whose name folds to the same key ("ACME Inc."
    from a gmail address and acme.test from a work address), each company once per lead.
    Reads the companies by name key, so it runs before the batch's first write. Plain
    Python: a batch's few thousand pairs cost pandas more in building frames than in work.
    """
    names = [values["name_key"][i] or "" for i in new_rows]
    keys = [values["company_key"][i] or "" for i in new_rows]
    company_ids = [values["company_id"][i] for i in new_rows]
    known = [not pd.isna(pk) for pk in company_ids]
    rows = [j for j in range(len(new_rows)) if names[j] and (known[j] or keys[j])]
    if not rows:
        return []
    by_key: dict[str, list[int]] = defaultdict(list)
    for key, pk in fetch_ids(Company, "name_key", sorted({keys[j] for j in rows} - {""})):
        by_key[key].append(int(pk))
    pairs: list[Pair] = []
    for j in rows:
        direct = [int(company_ids[j])] if known[j] else []
        found = by_key.get(keys[j], []) if keys[j] else []
        pairs += [(new_rows[j], names[j], pk) for pk in dict.fromkeys(direct + found)]
    return pairs


def likely_duplicates(
    pairs: list[Pair],
    stored: dict[tuple[str, int], list[int]],
    lead_ids: dict[int, int],
) -> list[tuple[int, int, str]]:
    """(new lead id, lead it may duplicate, reason): same name at the same company.

    ``pairs``: ``name_company_pairs``; ``stored``: the stored leads of each pair
    (``leads_by_name_and_company``). A new lead may duplicate stored leads and the batch's
    earlier new leads; each (name, company) keeps its first ``DUPLICATES_PER_LEAD`` leads,
    and each new lead is flagged against at most that many (the oldest).
    """
    rank: list[int] = []  # how many earlier pairs of the batch share the (name, company)
    counted: dict[tuple[str, int], int] = {}
    for _, name, company in pairs:
        group = (name, company)
        rank.append(counted.get(group, 0))
        counted[group] = rank[-1] + 1
    # Leads of the group before each pair's lead: stored ones, then the batch's earlier ones.
    seen = [
        r + len(stored.get((name, company), ()))
        for r, (_, name, company) in zip(rank, pairs, strict=True)
    ]
    matched = [p for p, n in enumerate(seen) if n > 0]
    if not matched:
        return []
    # The first leads of each group that has a match: stored ones, then the batch's.
    firsts = {(pairs[p][1], pairs[p][2]): list(stored.get(pairs[p][1:], ())) for p in matched}
    for (row, name, company), r in zip(pairs, rank, strict=True):
        kept = firsts.get((name, company))
        if kept is not None and r < DUPLICATES_PER_LEAD and len(kept) < DUPLICATES_PER_LEAD:
            kept.append(lead_ids[row])
    matches: dict[int, set[int]] = {}
    names: dict[int, str] = {}
    for p in matched:
        row, name, company = pairs[p]
        visible = firsts[(name, company)][: min(DUPLICATES_PER_LEAD, seen[p])]
        matches.setdefault(row, set()).update(visible)
        names[row] = name
    found: list[tuple[int, int, str]] = []
    for i in sorted(matches):
        reason = f"Same name ({names[i]}) at the same company"[:200]
        found += [(lead_ids[i], pk, reason) for pk in sorted(matches[i])[:DUPLICATES_PER_LEAD]]
    return found


def leads_by_name_and_company(pairs: list[tuple[str, int]]) -> dict[tuple[str, int], list[int]]:
    """Stored, non-merged leads for each (name key, company id).

    The pairs go to a temporary table joined on the composite index: a row-value ``IN``
    would make SQLite scan every lead.
    """
    stored: dict[tuple[str, int], list[int]] = {}
    if not pairs:
        return stored
    table = connection.ops.quote_name(Lead._meta.db_table)
    text = json_rows(pairs) if connection.vendor == "sqlite" else None
    if text is not None:
        # The pairs as a JSON list, the outer loop probing the composite index.
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT l.name_key, l.company_id, l.id FROM json_each(%s) AS p "
                f"CROSS JOIN {table} l WHERE l.name_key = p.value ->> 0 "
                f"AND l.company_id = p.value ->> 1 AND l.merged_into_id IS NULL ORDER BY l.id",
                [text],
            )
            rows = cursor.fetchall()
        for name_key, company_id, pk in rows:
            kept = stored.setdefault((name_key, company_id), [])
            if len(kept) < DUPLICATES_PER_LEAD:
                kept.append(pk)
        return stored
    if connection.vendor == "postgresql":
        # The pairs as two arrays, one statement: a temporary table filled row by row cost
        # a statement per pair (a 1,000-lead bulk call: a third of its writing time).
        sql = (
            f"SELECT l.name_key, l.company_id, l.id FROM unnest(%s::text[], %s::bigint[]) "
            f"AS p(name_key, company_id) JOIN {table} l ON l.name_key = p.name_key "
            f"AND l.company_id = p.company_id WHERE l.merged_into_id IS NULL ORDER BY l.id"
        )
        params: list[Any] = [[p[0] for p in pairs], [p[1] for p in pairs]]
    else:  # SQLite with pairs JSON cannot carry (NUL): a temporary table
        sql = (
            # CROSS JOIN: SQLite keeps the pairs as the outer loop and probes the index.
            f"SELECT l.name_key, l.company_id, l.id FROM leadsieve_name_company p "
            f"CROSS JOIN {table} l WHERE l.name_key = p.name_key "
            f"AND l.company_id = p.company_id AND l.merged_into_id IS NULL ORDER BY l.id"
        )
        params = []
    with connection.cursor() as cursor:
        if not params:
            cursor.execute(
                "CREATE TEMPORARY TABLE IF NOT EXISTS leadsieve_name_company "
                "(name_key VARCHAR(300) NOT NULL, company_id BIGINT NOT NULL)"
            )
            cursor.execute("DELETE FROM leadsieve_name_company")
            cursor.executemany("INSERT INTO leadsieve_name_company VALUES (%s, %s)", pairs)
        cursor.execute(sql, params)
        for name_key, company_id, pk in cursor.fetchall():
            kept = stored.setdefault((name_key, company_id), [])
            if len(kept) < DUPLICATES_PER_LEAD:
                kept.append(pk)
        if not params:
            cursor.execute("DELETE FROM leadsieve_name_company")
    return stored


def insert_duplicates(
    duplicates: list[tuple[int, int, str]], ids: list[int], moment: datetime
) -> None:
    insert_rows(
        DuplicateCandidate,
        {
            "lead_id": [d[0] for d in duplicates],
            "duplicate_of_id": [d[1] for d in duplicates],
            "reason": [d[2][:200] for d in duplicates],
            "status": [DuplicateStatus.OPEN] * len(duplicates),
            "created_at": [db_datetime(moment)] * len(duplicates),
        },
        ids,
    )
