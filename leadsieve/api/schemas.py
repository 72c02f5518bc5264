"""The JSON shapes of /api/v1/: every input schema forbids unknown fields.

Lengths mirror the database columns so an over-long value is a 422 naming the field,
never a database error; NUL bytes are refused (PostgreSQL cannot store them in text).
Types are strict where JSON has the type (a number is not a date, a text is not an id), and
the schema states each constraint the server enforces (``docs/api.md``, "Schema").
"""

from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal
from typing import Annotated, Any, Literal

from django.conf import settings
from ninja import Schema
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StringConstraints,
    WithJsonSchema,
)

from leadsieve.leads.date_windows import (
    CALENDAR_MESSAGE,
    HISTORY_MESSAGE,
    YEAR_PATTERN,
    is_in_calendar,
    is_in_history,
)
from leadsieve.leads.models import ActivityKind, DecisionRole, Status, Timeline

CUSTOM_KEYS_MAX = 50
CUSTOM_TEXT_MAX = 1000
PAYLOAD_KEYS_MAX = 50
PAYLOAD_JSON_MAX = 16_384
LIST_LIMIT_MAX = 200
LIST_LIMIT_DEFAULT = 50
ID_MAX = 2**63 - 1
# ISO 8601 / RFC 3339 date-times within the calendar window's years (1970-2099); the zone
# may be left out (UTC). The year bound lets a generator read the window from the schema.
DATETIME_PATTERN = (
    rf"^{YEAR_PATTERN}-[0-9]{{2}}-[0-9]{{2}}[Tt ][0-9]{{2}}:[0-9]{{2}}"
    r"(?::[0-9]{2}(?:\.[0-9]{1,6})?)?(?:[Zz]|[+-][0-9]{2}:[0-9]{2})?$"
)
DATETIME_EXAMPLE = "2024-05-31T14:30:00Z"


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


# Refuses NUL and says so in the schema (a pattern every JSON Schema validator reads).
NoNul = AfterValidator(_no_nul)
NO_NUL_PATTERN = r"^[^\x00]*$"
NoNulSchema = Field(json_schema_extra={"pattern": NO_NUL_PATTERN})

Str2 = Annotated[str, StringConstraints(max_length=2, strict=True), NoNul, NoNulSchema]
Str12 = Annotated[str, StringConstraints(max_length=12, strict=True), NoNul, NoNulSchema]
Str40 = Annotated[str, StringConstraints(max_length=40, strict=True), NoNul, NoNulSchema]
Str120 = Annotated[str, StringConstraints(max_length=120, strict=True), NoNul, NoNulSchema]
Str150 = Annotated[str, StringConstraints(max_length=150, strict=True), NoNul, NoNulSchema]
Str160 = Annotated[str, StringConstraints(max_length=160, strict=True), NoNul, NoNulSchema]
Str200 = Annotated[str, StringConstraints(max_length=200, strict=True), NoNul, NoNulSchema]
Str253 = Annotated[str, StringConstraints(max_length=253, strict=True), NoNul, NoNulSchema]
Str254 = Annotated[str, StringConstraints(max_length=254, strict=True), NoNul, NoNulSchema]
Str300 = Annotated[str, StringConstraints(max_length=300, strict=True), NoNul, NoNulSchema]
Str500 = Annotated[str, StringConstraints(max_length=500, strict=True), NoNul, NoNulSchema]
Str5000 = Annotated[str, StringConstraints(max_length=5000, strict=True), NoNul, NoNulSchema]

CustomValue = Annotated[
    str, StringConstraints(max_length=CUSTOM_TEXT_MAX, strict=True), NoNul, NoNulSchema
]
CustomKey = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,59}$")]
# A database id: bounded so a huge number is a 422, not an overflow in the database driver.
# Query and path values arrive as text (``?owner=5``); in a JSON body an id is a number.
Id = Annotated[int, Field(ge=1, le=ID_MAX)]
BodyId = Annotated[StrictInt, Field(ge=1, le=ID_MAX)]
MONEY_PATTERN = r"^[0-9]{1,12}(?:\.[0-9]{1,2})?$"
MONEY_MAX = Decimal("999999999999.99")


def _money_shape(value: object) -> object:
    """A JSON number, or text shaped like ``MONEY_PATTERN``: what the schema says, no more."""
    if isinstance(value, bool) or (
        isinstance(value, str) and re.fullmatch(MONEY_PATTERN, value) is None
    ):
        raise ValueError("must be a number with at most 12 digits and 2 decimals, like 1500.50")
    return value


