"""The write half of capture: dedupe a clean batch against the database and itself, then
insert leads, activities, audit rows, merge records and likely-duplicate candidates with one
statement per table (``bulk.insert_rows``). Called only by
``leadsieve.leads.capture.capture_leads``, inside its transaction, after every value was
validated.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from operator import itemgetter
from typing import Any, Protocol

import pandas as pd
from django.utils import timezone

from leadsieve.accounts.models import Team, User
from leadsieve.engine.normalize import name_keys
from leadsieve.leads.models import (
    Activity,
    DuplicateCandidate,
    Lead,
    LeadChange,
    MergeKind,
    MergeRecord,
)
from leadsieve.leads.services.bulk import (
    LOOKUP_CHUNK,
    adapt,
    allocate_ids,
    concrete_field,
    db_datetime,
    db_json,
    id_block,
    insert_rows,
    lock_identity_keys,
    update_rows,
)
from leadsieve.leads.services.companies import KnownCompanies, resolve_companies
from leadsieve.leads.services.identity import (
    KEY_PREFIXES,
    Target,
    decide_targets,
    dedupe_scope,
    existing_leads,
    prefixed_keys,
    without_known_pairs,
)
from leadsieve.leads.services.likely_duplicates import (
    insert_duplicates,
    leads_by_name_and_company,
    likely_duplicates,
    name_company_pairs,
)

# Filled on the surviving lead when blank there (never overwritten).
FILL_FIELDS = (
    "first_name",
    "last_name",
    "name_key",
    "email",
    "email_key",
    "phone",
    "job_title",
    "company_name",
    "company_id",
    "website",
    "country",
    "city",
    "language",
    "need",
    "budget",
    "timeline",
    "decision_role",
    "external_id",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_term",
    "utm_content",
    "landing_page",
    "referrer",
    "expected_value",
    "source_id",
    "campaign_id",
    "team_id",
)
# Also changed by a merge: consent given, do-not-contact asked, new custom keys, last touch.
STATE_FIELDS = (
    *FILL_FIELDS,
    "consent",
    "consent_at",
    "consent_text",
    "do_not_contact",
    "do_not_contact_at",
    "custom",
    "last_activity_at",
)


class NewLeadScores(Protocol):
    """A scorer's answer (``NewLeadScorer``)."""

    @property
    def columns(self) -> Mapping[str, list[Any]]:
        """Lead columns to insert the new leads with (scores, status, ...), in their order."""

    @property
    def record(self) -> Callable[[], object]:
        """Writes what follows the insert (score history); called once the leads are in."""


# Scores a batch's new leads before their insert: called with their columns
# (``_new_lead_columns``, ids included) and activities (``_new_lead_activities``); answers
# ``None`` to insert them unscored. The pipeline passes one (``leadsieve.pipeline``).
NewLeadScorer = Callable[[dict[str, list[Any]], dict[str, list[Any]]], NewLeadScores | None]


@dataclass
class StagedBatch:
    """The half of ``write_batch`` that needs no database: the clean frame's columns as
    lists, each row's touch time and identity keys. An import stages the next chunk while
    the writer thread still inserts the one before (``deferred``)."""

    clean: pd.DataFrame
    positions: list[int]
    values: dict[str, list[Any]]
    occurred: list[datetime]
    identity: list[tuple[str, ...]]
    moment: datetime


def stage_batch(clean: pd.DataFrame, occurred_at: datetime | None = None) -> StagedBatch:
    """Stage ``clean`` (``clean_frame``'s columns) for ``write_batch``."""
    moment = timezone.now()
    values = {name: _as_list(clean[name]) for name in clean.columns}
    identity = list(
        zip(*(prefixed_keys(values[name], prefix) for name, prefix in KEY_PREFIXES), strict=True)
    )
    return StagedBatch(
        clean=clean,
        positions=[int(p) for p in clean.index],
        values=values,
        occurred=_occurred(clean, occurred_at, moment),
        identity=identity,
        moment=moment,
    )


def identity_keys(staged: StagedBatch) -> list[str]:
    """The keys a capture of ``staged`` locks (``lock_identity_keys``): each row's external
    id, email key and phone, and the name key of each company known by name only."""
    values = staged.values
    return [key for keys in staged.identity for key in keys if key] + [
        "c:" + key
        for key, domain in zip(values["company_key"], values["company_domain"], strict=True)
        if key and not domain
    ]


