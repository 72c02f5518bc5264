"""Writes behind /api/v1/: tokens, idempotent lead creation, partial updates, activities.

Every lead write goes through the capture service (create, bulk) or writes its
``LeadChange`` audit row here (update); views never touch the ORM.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets
import threading
from collections.abc import Callable, Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any

import pandas as pd
from django.db import IntegrityError, connection, transaction
from django.db.models import Case, When
from django.utils import timezone

from leadsieve.accounts.models import User
from leadsieve.api.models import ApiToken, IdempotencyKey
from leadsieve.api.queries import TOKEN_PREFIX, hash_token
from leadsieve.leads.capture import (
    BatchOutcome,
    CaptureOutcome,
    CaptureRejected,
    CleanBatch,
    FieldError,
    RowResult,
    capture_leads,
    clean_frame,
    clean_rows,
    stage_cleaned,
)
from leadsieve.leads.capture_one import CleanOne, clean_one
from leadsieve.leads.models import (
    Activity,
    ActivityKind,
    Campaign,
    Channel,
    Lead,
    LeadChange,
    Source,
)
from leadsieve.leads.queries import lead_scope_condition
from leadsieve.leads.services.activities import record_activity
from leadsieve.leads.services.bulk import lock_identity_keys
from leadsieve.leads.services.merging import flag_likely_duplicates
from leadsieve.leads.services.writing import StagedBatch, identity_keys
from leadsieve.pipeline import ArrivalScorer, receive_batch, receive_lead, rescore_on_commit

PREFIX_BYTES = 6
SECRET_BYTES = 32
LAST_USED_PRECISION = dt.timedelta(minutes=1)
# Fields whose clean value capture derives together with a key column.
DERIVED_KEYS = {"email": ("email_key",), "first_name": ("name_key",), "last_name": ("name_key",)}
IDENTITY_FIELDS = ("email", "phone", "external_id", "first_name", "last_name")
# On SQLite, one bulk capture at a time per server process. A bulk call is some 150 ms of
# Python: several at once in one process only share its interpreter lock (GIL), and the
# thread holding the database's write lock then waits for the GIL after each statement,
# so every writer of the server queues behind it. One at a time, each process's call runs
# at full speed, and while one process writes the other cleans its next batch. PostgreSQL
# has no such lock: a call spends as long waiting for the database as running Python, and
# calls sharing no identity key now overlap there (``lock_identity_keys``), so a thread
# waiting on its statements leaves the GIL to another call's cleaning.
BULK_CAPTURES = threading.Lock()


class IdempotencyConflict(Exception):
    """The key was already used with a different body."""


@dataclass(frozen=True)
class StoredResponse:
    """What the API answered (or answers again, on a retry with the same key)."""

    status_code: int
    body: dict[str, Any]
    replayed: bool


def via_for(token: ApiToken | None) -> str:
    return f"api:{token.prefix}" if token is not None else "api"


# --- Tokens ------------------------------------------------------------------------------


@transaction.atomic
def create_api_token(user: User, *, name: str = "") -> tuple[ApiToken, str]:
    """A new token for ``user``; the plain token is returned once and never stored."""
    prefix = secrets.token_hex(PREFIX_BYTES)
    raw = f"{TOKEN_PREFIX}{prefix}_{secrets.token_urlsafe(SECRET_BYTES)}"
    token = ApiToken.objects.create(
        user=user, name=name[:80], prefix=prefix, secret_hash=hash_token(raw)
    )
    return token, raw


@transaction.atomic
def revoke_api_token(token: ApiToken) -> ApiToken:
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
    return token


def touch_api_token(token: ApiToken) -> None:
    """Record use at most once a minute: a read must not cost a write every time."""
    now = timezone.now()
    if token.last_used_at is not None and now - token.last_used_at < LAST_USED_PRECISION:
        return
    with transaction.atomic():
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    token.last_used_at = now


# --- Creating leads ---------------------------------------------------------------------------


def request_hash(body: Mapping[str, Any]) -> str:
    """The body's fingerprint: key order and spacing do not matter, values do."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _origin(values: dict[str, Any]) -> tuple[Source | None, Campaign | None, list[FieldError]]:
    errors: list[FieldError] = []
    source_id = values.pop("source_id", None)
    campaign_id = values.pop("campaign_id", None)
    source = Source.objects.filter(pk=source_id).first() if source_id is not None else None
    if source_id is not None and source is None:
        errors.append(FieldError("source_id", f"No source with id {source_id}."))
    campaign = None
    if campaign_id is not None:
        campaign = Campaign.objects.filter(pk=campaign_id).select_related("source").first()
        if campaign is None:
            errors.append(FieldError("campaign_id", f"No campaign with id {campaign_id}."))
        elif source is None:
            source = campaign.source
    return source, campaign, errors


