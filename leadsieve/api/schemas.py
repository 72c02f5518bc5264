"""The JSON shapes of /api/v1/: every input schema forbids unknown fields.

Lengths mirror the database columns so an over-long value is a 422 naming the field,
never a database error; NUL bytes are refused (PostgreSQL cannot store them in text).
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Annotated, Any, Literal

from django.conf import settings
from ninja import Schema
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool, StringConstraints

from leadsieve.leads.models import ActivityKind, DecisionRole, Status, Timeline

CUSTOM_KEYS_MAX = 50
CUSTOM_TEXT_MAX = 1000
PAYLOAD_KEYS_MAX = 50
PAYLOAD_JSON_MAX = 16_384
LIST_LIMIT_MAX = 200
LIST_LIMIT_DEFAULT = 50


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


Str2 = Annotated[str, StringConstraints(max_length=2, strict=True), AfterValidator(_no_nul)]
Str12 = Annotated[str, StringConstraints(max_length=12, strict=True), AfterValidator(_no_nul)]
Str40 = Annotated[str, StringConstraints(max_length=40, strict=True), AfterValidator(_no_nul)]
Str120 = Annotated[str, StringConstraints(max_length=120, strict=True), AfterValidator(_no_nul)]
Str150 = Annotated[str, StringConstraints(max_length=150, strict=True), AfterValidator(_no_nul)]
Str160 = Annotated[str, StringConstraints(max_length=160, strict=True), AfterValidator(_no_nul)]
Str200 = Annotated[str, StringConstraints(max_length=200, strict=True), AfterValidator(_no_nul)]
Str253 = Annotated[str, StringConstraints(max_length=253, strict=True), AfterValidator(_no_nul)]
Str254 = Annotated[str, StringConstraints(max_length=254, strict=True), AfterValidator(_no_nul)]
Str300 = Annotated[str, StringConstraints(max_length=300, strict=True), AfterValidator(_no_nul)]
Str500 = Annotated[str, StringConstraints(max_length=500, strict=True), AfterValidator(_no_nul)]
Str5000 = Annotated[str, StringConstraints(max_length=5000, strict=True), AfterValidator(_no_nul)]

CustomValue = Annotated[str, StringConstraints(max_length=CUSTOM_TEXT_MAX), AfterValidator(_no_nul)]
CustomKey = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,59}$")]
# A database id: bounded so a huge number is a 422, not an overflow in the database driver.
Id = Annotated[int, Field(ge=1, le=2**63 - 1)]
Money = Annotated[Decimal, Field(max_digits=14, decimal_places=2, ge=0)]


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


CustomDict = Annotated[
    dict[CustomKey, CustomValue | int | float | bool | None], AfterValidator(_check_custom)
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
    source_id: Id | None = None
    campaign_id: Id | None = None


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
    field: str
    message: str
    row: int | None = None


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
    occurred_at: dt.datetime | None = Field(
        default=None, description="When it happened (ISO 8601; no zone means UTC). Default: now."
    )
    subject: Str300 = ""
    url: Str500 = ""
    payload: Annotated[dict[str, Any], AfterValidator(_check_payload)] = Field(default_factory=dict)


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
    created_after: dt.datetime | None = None
    created_before: dt.datetime | None = None
    updated_after: dt.datetime | None = None
    email: Annotated[str, StringConstraints(max_length=254)] | None = None
    q: Annotated[str, StringConstraints(max_length=200)] | None = None
    cursor: Annotated[str, StringConstraints(max_length=500)] | None = None
    limit: int = Field(default=LIST_LIMIT_DEFAULT, ge=1, le=LIST_LIMIT_MAX)


class LeadListOut(Schema):
    results: list[LeadOut]
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next page; null: end.")
