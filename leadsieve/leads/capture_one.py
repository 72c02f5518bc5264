"""Capture of one lead without pandas: the web form's and the single API call's path.

``capture_lead`` runs the batch rules on a batch of one row; their pandas overhead (building
Series and frames for one value each) made one capture cost ~100 ms of CPU. This module
applies the *same* rules to a plain dict:

- ``clean_one`` is ``clean_frame`` for one row: the same fields, limits, messages and error
  order, each value through ``engine.normalize_value`` (the scalar twins of
  ``engine.normalize``'s functions, built from the same patterns);
- ``capture_one`` writes it through ``services.writing_one`` (the same dedupe keys, merge
  fills, companies, audit rows and likely-duplicate checks as ``write_batch``).

A row holding a value the batch cleaner would first coerce through a pandas dtype (a float,
a list, a key that is not text, a number in a text field) is cleaned by the batch cleaner
(``clean_rows``) instead, so an odd value never takes a rule of its own. Equality of the
two paths is a test: ``tests/leads/test_capture_one_equals_batch.py`` runs both on
generated inputs and compares leads, touches, merges, duplicates and scores.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import transaction

from leadsieve.accounts.models import Team, User
from leadsieve.engine import normalize_value as nv
from leadsieve.leads.capture import (
    _COUNTRY_CODES,
    BOOLEAN_FIELDS,
    CAPTURE_FIELDS,
    CHOICE_FIELDS,
    CUSTOM_TEXT_LIMIT,
    DECIMAL_FIELDS,
    DECIMAL_PATTERN,
    FALSE_WORDS,
    HISTORY_FIELDS,
    MAX_CUSTOM_KEYS,
    MULTILINE_FIELDS,
    NOT_AN_OBJECT,
    RAW_LIMITS,
    TEXT_FIELDS,
    TRUE_WORDS,
    CaptureOutcome,
    CaptureRejected,
    FieldError,
    _custom_value,
    clean_rows,
)
from leadsieve.leads.models import (
    ActivityKind,
    Campaign,
    Channel,
    Lead,
    Source,
)
from leadsieve.leads.services.writing import without_nul
from leadsieve.leads.services.writing_one import write_one

_DECIMAL = re.compile(DECIMAL_PATTERN)
_COUNTRIES = frozenset(_COUNTRY_CODES)
_CHOICES = {
    name: {
        **{str(v).lower(): str(v) for v in choices.values},
        **{str(label).lower(): str(v) for v, label in choices.choices},
        "": "",
    }
    for name, choices in CHOICE_FIELDS.items()
}


@dataclass(frozen=True)
class CleanOne:
    """One row validated and normalised: ``clean_frame``'s columns as a dict, and the
    submitted values as the touch's payload (JSON text)."""

    values: dict[str, Any]
    payload: str


def capture_one(
    values: Mapping[str, Any],
    *,
    channel: Channel | str,
    via: str,
    source: Source | None = None,
    campaign: Campaign | None = None,
    user: User | None = None,
    activity_kind: str = ActivityKind.CAPTURE,
    activity_payload: Mapping[str, Any] | None = None,
    occurred_at: datetime | None = None,
    team: Team | None = None,
) -> CaptureOutcome:
    """``capture_lead`` without pandas: same arguments, same result, same rules.

    Raises ``CaptureRejected`` (nothing written) with the errors ``capture_lead`` gives.
    """
    return load_outcome(
        *write_one_lead(
            values,
            channel=channel,
            via=via,
            source=source,
            campaign=campaign,
            user=user,
            activity_kind=activity_kind,
            activity_payload=activity_payload,
            occurred_at=occurred_at,
            team=team,
        )
    )