def _capture_one(
    values: CleanOne, origin: dict[str, Any], *, user: User, via: str
) -> CaptureOutcome:
    source, campaign, errors = _origin(origin)
    if errors:
        raise CaptureRejected(errors)
    return receive_lead(
        values,
        channel=Channel.API,
        via=via,
        source=source,
        campaign=campaign,
        user=user,
        team=user.team,
    )


def _refuse_in_order(
    origin: dict[str, Any], *, user: User, key: str | None, fingerprint: str
) -> None:
    """For refused values, what was refused before them when the values were cleaned
    inside the transaction: a reused key with another body, then an unknown origin."""
    if key is not None:
        stored = IdempotencyKey.objects.filter(user=user, key=key).first()
        if stored is not None and stored.request_hash != fingerprint:
            raise IdempotencyConflict(key) from None
    if origin:
        errors = _origin(dict(origin))[2]
        if errors:
            raise CaptureRejected(errors) from None


def create_lead_via_api(
    values: Mapping[str, Any],
    *,
    user: User,
    via: str,
    render: Callable[[CaptureOutcome], dict[str, Any]],
    idempotency_key: str | None = None,
) -> StoredResponse:
    """Capture one lead; with an ``idempotency_key`` at most once per user and key.

    The values are cleaned before the transaction and, without a key, the answer rendered
    after it: on SQLite the transaction holds the database's one write lock, which every
    other capture waits for. The key row is inserted first, in the same transaction as
    the lead: a concurrent request with the same key blocks on the unique index until
    this one commits, then replays the stored response. Raises ``IdempotencyConflict``
    when the key was used with another body, ``CaptureRejected`` when the values are
    refused (nothing is stored, so a corrected retry with the same key is accepted).
    """
    fingerprint = request_hash(values)
    given = {k: v for k, v in values.items() if v is not None}
    origin = {name: given.pop(name) for name in ORIGIN_FIELDS if name in given}
    try:
        cleaned = clean_one(given)
    except CaptureRejected:
        _refuse_in_order(origin, user=user, key=idempotency_key, fingerprint=fingerprint)
        raise
    with transaction.atomic():
        record = None
        if idempotency_key is not None:
            try:
                with transaction.atomic():
                    record = IdempotencyKey.objects.create(
                        user=user, key=idempotency_key, request_hash=fingerprint
                    )
            except IntegrityError:
                stored = IdempotencyKey.objects.get(user=user, key=idempotency_key)
                if stored.request_hash != fingerprint:
                    raise IdempotencyConflict(idempotency_key) from None
                return StoredResponse(stored.status_code or 200, stored.response, replayed=True)
        outcome = _capture_one(cleaned, origin, user=user, via=via)
        status = 201 if outcome.created else 200
        if record is not None:
            body = render(outcome)
            record.status_code = status
            record.response = body
            record.lead = outcome.lead
            record.save(update_fields=["status_code", "response", "lead"])
            return StoredResponse(status, body, replayed=False)
    return StoredResponse(status, render(outcome), replayed=False)


ORIGIN_FIELDS = ("source_id", "campaign_id")
Origin = tuple[Source | None, Campaign | None]


@dataclass(frozen=True)
class PreparedBatch:
    """A bulk call's rows worked out before its transaction: each row's origin (its
    ``source_id``/``campaign_id`` looked up), the rows grouped by origin, and each group
    cleaned (``clean_rows``) and staged, so the write transaction (the one SQLite
    serialises) holds only the database work. ``origin_keys`` are what the origins were
    looked up from, to check them again inside the transaction.
    """

    origin_keys: dict[tuple[Any, Any], tuple[tuple[int | None, int | None], tuple[FieldError, ...]]]
    origin_errors: dict[int, list[FieldError]]
    groups: list[tuple[Origin, list[int], CleanBatch, StagedBatch]]
    count: int