def write_batch(
    clean: pd.DataFrame,
    *,
    payloads: list[str],
    channel: str,
    via: str,
    source_ids: list[int | None],
    campaign_ids: list[int | None],
    user: User | None,
    team: Team | None,
    activity_kind: str,
    occurred_at: datetime | None,
    audit_created: bool = True,
    known_companies: KnownCompanies | None = None,
    staged: StagedBatch | None = None,
    score_new: NewLeadScorer | None = None,
) -> dict[int, tuple[int, bool, int, int | None]]:
    """Write the batch; returns ``{frame position: (lead id, created, activity id, merge id)}``.

    ``audit_created=False`` writes no "created" ``LeadChange`` per new lead (an import of a
    million rows): the lead's ``created_via``/``created_at`` and its capture activity (with
    the file and row) record the creation. Merges are audited per lead either way.
    ``known_companies``: the companies earlier batches of the same import resolved.
    ``staged``: ``stage_batch(clean, occurred_at)``, when the caller made it ahead.
    ``score_new``: scores the new leads before their insert (``NewLeadScorer``), so each is
    written once, with its scores; ``None`` (or a scorer answering ``None``) inserts them
    unscored, for the caller to score after its commit.

    On SQLite every read and id allocation comes before the first write, so that with an
    import's writer thread (``deferred``) the writes of this batch overlap the Python that
    follows (PostgreSQL, which has no writer thread, asks its sequence for the duplicate
    candidates' ids once their count is known).
    """
    count = len(clean)
    if count == 0:
        return {}
    if staged is None:
        staged = stage_batch(clean, occurred_at)
    moment, positions, values = staged.moment, staged.positions, staged.values
    occurred, identity = staged.occurred, staged.identity
    # Keys first, companies after, in every capture: a capture waiting for a key then
    # holds no company another capture waits for, and two captures creating a company
    # known by name only (its "c:" key) make it once.
    lock_identity_keys(identity_keys(staged))
    values["company_id"] = resolve_companies(
        clean["company_domain"], clean["company_name"], clean["company_key"], known_companies
    ).tolist()
    values["source_id"] = list(source_ids)
    values["campaign_id"] = list(campaign_ids)
    values["team_id"] = [team.pk if team else None] * count

    existing, outside = existing_leads(values, dedupe_scope(user))
    targets, new_rows, matched_on, crossed = decide_targets(identity, existing, outside)
    crossed = without_known_pairs(crossed, targets)
    lead_ids = dict(zip(new_rows, allocate_ids(Lead, len(new_rows)), strict=True))
    # The reads for what is decided after the leads insert was submitted: the pairs' stored
    # leads, the stored targets' states, the ids of every other table (for the duplicate
    # candidates, whose count is known only then, the first free one).
    pairs = name_company_pairs(values, new_rows)
    stored_pairs = leads_by_name_and_company(
        list(dict.fromkeys((name, company) for _, name, company in pairs))
    )
    states = _states(values, occurred, targets)
    merged = [i for i, target in enumerate(targets) if target != ("new", i)]
    activity_ids = allocate_ids(Activity, count)
    merge_ids = allocate_ids(MergeRecord, len(merged))
    change_ids = allocate_ids(LeadChange, (len(new_rows) if audit_created else 0) + len(merged))
    duplicate_ids = id_block(DuplicateCandidate) if pairs or crossed else _no_ids

    # Merges into the batch's own new leads change what those leads are inserted with.
    applied_by_row: dict[int, dict[str, list[Any]]] = {}
    for i in merged:
        if targets[i][0] == "new":
            applied_by_row[i] = _fill(states[targets[i]], _lead_values(values, i, occurred[i]))
    filled_new = [(target[1], state) for target, state in states.items() if target[0] == "new"]
    if filled_new:
        for name in STATE_FIELDS:
            column = values.setdefault(name, [None] * count)
            for i, state in filled_new:
                column[i] = state[name]

    def lead_of(target: Target) -> int:
        return target[1] if target[0] == "db" else lead_ids[target[1]]

    new_leads = _new_lead_columns(values, new_rows, lead_ids, occurred, channel, moment)
    scored = (
        score_new(new_leads, _new_lead_activities(targets, lead_ids, occurred, activity_kind))
        if score_new is not None and new_rows
        else None
    )
    if scored is not None:
        new_leads.update(scored.columns)
    # The writes, biggest first: with a writer thread, each runs while the next is built.
    if new_rows:
        insert_rows(Lead, new_leads, new_leads.pop("id"))
    # From here on, Python overlaps the writer: merges into stored leads, in row order.
    for i in merged:
        if targets[i][0] == "db":
            applied_by_row[i] = _fill(states[targets[i]], _lead_values(values, i, occurred[i]))
    merges = [(i, targets[i], applied_by_row[i]) for i in merged]
    insert_rows(
        Activity,
        {
            "lead_id": [
                lead_ids[i] if t[0] == "new" and t[1] == i else lead_of(t)
                for i, t in enumerate(targets)
            ],
            "kind": [activity_kind] * count,
            "occurred_at": db_datetimes(occurred),
            "channel": [channel] * count,
            "source_id": values["source_id"],
            "campaign_id": values["campaign_id"],
            "user_id": [user.pk if user else None] * count,
            "payload": payloads,
            "created_at": [db_datetime(moment)] * count,
        },
        activity_ids,
    )
    _update_survivors(states, merges, moment)

    insert_rows(
        MergeRecord,
        {
            "kind": [MergeKind.CAPTURE] * len(merges),
            "survivor_id": [lead_of(t) for _, t, _ in merges],
            "incoming": [db_json(_incoming(values, i, occurred[i], channel)) for i, _, _ in merges],
            "applied": [db_json(applied) for _, _, applied in merges],
            "moved_activity_ids": [db_json([activity_ids[i]]) for i, _, _ in merges],
            "via": [via[:60]] * len(merges),
            "created_at": [db_datetime(moment)] * len(merges),
            "created_by_id": [user.pk if user else None] * len(merges),
        },
        merge_ids,
    )

    changes: list[tuple[int, str, dict[str, list[Any]], str]] = []
    if audit_created:
        changes += [(lead_ids[i], "created", {}, f"Captured via {channel}.") for i in new_rows]
    changes += [
        (lead_of(t), "merged", applied, f"Capture matched on {matched_on[i]}; merge {merge_id}.")
        for (i, t, applied), merge_id in zip(merges, merge_ids, strict=True)
    ]
    insert_rows(
        LeadChange,
        {
            "lead_id": [c[0] for c in changes],
            "changed_at": [db_datetime(moment)] * len(changes),
            "user_id": [user.pk if user else None] * len(changes),
            "via": [via[:60]] * len(changes),
            "action": [c[1] for c in changes],
            "changes": [db_json(c[2]) if c[2] else "{}" for c in changes],
            "note": [c[3] for c in changes],
        },
        change_ids,
    )
    duplicates = _joined(
        [(lead_of(targets[i]), pk, reason) for i, pk, reason in crossed],
        likely_duplicates(pairs, stored_pairs, lead_ids),
    )
    insert_duplicates(duplicates, duplicate_ids(len(duplicates)), moment)
    if scored is not None:  # last: its audit rows take ids after the batch's own
        scored.record()

    merge_of = {i: merge_id for (i, _, _), merge_id in zip(merges, merge_ids, strict=True)}
    return {
        positions[i]: (lead_of(t), t == ("new", i), activity_ids[i], merge_of.get(i))
        for i, t in enumerate(targets)
    }