Money = Annotated[
    Decimal,
    BeforeValidator(_money_shape),
    Field(max_digits=14, decimal_places=2, ge=0, le=MONEY_MAX),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "number", "minimum": 0, "maximum": float(MONEY_MAX)},
                {"type": "string", "pattern": MONEY_PATTERN},
            ],
            "description": "At most 12 digits and 2 decimals, not negative.",
        }
    ),
]


def _parse_datetime(value: object) -> dt.datetime:
    """Text shaped like ``DATETIME_PATTERN`` to an aware datetime (no zone: UTC); a number or
    any other type is refused, not read as seconds since 1970.
    """
    if not isinstance(value, str) or re.fullmatch(DATETIME_PATTERN, value) is None:
        raise ValueError(f"must be a date and time from 1970 to 2099, like {DATETIME_EXAMPLE}")
    try:
        parsed = dt.datetime.fromisoformat(value.upper())
    except ValueError:
        raise ValueError(f"is not a real date and time; write it like {DATETIME_EXAMPLE}") from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=dt.UTC)


def _in_calendar(value: dt.datetime) -> dt.datetime:
    if not is_in_calendar(value):
        raise ValueError(CALENDAR_MESSAGE)
    return value


def _in_history(value: dt.datetime) -> dt.datetime:
    if not is_in_history(value):
        raise ValueError(HISTORY_MESSAGE)
    return value


def _datetime_schema(description: str) -> WithJsonSchema:
    return WithJsonSchema(
        {
            "type": "string",
            "format": "date-time",
            "pattern": DATETIME_PATTERN,
            "description": description,
            "examples": [DATETIME_EXAMPLE],
        }
    )


# A moment in the calendar window (filters): 1970-01-01 to 2099-12-31.
CalendarDatetime = Annotated[
    dt.datetime,
    BeforeValidator(_parse_datetime),
    AfterValidator(_in_calendar),
    _datetime_schema("ISO 8601, from 1970 to 2099; no zone means UTC."),
]
# A moment something happened: from 1970-01-01T00:00Z to one day ahead of now.
HistoryDatetime = Annotated[
    dt.datetime,
    BeforeValidator(_parse_datetime),
    AfterValidator(_in_history),
    _datetime_schema(
        "ISO 8601, from 1970-01-01T00:00:00Z to one day ahead of now; no zone means UTC."
    ),
]


class StrictSchema(BaseModel):
    """An input body: pydantic's own model, not ninja's ``Schema``, whose wrap validator reads
    every field through a Django-object adapter (built for output from model instances):
    it took a third of a 1,000-lead bulk call's time. Unknown fields are refused.
    """

    model_config = ConfigDict(extra="forbid")


def _check_custom(value: dict[str, Any] | None) -> dict[str, Any] | None:
    if value is not None and len(value) > CUSTOM_KEYS_MAX:
        raise ValueError(f"at most {CUSTOM_KEYS_MAX} keys")
    return value


# Strict members: in a lax union "0000" would pass as the number 0.0 past the text's limit.
CustomDict = Annotated[
    dict[CustomKey, CustomValue | StrictInt | StrictFloat | StrictBool | None],
    AfterValidator(_check_custom),
    Field(json_schema_extra={"maxProperties": CUSTOM_KEYS_MAX, "additionalProperties": False}),
]


class LeadFieldsIn(StrictSchema):
    """The lead fields a client may send; all optional, unknown names are refused."""

    first_name: Str150 | None = None
    last_name: Str150 | None = None
    email: Str254 | None = None
    phone: Str40 | None = None
    job_title: Str200 | None = None
    company_name: Str200 | None = None
    website: Str253 | None = None
    country: Str2 | None = None
    city: Str120 | None = None
    language: Str12 | None = None
    need: Str5000 | None = None
    budget: Money | None = None
    timeline: Timeline | None = None
    decision_role: DecisionRole | None = None
    consent: StrictBool | None = None
    consent_text: Str300 | None = None
    do_not_contact: StrictBool | None = None
    external_id: Str120 | None = None
    expected_value: Money | None = None
    custom: CustomDict | None = None


class LeadIn(LeadFieldsIn):
    """``POST /leads``: a new lead (or a touch on the existing one with the same email/phone)."""

    utm_source: Str120 | None = None
    utm_medium: Str120 | None = None
    utm_campaign: Str160 | None = None
    utm_term: Str160 | None = None
    utm_content: Str160 | None = None
    landing_page: Str500 | None = None
    referrer: Str500 | None = None
    source_id: BodyId | None = None
    campaign_id: BodyId | None = None


class LeadPatch(LeadFieldsIn):
    """``PATCH /leads/{id}``: only the fields sent change; ``null`` clears a field."""