def _origins(
    values: Sequence[Mapping[str, Any]],
) -> tuple[dict[tuple[Any, Any], tuple[Origin, list[FieldError]]], list[tuple[Any, Any]]]:
    """Each distinct (source_id, campaign_id) pair looked up once, and each row's pair."""
    pairs = [(row.get("source_id"), row.get("campaign_id")) for row in values]
    found: dict[tuple[Any, Any], tuple[Origin, list[FieldError]]] = {}
    for pair in dict.fromkeys(pairs):
        given = {name: value for name, value in zip(ORIGIN_FIELDS, pair, strict=True)}
        source, campaign, errors = _origin({k: v for k, v in given.items() if v is not None})
        found[pair] = ((source, campaign), errors)
    return found, pairs


def _origin_key(origin: Origin) -> tuple[int | None, int | None]:
    source, campaign = origin
    return (source.pk if source else None, campaign.pk if campaign else None)


def prepare_bulk(rows: Sequence[Mapping[str, Any]]) -> PreparedBatch:
    """Look up the rows' origins, group the rows by origin and clean and stage each group.

    Reads only (sources and campaigns, when rows name them): call it before the write
    transaction; ``create_leads_via_api`` checks the origins again inside it.
    """
    values = [{k: v for k, v in row.items() if v is not None} for row in rows]
    found, pairs = _origins(values)
    origin_errors: dict[int, list[FieldError]] = {}
    groups: dict[tuple[int | None, int | None], list[int]] = {}
    origin_of: dict[tuple[int | None, int | None], Origin] = {}
    for position, pair in enumerate(pairs):
        origin, errors = found[pair]
        if errors:
            origin_errors[position] = [FieldError(e.field, e.message, position) for e in errors]
            continue
        key = _origin_key(origin)
        groups.setdefault(key, []).append(position)
        origin_of.setdefault(key, origin)
    prepared = []
    for key, positions in groups.items():
        group_rows = [
            {k: v for k, v in values[p].items() if k not in ORIGIN_FIELDS} for p in positions
        ]
        cleaned = clean_rows(group_rows, row_numbers=positions)
        prepared.append((origin_of[key], positions, cleaned, stage_cleaned(cleaned)))
    keys = {pair: (_origin_key(origin), tuple(errors)) for pair, (origin, errors) in found.items()}
    return PreparedBatch(keys, origin_errors, prepared, len(values))


def _origins_unchanged(prepared: PreparedBatch) -> bool:
    """Whether every source and campaign the rows name is still what it was when the batch
    was prepared (no query when no row names one)."""
    named = [pair for pair in prepared.origin_keys if pair != (None, None)]
    if not named:
        return True
    values = [dict(zip(ORIGIN_FIELDS, pair, strict=True)) for pair in named]
    found, _ = _origins(values)
    return all(
        (_origin_key(origin), tuple(errors)) == prepared.origin_keys[pair]
        for pair, (origin, errors) in found.items()
    )


@transaction.atomic
def create_leads_via_api(
    rows: Sequence[Mapping[str, Any]],
    *,
    user: User,
    via: str,
    on_invalid: str,
    prepared: PreparedBatch | None = None,
) -> BatchOutcome:
    """Capture a batch; rows are numbered from 0 like the request's list positions.

    ``prepared``: ``prepare_bulk(rows)``, made before this transaction; it is made again
    here if a source or campaign a row names changed in between.
    """
    if prepared is None or not _origins_unchanged(prepared):
        prepared = prepare_bulk(rows)
    if prepared.origin_errors and on_invalid == "fail":
        raise CaptureRejected([e for found in prepared.origin_errors.values() for e in found])
    if len(prepared.groups) > 1:
        # Every group's keys claimed at once, in one sorted statement: group by group, two
        # calls could each hold a key the other's next group needs (a deadlock).
        lock_identity_keys([key for *_, staged in prepared.groups for key in identity_keys(staged)])
    # capture_leads takes one source/campaign per batch: one call per group of rows.
    results: dict[int, Any] = {}
    scorer = ArrivalScorer()
    for (source, campaign), positions, cleaned, staged in prepared.groups:
        batch = capture_leads(
            [],
            channel=Channel.API,
            via=via,
            source=source,
            campaign=campaign,
            user=user,
            team=user.team,
            on_invalid="fail" if on_invalid == "fail" else "skip",
            row_numbers=positions,
            cleaned=cleaned,
            staged=staged,
            score_new=scorer,
        )
        for position, result in zip(positions, batch.results, strict=True):
            results[position] = result
    for position, errors in prepared.origin_errors.items():
        results[position] = RowResult(row=position, errors=tuple(errors))
    outcome = BatchOutcome([results[p] for p in range(prepared.count)])
    # New leads were scored before their insert; merged ones are scored after the commit.
    receive_batch(outcome.lead_ids, scored=scorer.settled(outcome))  # routed by a task
    return outcome