def _no_ids(count: int) -> list[int]:
    """The ids of a table this batch writes nothing to (no name + company pair, no candidate)."""
    if count:
        raise ValueError(f"{count} ids asked of a batch that allocated none")
    return []


def _as_list(column: pd.Series) -> list[Any]:
    """The column's values; an all-blank text column (most optional fields of an import)
    without converting each of its Arrow strings to Python."""
    if isinstance(column.dtype, pd.StringDtype) and not column.str.len().any():
        return [""] * len(column)
    values: list[Any] = column.tolist()
    return values


def _occurred(
    clean: pd.DataFrame, occurred_at: datetime | None, moment: datetime
) -> list[datetime]:
    """When each touch happened: as given, else the row's historical ``created_at``, else now."""
    if occurred_at is not None:
        return [occurred_at] * len(clean)
    if "created_at" in clean.columns and clean["created_at"].notna().any():
        return [moment if pd.isna(v) else v.to_pydatetime() for v in clean["created_at"]]
    return [moment] * len(clean)


def db_datetimes(column: Sequence[Any]) -> list[Any]:
    """Datetimes as the backend stores them, each distinct value adapted once."""
    memo: dict[Any, Any] = {}
    result = []
    for value in column:
        if value not in memo:
            memo[value] = _dt(value)
        result.append(memo[value])
    return result