def write_one_lead(
    values: Mapping[str, Any] | CleanOne,
    *,
    channel: Channel | str,
    via: str,
    source: Source | None = None,
    campaign: Campaign | None = None,
    user: User | None = None,
    activity_kind: str = ActivityKind.CAPTURE,
    activity_payload: Mapping[str, Any] | None = None,
    occurred_at: datetime | None = None,
    team: Team | None = None,
) -> tuple[int, bool, int, int | None]:
    """``capture_one``'s writes: ``(lead id, created, activity id, merge id)``, no reads
    back (the pipeline reads the lead once, after scoring and routing it).

    ``values`` may be ``clean_one``'s result already (``activity_payload`` is then in it):
    the API cleans before its transaction, so the write lock is not held while it cleans.
    """
    if isinstance(values, CleanOne):  # cleaned by the caller, before its transaction
        cleaned = values
    elif not isinstance(values, Mapping):
        raise CaptureRejected([FieldError("lead", NOT_AN_OBJECT)])
    else:
        cleaned = clean_one(values, activity_payload=activity_payload)
    # No savepoint of its own: a failure fails the caller's block (the pipeline's, whose
    # transaction or savepoint then undoes the whole capture).
    with transaction.atomic(savepoint=False):
        return write_one(
            cleaned.values,
            payload=cleaned.payload,
            channel=str(channel),
            via=via,
            source_id=getattr(source, "pk", None),
            campaign_id=getattr(campaign, "pk", None),
            user=user,
            team=team,
            activity_kind=activity_kind,
            occurred_at=occurred_at,
        )


def load_outcome(
    lead_id: int, created: bool, activity_id: int, merge_id: int | None
) -> CaptureOutcome:
    """What ``capture_lead`` returns, from the ids ``write_one_lead`` gave: the lead is read
    (after routing, it shows its owner); the touch and merge record only if asked for."""
    return CaptureOutcome(
        lead=Lead.objects.get(pk=lead_id),
        created=created,
        activity_id=activity_id,
        merge_id=merge_id,
    )


def clean_one(
    values: Mapping[str, Any], *, activity_payload: Mapping[str, Any] | None = None
) -> CleanOne:
    """``clean_rows([values], first_row=None)`` for one row; raises ``CaptureRejected``."""
    if not _is_plain(values):
        return _clean_by_batch(values, activity_payload)
    errors: list[FieldError] = []
    for name, value in values.items():
        if name in CAPTURE_FIELDS or value is None:
            continue
        errors.append(
            FieldError(
                name,
                "Only an import of historical data may set this field."
                if name in HISTORY_FIELDS
                else f"Unknown field; known fields are: {', '.join(sorted(CAPTURE_FIELDS))}.",
            )
        )
    clean: dict[str, Any] = {}

    def text(name: str, limit: int, *, multiline: bool = False) -> str:
        raw = values.get(name)
        if raw is None:
            return ""
        value = nv.clean_text(raw if isinstance(raw, str) else str(raw), multiline=multiline)
        if len(value) > limit:
            errors.append(FieldError(name, f"Too long: at most {limit} characters."))
        return value

    for name, limit in TEXT_FIELDS.items():
        clean[name] = text(name, limit)
    for name, limit in MULTILINE_FIELDS.items():
        clean[name] = text(name, limit, multiline=True)
    clean["first_name"] = nv.normalize_name(clean["first_name"])
    clean["last_name"] = nv.normalize_name(clean["last_name"])
    clean["name_key"] = nv.name_key(clean["first_name"], clean["last_name"])

    email, email_key, email_domain, email_valid = nv.normalize_email(
        text("email", RAW_LIMITS["email"])
    )
    if not email_valid:
        errors.append(FieldError("email", "Enter a valid email address, like name@example.com."))
    clean["email"], clean["email_key"] = email, email_key

    phone_valid = True
    clean["phone"] = ""
    if "phone" in values:
        region = settings.LEADSIEVE_DEFAULT_REGION
        clean["phone"], phone_valid = nv.normalize_phone(text("phone", RAW_LIMITS["phone"]), region)
        if not phone_valid:
            errors.append(
                FieldError(
                    "phone", f"Enter a valid phone number (international +… or a {region} number)."
                )
            )

    country = nv.upper(text("country", RAW_LIMITS["country"]))
    if country and country not in _COUNTRIES:
        errors.append(
            FieldError("country", "Use a two-letter ISO 3166 country code, like US or FR.")
        )
        country = ""
    clean["country"] = country

    website_domain = nv.normalize_domain(clean["website"]) if "website" in values else ""
    clean["company_domain"] = nv.company_domain(email_domain, website_domain)
    clean["company_key"] = nv.company_name_key(clean["company_name"])

    for name in CHOICE_FIELDS:
        clean[name] = _choice(text(name, 60), name, errors) if name in values else ""
    for name in DECIMAL_FIELDS:
        clean[name] = _decimal(text(name, 40), name, errors) if name in values else None
    for name in BOOLEAN_FIELDS:
        clean[name] = _boolean(text(name, 20), name, errors) if name in values else False
    # Not sent: no value (the batch's blank column); sent as null: an empty object.
    clean["custom"] = _custom(values["custom"], errors) if "custom" in values else None

    has_identity = bool(
        clean["email_key"] or clean["phone"] or clean["external_id"] or clean["name_key"]
    )
    if not has_identity and email_valid and phone_valid:
        errors.append(
            FieldError("lead", "A lead needs an email, a phone, an external id or a name.")
        )
    if errors:
        raise CaptureRejected(errors)
    return CleanOne(clean, _payload(values, activity_payload))