def _claim_idempotency_key(
    user: User, key: str, fingerprint: str
) -> tuple[IdempotencyKey | None, StoredResponse | None]:
    """Insert the key row, or find the response stored under it: ``(record, None)`` for a
    first use, ``(None, stored)`` for a retry. Call inside the caller's transaction, so the
    row commits with what the request wrote or not at all.
    """
    try:
        with transaction.atomic():
            record = IdempotencyKey.objects.create(user=user, key=key, request_hash=fingerprint)
    except IntegrityError:
        stored = IdempotencyKey.objects.get(user=user, key=key)
        if stored.request_hash != fingerprint:
            raise IdempotencyConflict(key) from None
        return None, StoredResponse(stored.status_code or 200, stored.response, replayed=True)
    return record, None


def create_leads_via_api_once(
    rows: Sequence[Mapping[str, Any]],
    *,
    user: User,
    via: str,
    on_invalid: str,
    render: Callable[[BatchOutcome], dict[str, Any]],
    idempotency_key: str | None = None,
) -> StoredResponse:
    """``create_leads_via_api`` answering ``render(outcome)``; with an ``idempotency_key`` at
    most once per user and key, like ``create_lead_via_api``.

    The key row and the batch commit together: a client whose connection broke before the
    answer arrived retries with the same key and gets the stored answer, never a second copy
    of the batch. Raises ``IdempotencyConflict`` when the key was used with another body,
    ``CaptureRejected`` (``on_invalid="fail"``: nothing stored, the key is free again).
    """
    with BULK_CAPTURES if connection.vendor == "sqlite" else nullcontext():
        return _create_leads_once(
            rows,
            user=user,
            via=via,
            on_invalid=on_invalid,
            render=render,
            idempotency_key=idempotency_key,
        )


def _create_leads_once(
    rows: Sequence[Mapping[str, Any]],
    *,
    user: User,
    via: str,
    on_invalid: str,
    render: Callable[[BatchOutcome], dict[str, Any]],
    idempotency_key: str | None,
) -> StoredResponse:
    # Cleaning needs no database: it runs before the transaction, so on SQLite the write
    # lock is held for the writes only. Its errors are raised inside, after the key check.
    prepared = prepare_bulk(rows)
    with transaction.atomic():
        record = None
        if idempotency_key is not None:
            fingerprint = request_hash({"leads": list(rows), "on_invalid": on_invalid})
            record, stored = _claim_idempotency_key(user, idempotency_key, fingerprint)
            if stored is not None:
                return stored
        outcome = create_leads_via_api(
            rows, user=user, via=via, on_invalid=on_invalid, prepared=prepared
        )
        if record is not None:  # the answer is stored with the batch
            record.status_code = 200
            record.response = render(outcome)
            record.save(update_fields=["status_code", "response"])
            return StoredResponse(200, record.response, replayed=False)
    return StoredResponse(200, render(outcome), replayed=False)


# --- Updating leads ---------------------------------------------------------------------------


def _current_values(lead: Lead) -> dict[str, Any]:
    return {name: getattr(lead, name) for name in IDENTITY_FIELDS}