def _joined(
    *found: list[tuple[int, int, str]],
) -> list[tuple[int, int, str]]:
    """The likely duplicates of several checks, one per pair of leads (reasons joined)."""
    reasons: dict[tuple[int, int], list[str]] = {}
    for duplicates in found:
        for lead, other, reason in duplicates:
            reasons.setdefault((lead, other), []).append(reason)
    return [(lead, other, "; ".join(why)) for (lead, other), why in reasons.items()]


def _states(
    values: dict[str, list[Any]], occurred: list[datetime], targets: list[Target]
) -> dict[Target, dict[str, Any]]:
    """Current values of every merge target: stored leads read once, new ones from the batch."""
    merged_into = {t for i, t in enumerate(targets) if t != ("new", i)}
    stored = sorted(pk for kind, pk in merged_into if kind == "db")
    states: dict[Target, dict[str, Any]] = {}
    for start in range(0, len(stored), LOOKUP_CHUNK):
        for row in Lead.objects.filter(id__in=stored[start : start + LOOKUP_CHUNK]).values(
            "id", *STATE_FIELDS
        ):
            states[("db", row.pop("id"))] = row
    for kind, i in merged_into:
        if kind == "new":
            states[(kind, i)] = _lead_values(values, i, occurred[i])
    return states


def _lead_values(values: dict[str, list[Any]], i: int, occurred: datetime) -> dict[str, Any]:
    row = {name: values[name][i] for name in FILL_FIELDS}
    consent = bool(values["consent"][i])
    dnc = bool(values["do_not_contact"][i])
    row.update(
        consent=consent,
        consent_at=occurred if consent else None,
        consent_text=values["consent_text"][i],
        do_not_contact=dnc,
        do_not_contact_at=occurred if dnc else None,
        custom=values["custom"][i] or {},
        last_activity_at=occurred,
    )
    return row


def _blank(value: Any) -> bool:
    return value is None or value == "" or (isinstance(value, float) and value != value)


def _fill(state: dict[str, Any], incoming: dict[str, Any]) -> dict[str, list[Any]]:
    """Fill the survivor's blanks from the incoming values; returns ``{field: [old, new]}``."""
    applied: dict[str, list[Any]] = {}

    def put(name: str, value: Any) -> None:
        applied.setdefault(name, [_json_safe(state.get(name)), None])[1] = _json_safe(value)
        state[name] = value

    for name in FILL_FIELDS:
        value = incoming.get(name)
        # _blank inlined: this runs for every field of every merge of an import
        if value is None or value == "" or (isinstance(value, float) and value != value):
            continue
        if _blank(state.get(name)):
            put(name, value)
    if ("first_name" in applied or "last_name" in applied) and "name_key" not in applied:
        key = name_keys(
            pd.Series([state["first_name"] or ""]), pd.Series([state["last_name"] or ""])
        )
        if key.iloc[0] != state.get("name_key"):
            put("name_key", key.iloc[0])
    if incoming["consent"] and not state.get("consent"):
        put("consent", True)
        put("consent_at", incoming["consent_at"])
        if incoming["consent_text"]:
            put("consent_text", incoming["consent_text"])
    if incoming["do_not_contact"] and not state.get("do_not_contact"):
        put("do_not_contact", True)
        put("do_not_contact_at", incoming["do_not_contact_at"])
    custom = dict(state["custom"]) if isinstance(state.get("custom"), dict) else {}
    added = {k: v for k, v in incoming["custom"].items() if _blank(custom.get(k))}
    if added:
        put("custom", {**custom, **added})
    last = state.get("last_activity_at")
    if last is None or incoming["last_activity_at"] > last:
        put("last_activity_at", incoming["last_activity_at"])
    return applied