def _is_plain(values: Mapping[str, Any]) -> bool:
    """Every value is one a one-row frame stores as it is: text or nothing, a yes/no for a
    yes/no field, a whole number for a number field, an object for ``custom``."""
    for name, value in values.items():
        if not isinstance(name, str):
            return False
        if value is None or type(value) is str:
            continue
        if name in BOOLEAN_FIELDS and type(value) is bool:
            continue
        if name in DECIMAL_FIELDS and type(value) is int and abs(value) < 2**63:
            continue
        if name == "custom" and isinstance(value, dict) and _is_plain_custom(value):
            continue
        return False
    return True


def _is_plain_custom(value: dict[Any, Any]) -> bool:
    """Values JSON writes the way pandas does (no floats: their precision differs)."""
    return all(
        item is None or type(item) in (str, bool) or (type(item) is int and abs(item) < 2**53)
        for item in value.values()
    )


def _clean_by_batch(values: Mapping[str, Any], extra: Mapping[str, Any] | None) -> CleanOne:
    """The batch cleaner on this one row (values the fast cleaner leaves to it)."""
    batch = clean_rows([values], first_row=None, activity_payload=extra)
    if batch.errors:
        raise CaptureRejected(batch.errors[0])
    row = batch.clean.iloc[0]
    clean = {name: _plain(row[name]) for name in batch.clean.columns}
    return CleanOne(clean, batch.payloads[0])


def _plain(value: Any) -> Any:
    """A frame cell as the writer's lists hold it (``tolist()``'s Python values)."""
    if hasattr(value, "item") and not isinstance(value, str | Decimal | dict):
        return value.item()
    return value


def _choice(value: str, name: str, errors: list[FieldError]) -> str:
    mapped = _CHOICES[name].get(nv.lower(value))
    if mapped is None:
        values = CHOICE_FIELDS[name].values
        errors.append(FieldError(name, f"Choose one of: {', '.join(str(v) for v in values)}."))
        return ""
    return mapped


def _decimal(value: str, name: str, errors: list[FieldError]) -> Decimal | None:
    shaped = value == "" or _DECIMAL.match(value) is not None
    if not shaped:
        errors.append(
            FieldError(name, "Enter a number with at most 12 digits and 2 decimals, like 1500.50.")
        )
        return None
    if value.startswith("-"):
        errors.append(FieldError(name, "Must not be negative."))
        return None
    return Decimal(value) if value else None


def _boolean(value: str, name: str, errors: list[FieldError]) -> bool:
    word = nv.lower(value)
    if word not in TRUE_WORDS and word not in FALSE_WORDS:
        errors.append(FieldError(name, "Enter yes or no (true/false)."))
    return word in TRUE_WORDS


def _custom(value: Any, errors: list[FieldError]) -> dict[str, Any]:
    if value is None:
        return {}
    result = _custom_value(value)
    if result is None:
        errors.append(
            FieldError(
                "custom",
                f"Must be an object of at most {MAX_CUSTOM_KEYS} keys (letters, digits, - or _) "
                f"with text up to {CUSTOM_TEXT_LIMIT} characters, numbers or yes/no values.",
            )
        )
    return result or {}


def _payload(values: Mapping[str, Any], extra: Mapping[str, Any] | None) -> str:
    """``activity_payloads`` of one row: the submitted values, then ``extra``'s, NUL-free."""
    row = {name: without_nul(value) for name, value in values.items()}
    row.update({name: without_nul(value) for name, value in (extra or {}).items()})
    return json.dumps(row, ensure_ascii=False, separators=(",", ":"))


__all__ = ["CleanOne", "capture_one", "clean_one", "load_outcome", "write_one_lead"]