@transaction.atomic
def update_lead_via_api(lead: Lead, changes: Mapping[str, Any], *, user: User, via: str) -> Lead:
    """Apply a partial update, normalised by capture's rules, with one ``LeadChange`` row.

    ``None`` clears a field. Raises ``CaptureRejected`` naming each refused field, including
    an email or phone that already belongs to another lead ``user`` can see (merge them
    instead). One that belongs only to leads outside the user's scope is accepted, like a
    fresh one, and opens a likely duplicate for someone who sees both: the answer must not
    tell that the other lead exists.
    """
    lead = Lead.objects.select_for_update().get(pk=lead.pk)
    sent = {k: ("" if v is None and k != "custom" else v) for k, v in changes.items()}
    if sent.get("custom") is None and "custom" in sent:
        sent["custom"] = {}
    frame = pd.DataFrame.from_records([{**_current_values(lead), **sent}])
    clean, errors = clean_frame(frame)
    found = [e for e in errors.get(0, []) if e.field in sent or e.field == "lead"]
    if found:
        raise CaptureRejected(found)
    row = clean.iloc[0]
    new_values: dict[str, Any] = {}
    for name in sent:
        new_values[name] = _plain(row[name])
        for key in DERIVED_KEYS.get(name, ()):
            new_values[key] = _plain(row[key])
    hidden = _check_taken_identity(lead, new_values, user=user)
    diff: dict[str, list[Any]] = {}
    for name, value in new_values.items():
        old = getattr(lead, name)
        if old != value:
            if name not in {"email_key", "name_key"}:
                diff[name] = [_jsonable(old), _jsonable(value)]
            setattr(lead, name, value)
    if not diff:
        return lead
    now = timezone.now()
    if "consent" in diff:
        lead.consent_at = now if lead.consent else None
    if "do_not_contact" in diff:
        lead.do_not_contact_at = now if lead.do_not_contact else None
    lead.updated_at = now
    lead.save()
    LeadChange.objects.create(lead=lead, user=user, via=via[:60], action="update", changes=diff)
    flag_likely_duplicates(
        lead,
        {
            other: f"Same {' and '.join(names)} (not merged: the change could not see the "
            "other lead)"
            for other, names in hidden.items()
        },
    )
    rescore_on_commit([lead.pk])  # the scores see the committed edit
    return lead


def _check_taken_identity(
    lead: Lead, values: Mapping[str, Any], *, user: User
) -> dict[int, list[str]]:
    """Refuse an email or phone another lead in ``user``'s scope holds (``CaptureRejected``);
    return the oldest live lead outside the scope holding each one: ``{lead id: [field]}``.

    One query per field either way, the scope a column of it, so a taken value outside the
    scope costs what a fresh one does.
    """
    others = Lead.objects.filter(merged_into__isnull=True).exclude(pk=lead.pk)
    visible = Case(When(lead_scope_condition(user, prefix=""), then=True), default=False)
    errors = []
    hidden: dict[int, list[str]] = {}
    for name, key in (("email", "email_key"), ("phone", "phone")):
        if not values.get(key):
            continue
        holders = list(
            others.filter(**{key: values[key]})
            .annotate(visible=visible)
            .order_by("-visible", "id")
            .values_list("id", "visible")[:1]
        )
        if holders and holders[0][1]:
            errors.append(
                FieldError(name, f"Another lead you can see has this {name}; merge them.")
            )
        elif holders:
            hidden.setdefault(holders[0][0], []).append(name)
    if errors:
        raise CaptureRejected(errors)
    return hidden


def _plain(value: Any) -> Any:
    """pandas' missing values back to what the model stores."""
    if value is None:
        return None
    if isinstance(value, float) and value != value:
        return None
    return value


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str | dict | list):
        return value
    return str(value)


# --- Activities -----------------------------------------------------------------------------


@transaction.atomic
def add_lead_activity(
    lead: Lead,
    *,
    kind: ActivityKind | str,
    user: User,
    occurred_at: dt.datetime | None = None,
    subject: str = "",
    url: str = "",
    payload: Mapping[str, Any] | None = None,
) -> Activity:
    """Record a touch reported by another system; it moves ``last_activity_at`` forward and
    the lead is rescored once it commits."""
    activity = record_activity(
        lead,
        kind=kind,
        channel=Channel.API,
        user=user,
        occurred_at=occurred_at,
        subject=subject,
        url=url,
        payload=payload,
    )
    rescore_on_commit([lead.pk])
    return activity


# --- Housekeeping ----------------------------------------------------------------------------


@transaction.atomic
def purge_idempotency_keys(*, older_than: dt.timedelta) -> int:
    """Forget keys older than ``older_than``: clients retry within minutes, not weeks, and
    the table would otherwise grow by one row per keyed request forever. Returns the count.
    """
    cutoff = timezone.now() - older_than
    deleted, _ = IdempotencyKey.objects.filter(created_at__lt=cutoff).delete()
    return deleted