def _json_safe(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, float) and value != value:
        return None
    return value


def _incoming(
    values: dict[str, list[Any]], i: int, occurred: datetime, channel: str
) -> dict[str, Any]:
    """What a capture merge needs to recreate the captured lead on unmerge."""
    row = {}
    for name in FILL_FIELDS:
        value = values[name][i]
        if value is None or value == "":  # the usual blanks, before any conversion
            continue
        value = _json_safe(value)
        if not _blank(value):
            row[name] = value
    for name in ("consent", "do_not_contact"):
        if values[name][i]:
            row[name] = True
    if values["consent_text"][i]:
        row["consent_text"] = values["consent_text"][i]
    if values["custom"][i]:
        row["custom"] = values["custom"][i]
    for name in ("outcome", "outcome_reason", "closed_at", "created_at"):
        if name in values and not _blank(values[name][i]) and values[name][i] is not pd.NaT:
            row[name] = _json_safe(_py(values[name][i]))
    row["created_via"] = channel
    row["occurred_at"] = occurred.isoformat()
    return row


def _py(value: Any) -> Any:
    return value.to_pydatetime() if isinstance(value, pd.Timestamp) else value


def _dt(value: Any) -> Any:
    if value is None or value is pd.NaT or (isinstance(value, float) and value != value):
        return None
    return db_datetime(_py(value))


def _insert_leads(
    values: dict[str, list[Any]],
    new_rows: list[int],
    lead_ids: dict[int, int],
    occurred: list[datetime],
    channel: str,
    moment: datetime,
) -> None:
    """Insert the new leads unscored (the one-lead writer, which scores in its request)."""
    if new_rows:
        columns = _new_lead_columns(values, new_rows, lead_ids, occurred, channel, moment)
        insert_rows(Lead, columns, columns.pop("id"))


def _new_lead_activities(
    targets: list[Target], lead_ids: dict[int, int], occurred: list[datetime], kind: str
) -> dict[str, list[Any]]:
    """The activities the batch adds to its new leads (each row's touch, merged rows' too),
    as ``NewLeadScorer`` takes them: ``lead_id``, ``kind``, ``occurred_at``, ``url``,
    ``subject`` (the model's defaults: the batch writes neither)."""
    rows = [i for i, target in enumerate(targets) if target[0] == "new"]
    return {
        "lead_id": [lead_ids[targets[i][1]] for i in rows],
        "kind": [kind] * len(rows),
        "occurred_at": [occurred[i] for i in rows],
        "url": [Activity._meta.get_field("url").get_default()] * len(rows),
        "subject": [Activity._meta.get_field("subject").get_default()] * len(rows),
    }