class LeadOut(Schema):
    id: int
    first_name: str
    last_name: str
    email: str
    phone: str
    job_title: str
    company_name: str
    company_id: int | None
    website: str
    country: str
    city: str
    language: str
    need: str
    budget: Decimal | None
    timeline: str
    decision_role: str
    consent: bool
    do_not_contact: bool
    external_id: str
    expected_value: Decimal | None
    custom: dict[str, Any]
    source_id: int | None
    campaign_id: int | None
    utm_source: str
    utm_medium: str
    utm_campaign: str
    utm_term: str
    utm_content: str
    landing_page: str
    referrer: str
    created_via: str
    team_id: int | None
    owner_id: int | None
    status: str
    outcome: str
    rating: int | None
    fit_grade: str
    horizon: str
    merged_into_id: int | None
    created_at: dt.datetime
    updated_at: dt.datetime
    last_activity_at: dt.datetime | None


class CaptureOut(Schema):
    created: bool = Field(description="False: merged into an existing lead (same email/phone).")
    lead: LeadOut


class BulkIn(StrictSchema):
    leads: list[LeadIn] = Field(min_length=1, max_length=settings.LEADSIEVE_API_BULK_MAX)
    on_invalid: Literal["skip", "fail"] = "skip"


class ErrorOut(Schema):
    field: str = Field(
        description="The field refused: a body path (`leads.3.email`), a query, "
        "path or header name, `body` for the body as a whole."
    )
    message: str
    row: int | None = Field(default=None, description="Bulk only: 0-based row of the request.")


class ErrorsOut(Schema):
    """Every error the API answers, whatever its status."""

    errors: list[ErrorOut]


class BulkRowOut(Schema):
    row: int = Field(description="0-based position in the request's leads list.")
    status: Literal["created", "merged", "rejected"]
    lead_id: int | None = None
    errors: list[ErrorOut] = []


class BulkOut(Schema):
    n_created: int
    n_merged: int
    n_rejected: int
    results: list[BulkRowOut]


def _check_payload(value: dict[str, Any]) -> dict[str, Any]:
    if len(value) > PAYLOAD_KEYS_MAX:
        raise ValueError(f"at most {PAYLOAD_KEYS_MAX} keys")
    if len(json.dumps(value)) > PAYLOAD_JSON_MAX:
        raise ValueError(f"at most {PAYLOAD_JSON_MAX} bytes of JSON")
    if "\\u0000" in json.dumps(value):
        raise ValueError("must not contain NUL characters")
    return value


class ActivityIn(StrictSchema):
    kind: ActivityKind
    occurred_at: HistoryDatetime | None = Field(
        default=None,
        description="When it happened: from 1970-01-01T00:00:00Z to one day ahead of now "
        "(ISO 8601; no zone means UTC). Default: now.",
    )
    subject: Str300 = ""
    url: Str500 = ""
    payload: Annotated[dict[str, Any], AfterValidator(_check_payload)] = Field(
        default_factory=dict,
        description=f"Any JSON object: at most {PAYLOAD_KEYS_MAX} keys and {PAYLOAD_JSON_MAX} "
        "bytes of JSON, no NUL character in its texts.",
        json_schema_extra={"maxProperties": PAYLOAD_KEYS_MAX},
    )


class CloseIn(StrictSchema):
    """``POST /leads/{id}/close``: won or lost, and why (the board and the lead page's rule)."""

    outcome: Literal["won", "lost"]
    reason: Str300 = Field(description="Why the lead was won or lost; required, not blank.")


class ActivityOut(Schema):
    id: int
    lead_id: int
    kind: str
    occurred_at: dt.datetime
    channel: str
    subject: str
    url: str
    payload: dict[str, Any]


class LeadListFilters(Schema):
    status: Status | None = None
    owner: Id | None = Field(default=None, description="Owner's user id.")
    source: Id | None = Field(default=None, description="Source id.")
    campaign: Id | None = Field(default=None, description="Campaign id.")
    created_after: CalendarDatetime | None = None
    created_before: CalendarDatetime | None = None
    updated_after: CalendarDatetime | None = None
    email: Annotated[str, StringConstraints(max_length=254), NoNul, NoNulSchema] | None = None
    q: Annotated[str, StringConstraints(max_length=200), NoNul, NoNulSchema] | None = None
    cursor: Annotated[str, StringConstraints(max_length=500), NoNul, NoNulSchema] | None = None
    limit: int = Field(default=LIST_LIMIT_DEFAULT, ge=1, le=LIST_LIMIT_MAX)


class LeadListOut(Schema):
    results: list[LeadOut]
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next page; null: end.")