def _new_lead_columns(
    values: dict[str, list[Any]],
    new_rows: list[int],
    lead_ids: dict[int, int],
    occurred: list[datetime],
    channel: str,
    moment: datetime,
) -> dict[str, list[Any]]:
    """The new leads' columns as ``insert_rows`` takes them, ``id`` first."""
    if not new_rows:
        return {"id": []}
    memo: dict[Any, Any] = {}

    def when(value: Any) -> Any:
        if value is None:
            return None
        if value not in memo:
            memo[value] = _dt(value)
        return memo[value]

    take = itemgetter(*new_rows) if len(new_rows) > 1 else None

    def pick(name: str) -> list[Any]:
        column = values[name]
        return list(take(column)) if take else [column[i] for i in new_rows]

    columns: dict[str, list[Any]] = {name: pick(name) for name in FILL_FIELDS}
    columns["budget"] = [None if _blank(v) else v for v in columns["budget"]]
    columns["expected_value"] = [None if _blank(v) else v for v in columns["expected_value"]]
    consent = pick("consent")
    dnc = pick("do_not_contact")
    columns["consent"] = [bool(v) for v in consent]
    columns["consent_at"] = [
        when(values["consent_at"][i])
        if values.get("consent_at") and values["consent_at"][i]
        else when(occurred[i])
        if consent[k]
        else None
        for k, i in enumerate(new_rows)
    ]
    columns["consent_text"] = pick("consent_text")
    columns["do_not_contact"] = [bool(v) for v in dnc]
    columns["do_not_contact_at"] = [
        when(values["do_not_contact_at"][i])
        if values.get("do_not_contact_at") and values["do_not_contact_at"][i]
        else when(occurred[i])
        if dnc[k]
        else None
        for k, i in enumerate(new_rows)
    ]
    columns["custom"] = [db_json(v) if v else "{}" for v in pick("custom")]
    columns["created_via"] = [channel] * len(new_rows)
    stamp = db_datetime(moment)
    if "created_at" in values:
        columns["created_at"] = [
            stamp if _blank(v) or v is pd.NaT else when(v) for v in pick("created_at")
        ]
        columns["closed_at"] = [
            None if _blank(v) or v is pd.NaT else when(v) for v in pick("closed_at")
        ]
        columns["outcome"] = pick("outcome")
        columns["outcome_reason"] = pick("outcome_reason")
    else:
        columns["created_at"] = [stamp] * len(new_rows)
    columns["updated_at"] = [stamp] * len(new_rows)
    columns["last_activity_at"] = [
        when(values["last_activity_at"][i])
        if values.get("last_activity_at") and values["last_activity_at"][i]
        else when(occurred[i])
        for i in new_rows
    ]
    return {"id": [lead_ids[i] for i in new_rows], **columns}


def _update_survivors(
    states: dict[Target, dict[str, Any]],
    merges: list[tuple[int, Target, dict[str, list[Any]]]],
    moment: datetime,
) -> None:
    """Write what the merges changed on stored leads: one ``executemany`` per set of changed
    fields, so unchanged indexed columns (email key, phone, ...) are not rewritten."""
    changed: dict[int, set[str]] = {}
    for _, target, applied in merges:
        if target[0] == "db":
            changed.setdefault(target[1], set()).update(applied)
    groups: dict[tuple[str, ...], list[int]] = {}
    for pk, fields in changed.items():
        groups.setdefault(tuple(sorted(fields)), []).append(pk)
    stamp = db_datetime(moment)
    for names, pks in groups.items():
        model_fields = [concrete_field(Lead, name) for name in names]
        rows = [
            (*(adapt(f, states[("db", pk)][f.attname]) for f in model_fields), stamp, pk)
            for pk in pks
        ]
        update_rows(Lead, [*names, "updated_at"], rows)


def activity_payloads(
    submitted: pd.DataFrame, extra: dict[str, Any], row_numbers: Sequence[int | None] | None
) -> list[str]:
    """The submitted values of each row, as the touch's payload (JSON text, one per row).

    Serialised by pandas in C: a per-row ``json.dumps`` would cost more than the insert.
    """
    frame = pd.DataFrame(index=submitted.index)
    for name in submitted.columns:
        column = submitted[name]
        if isinstance(column.dtype, pd.StringDtype):
            column = column.str.replace("\x00", "", regex=False)
        elif column.dtype == object:
            column = column.map(without_nul)
        elif pd.api.types.is_float_dtype(column.dtype):
            column = column.where(column.abs() != float("inf"))
        frame[str(name)] = column
    for name, value in extra.items():
        frame[name] = [without_nul(value)] * len(frame)
    if row_numbers is not None:
        frame["row"] = list(row_numbers)
    if frame.columns.empty:
        return ["{}"] * len(frame)
    text = frame.to_json(
        orient="records", lines=True, force_ascii=False, date_format="iso", default_handler=str
    )
    # Not splitlines(): JSON escapes "\n" in strings, but U+2028 may appear raw.
    lines = text.rstrip("\n").split("\n") if len(frame) else []
    if len(lines) != len(frame):
        raise ValueError(f"{len(lines)} payloads for {len(frame)} rows")
    return lines


def without_nul(value: Any) -> Any:
    """PostgreSQL cannot store NUL in text or JSON, and JSON has no NaN or infinity: neither
    is ever meaningful in a submitted value."""
    if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
        return None
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, dict):
        return {str(k).replace("\x00", ""): without_nul(v) for k, v in value.items()}
    if isinstance(value, list):
        return [without_nul(v) for v in value]
    return value
