"""Capture: the one way a lead enters LeadSieve (web form, API, import, manual entry).

Every entry point calls ``capture_leads`` (``capture_lead`` is the batch call with one
row), so one set of rules cleans, validates, deduplicates and records every lead:

1. values are validated and normalised column-wise (``leadsieve.engine.normalize``);
2. a row whose external id, email key or E.164 phone matches a lead (stored, or created by
   an earlier row of the batch) is merged into it: blanks filled, a ``MergeRecord`` kept so
   the merge can be undone, the touch recorded as an ``Activity``;
3. other rows create leads; same name at the same company opens a ``DuplicateCandidate``.

Capture only stores: scoring and routing what arrived is the caller's next step, written
out in ``leadsieve.pipeline`` (``receive_lead`` for one lead, ``receive_batch`` for the
ids a batch returns). One lead takes ``capture_one`` (``leads/capture_one.py``): these
rules without pandas.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal

import pandas as pd
import phonenumbers
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from leadsieve.accounts.models import Team, User
from leadsieve.engine import normalize
from leadsieve.leads.date_windows import EARLIEST, HISTORY_AHEAD, HISTORY_MESSAGE
from leadsieve.leads.models import (
    Activity,
    ActivityKind,
    Campaign,
    Channel,
    DecisionRole,
    Lead,
    MergeRecord,
    Outcome,
    Source,
    Timeline,
)

if TYPE_CHECKING:
    from leadsieve.leads.services.companies import KnownCompanies
    from leadsieve.leads.services.writing import NewLeadScorer, StagedBatch

# Single-line text fields and their maximum length (the model's).
TEXT_FIELDS: dict[str, int] = {
    "first_name": 150,
    "last_name": 150,
    "job_title": 200,
    "company_name": 200,
    "city": 120,
    "language": 12,
    "consent_text": 300,
    "external_id": 120,
    "utm_source": 120,
    "utm_medium": 120,
    "utm_campaign": 160,
    "utm_term": 160,
    "utm_content": 160,
    "landing_page": 500,
    "referrer": 500,
    "website": 253,
}
MULTILINE_FIELDS: dict[str, int] = {"need": 5_000}
RAW_LIMITS: dict[str, int] = {"email": 254, "phone": 40, "country": 60}
CHOICE_FIELDS: dict[str, type[Timeline] | type[DecisionRole] | type[Outcome]] = {
    "timeline": Timeline,
    "decision_role": DecisionRole,
}
DECIMAL_FIELDS = ("budget", "expected_value")
BOOLEAN_FIELDS = ("consent", "do_not_contact")
CAPTURE_FIELDS = frozenset(
    {*TEXT_FIELDS, *MULTILINE_FIELDS, *RAW_LIMITS, *CHOICE_FIELDS, *DECIMAL_FIELDS}
    | {*BOOLEAN_FIELDS, "custom"}
)
# Only imports of historical data may set these (``allow_history=True``).
HISTORY_FIELDS = frozenset({"created_at", "outcome", "closed_at", "outcome_reason"})
TRUE_WORDS = frozenset({"true", "yes", "y", "on", "1", "x", "checked"})
FALSE_WORDS = frozenset({"false", "no", "n", "off", "0", ""})
DECIMAL_PATTERN = r"^-?\d{1,12}(?:\.\d{1,2})?$"
CUSTOM_KEY_PATTERN = r"^[A-Za-z0-9_-]{1,60}$"
CUSTOM_TEXT_LIMIT = 1_000
MAX_CUSTOM_KEYS = 100
TEXT_TYPES = (str, int, float, Decimal)
NOT_AN_OBJECT = "Expected an object of field values."

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class FieldError:
    """What is wrong and where: the field, and for imports the data row and column."""

    field: str
    message: str
    row: int | None = None
    column: str | None = None

    def __str__(self) -> str:
        where = f"row {self.row}: " if self.row is not None else ""
        column = f" (column {self.column!r})" if self.column else ""
        return f"{where}{self.field}{column}: {self.message}"


class CaptureRejected(Exception):
    """The values cannot become a lead; ``errors`` says what and where. Nothing was saved."""

    def __init__(self, errors: Sequence[FieldError]) -> None:
        self.errors = list(errors)
        super().__init__("; ".join(str(error) for error in self.errors))


@dataclass(frozen=True)
class CaptureOutcome:
    """One capture's answer: the lead as stored, whether it was created, and the ids of its
    touch and of the merge record (a merged capture). ``activity`` and ``merge`` are read on
    first use: no page or API answer shows them, so a capture reads neither."""

    lead: Lead
    created: bool
    activity_id: int
    merge_id: int | None = None

    @cached_property
    def activity(self) -> Activity:
        return Activity.objects.get(pk=self.activity_id)

    @cached_property
    def merge(self) -> MergeRecord | None:
        return MergeRecord.objects.get(pk=self.merge_id) if self.merge_id else None


@dataclass(frozen=True)
class RowResult:
    """One row of a batch: the lead created or merged into, or why it was rejected."""

    row: int
    lead_id: int | None = None
    created: bool = False
    activity_id: int | None = None
    merge_id: int | None = None
    errors: tuple[FieldError, ...] = ()

    @property
    def merged_into(self) -> int | None:
        return self.lead_id if self.lead_id is not None and not self.created else None


@dataclass
class BatchOutcome:
    results: list[RowResult] = field(default_factory=list)

    @property
    def n_created(self) -> int:
        return sum(1 for r in self.results if r.created)

    @property
    def n_merged(self) -> int:
        return sum(1 for r in self.results if r.lead_id is not None and not r.created)

    @property
    def n_rejected(self) -> int:
        return sum(1 for r in self.results if r.errors)

    @property
    def errors(self) -> list[FieldError]:
        return [error for r in self.results for error in r.errors]

    @property
    def lead_ids(self) -> list[int]:
        return sorted({r.lead_id for r in self.results if r.lead_id is not None})


def capture_lead(
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
    """Capture one lead: the batch rules applied to one row; raises ``CaptureRejected``."""
    if not isinstance(values, Mapping):
        raise CaptureRejected([FieldError("lead", NOT_AN_OBJECT)])
    batch = capture_leads(
        [values],
        channel=channel,
        via=via,
        source=source,
        campaign=campaign,
        user=user,
        on_invalid="fail",
        activity_kind=activity_kind,
        activity_payload=activity_payload,
        occurred_at=occurred_at,
        team=team,
        first_row=None,
    )
    result = batch.results[0]
    assert result.lead_id is not None and result.activity_id is not None
    return CaptureOutcome(
        lead=Lead.objects.get(pk=result.lead_id),
        created=result.created,
        activity_id=result.activity_id,
        merge_id=result.merge_id,
    )


def capture_leads(
    rows: Sequence[Mapping[str, Any]] | pd.DataFrame,
    *,
    channel: Channel | str,
    via: str,
    source: Source | None = None,
    campaign: Campaign | None = None,
    user: User | None = None,
    on_invalid: Literal["skip", "fail"] = "skip",
    activity_kind: str = ActivityKind.CAPTURE,
    activity_payload: Mapping[str, Any] | None = None,
    occurred_at: datetime | None = None,
    team: Team | None = None,
    allow_history: bool = False,
    first_row: int | None = 1,
    row_numbers: Sequence[int] | None = None,
    sources: Sequence[Source | None] | None = None,
    campaigns: Sequence[Campaign | None] | None = None,
    cleaned: CleanBatch | None = None,
    audit_created: bool = True,
    known_companies: KnownCompanies | None = None,
    staged: StagedBatch | None = None,
    savepoint: bool = True,
    score_new: NewLeadScorer | None = None,
) -> BatchOutcome:
    """Capture many leads in one transaction with set-based reads and writes.

    ``on_invalid="skip"`` saves the valid rows and reports the others; ``"fail"`` raises
    ``CaptureRejected`` with every error and saves nothing. Rows are numbered from
    ``first_row`` (or given ``row_numbers``, e.g. file lines) in the errors. Imports may give
    each row its own source and campaign (``sources``/``campaigns``, aligned on the rows).
    ``cleaned`` is what ``clean_rows`` made of ``rows`` with the same arguments, ahead of
    the transaction (an import cleans the next chunk in another process while this one is
    written): the rows are then not cleaned again. ``audit_created=False`` (file imports)
    writes no "created" audit row per new lead: its capture activity records the creation.
    ``known_companies`` carries the companies an import resolved from one chunk to the next.
    ``staged``: ``stage_cleaned(cleaned, occurred_at)``, made ahead like ``cleaned``.
    ``savepoint=False`` (an import's chunk, already in its own transaction): no savepoint;
    an error then fails the whole enclosing transaction. ``score_new``: scores the new leads
    before their insert (``writing.NewLeadScorer``; the pipeline's ``ArrivalScorer``).
    """
    from leadsieve.leads.services.writing import write_batch

    with transaction.atomic(savepoint=savepoint):
        if cleaned is None:
            cleaned = clean_rows(
                rows,
                allow_history=allow_history,
                first_row=first_row,
                row_numbers=row_numbers,
                activity_payload=activity_payload,
            )
        clean, errors, numbers = cleaned.clean, cleaned.errors, cleaned.numbers
        if on_invalid == "fail" and errors:
            raise CaptureRejected(
                [
                    _numbered(error, numbers[position])
                    for position in sorted(errors)
                    for error in errors[position]
                ]
            )
        count = len(numbers)
        valid = _valid_positions(cleaned)
        source_ids = [getattr(s, "pk", None) for s in sources] if sources is not None else None
        campaign_ids = (
            [getattr(c, "pk", None) for c in campaigns] if campaigns is not None else None
        )
        everything = len(valid) == count  # the usual case: no copy of the columns
        written = write_batch(
            clean if everything else clean.iloc[valid],
            payloads=cleaned.payloads if everything else [cleaned.payloads[p] for p in valid],
            channel=str(channel),
            via=via,
            source_ids=[source_ids[p] for p in valid]
            if source_ids
            else [getattr(source, "pk", None)] * len(valid),
            campaign_ids=(
                [campaign_ids[p] for p in valid]
                if campaign_ids
                else [getattr(campaign, "pk", None)] * len(valid)
            ),
            user=user,
            team=team,
            activity_kind=activity_kind,
            occurred_at=occurred_at,
            audit_created=audit_created,
            known_companies=known_companies,
            staged=staged,
            score_new=score_new,
        )
        results = []
        for position in range(count):
            given = numbers[position]
            number = given if given is not None else position + 1
            if position in errors:
                numbered = tuple(_numbered(e, given) for e in errors[position])
                results.append(RowResult(row=number, errors=numbered))
            else:
                lead_id, created, activity_id, merge_id = written[position]
                results.append(RowResult(number, lead_id, created, activity_id, merge_id))
        return BatchOutcome(results)


@dataclass
class CleanBatch:
    """Rows validated and normalised, ready for ``capture_leads(..., cleaned=...)``.

    Plain data (frames, lists, errors): it may be made in another process and pickled.
    """

    clean: pd.DataFrame  # clean_frame's columns, one row per submitted row
    errors: dict[int, list[FieldError]]  # by row position
    numbers: list[int | None]  # the row numbers errors are reported with
    payloads: list[str]  # each valid row's submitted values as JSON: its touch's payload


def clean_rows(
    rows: Sequence[Mapping[str, Any]] | pd.DataFrame,
    *,
    allow_history: bool = False,
    first_row: int | None = 1,
    row_numbers: Sequence[int] | None = None,
    activity_payload: Mapping[str, Any] | None = None,
    parsed_phones: Mapping[str, str] | None = None,
) -> CleanBatch:
    """The reading half of ``capture_leads``: no database access, so it may run anywhere."""
    from leadsieve.leads.services.writing import activity_payloads

    frame, errors = _frame_from_rows(rows, allow_history=allow_history)
    numbers = _row_numbers(len(frame), first_row, row_numbers)
    clean, clean_errors = clean_frame(
        frame, allow_history=allow_history, parsed_phones=parsed_phones
    )
    for position, found in clean_errors.items():
        if any(e.message == NOT_AN_OBJECT for e in errors.get(position, ())):
            continue  # an empty row stands in for it: its other errors say nothing
        errors.setdefault(position, []).extend(found)
    valid = [position for position in range(len(frame)) if position not in errors]
    payloads = [""] * len(frame)  # rejected rows have no touch
    written = activity_payloads(
        frame.iloc[valid],
        dict(activity_payload or {}),
        [numbers[p] for p in valid] if first_row is not None else None,
    )
    for position, payload in zip(valid, written, strict=True):
        payloads[position] = payload
    return CleanBatch(clean, errors, numbers, payloads)


def stage_cleaned(cleaned: CleanBatch, occurred_at: datetime | None = None) -> StagedBatch:
    """The database-free part of writing ``cleaned``'s valid rows (``stage_batch``): an
    import makes it for the next chunk while the current one is still being written."""
    from leadsieve.leads.services.writing import stage_batch

    valid = _valid_positions(cleaned)
    frame = cleaned.clean if len(valid) == len(cleaned.numbers) else cleaned.clean.iloc[valid]
    return stage_batch(frame, occurred_at)


def _valid_positions(cleaned: CleanBatch) -> list[int]:
    return [p for p in range(len(cleaned.numbers)) if p not in cleaned.errors]


def _row_numbers(
    count: int, first_row: int | None, row_numbers: Sequence[int] | None
) -> list[int | None]:
    if row_numbers is not None:
        if len(row_numbers) != count:
            raise ValueError(f"{len(row_numbers)} row numbers for {count} rows")
        return list(row_numbers)
    if first_row is None:
        return [None] * count
    return list(range(first_row, first_row + count))


def _numbered(error: FieldError, row: int | None) -> FieldError:
    return FieldError(error.field, error.message, row, error.column)


def _frame_from_rows(
    rows: Sequence[Mapping[str, Any]] | pd.DataFrame, *, allow_history: bool
) -> tuple[pd.DataFrame, dict[int, list[FieldError]]]:
    errors: dict[int, list[FieldError]] = {}
    if isinstance(rows, pd.DataFrame):
        frame = rows.reset_index(drop=True)
    else:
        records = list(rows)
        for position, row in enumerate(records):
            if not isinstance(row, Mapping):
                errors[position] = [FieldError("lead", NOT_AN_OBJECT)]
        frame = pd.DataFrame.from_records(
            [dict(row) if isinstance(row, Mapping) else {} for row in records],
            index=pd.RangeIndex(len(records)),
        )
    frame.columns = [str(name) for name in frame.columns]
    allowed = CAPTURE_FIELDS | HISTORY_FIELDS if allow_history else CAPTURE_FIELDS
    for name in frame.columns:
        if name in allowed:
            continue
        message = (
            "Only an import of historical data may set this field."
            if name in HISTORY_FIELDS
            else f"Unknown field; known fields are: {', '.join(sorted(CAPTURE_FIELDS))}."
        )
        for position in frame.index[frame[name].notna()]:
            errors.setdefault(int(position), []).append(FieldError(name, message))
    return frame, errors


def clean_frame(
    frame: pd.DataFrame,
    *,
    allow_history: bool = False,
    parsed_phones: Mapping[str, str] | None = None,
) -> tuple[pd.DataFrame, dict[int, list[FieldError]]]:
    """Validate and normalise every capture field column-wise.

    Returns the clean columns (Lead attribute names plus ``company_domain`` and
    ``company_key``) and the errors by row position. Never truncates: an over-long value
    is an error naming the limit.
    """
    errors: dict[int, list[FieldError]] = {}
    index = frame.index
    # The columns in a dict, made a frame once at the end: inserting some forty columns
    # into a frame one by one cost more than a bulk call's whole text cleaning.
    clean: dict[str, pd.Series] = {}

    def column(name: str) -> pd.Series:
        if name in frame.columns:
            return frame[name]
        return pd.Series([None] * len(index), index=index, dtype="object")

    def fail(mask: pd.Series, name: str, message: str) -> None:
        for position in index[mask.to_numpy(dtype=bool)]:
            errors.setdefault(int(position), []).append(FieldError(name, message))

    blank = pd.Series("", index=index, dtype="str")

    def text(
        name: str, limit: int, *, multiline: bool = False, kinds: tuple[type, ...] = TEXT_TYPES
    ) -> pd.Series:
        if name not in frame.columns:
            return blank
        raw = frame[name]
        if raw.dtype == object:
            is_text = raw.isna() | raw.map(type).isin(kinds)
            fail(~is_text, name, "Must be text.")
            raw = raw.where(is_text, None)
        value = normalize.clean_text(raw, multiline=multiline)
        fail(value.str.len() > limit, name, f"Too long: at most {limit} characters.")
        return value

    for name, limit in TEXT_FIELDS.items():
        clean[name] = text(name, limit)
    for name, limit in MULTILINE_FIELDS.items():
        clean[name] = text(name, limit, multiline=True)
    clean["first_name"] = normalize.normalize_names(clean["first_name"])
    clean["last_name"] = normalize.normalize_names(clean["last_name"])
    clean["name_key"] = normalize.name_keys(clean["first_name"], clean["last_name"])

    emails = normalize.normalize_emails(text("email", RAW_LIMITS["email"]))
    fail(~emails["is_valid"], "email", "Enter a valid email address, like name@example.com.")
    clean["email"] = emails["email"]
    clean["email_key"] = emails["email_key"]

    # A field no row sent (most of them, in an API batch) takes its blank value at once:
    # each normaliser costs a millisecond or more per call, whatever the batch's size.
    phone_valid = pd.Series(True, index=index, dtype=bool)
    clean["phone"] = pd.Series("", index=index, dtype=object)
    if "phone" in frame.columns:
        region = settings.LEADSIEVE_DEFAULT_REGION
        phone_text = text("phone", RAW_LIMITS["phone"])
        phones = normalize.normalize_phones(phone_text, region, parsed=parsed_phones)
        phone_valid = phones["is_valid"]
        fail(
            ~phone_valid,
            "phone",
            f"Enter a valid phone number (international +… or a {region} number).",
        )
        clean["phone"] = phones["phone"]

    country = text("country", RAW_LIMITS["country"]).str.upper()
    bad_country = (country != "") & ~country.isin(_COUNTRY_CODES)
    fail(bad_country, "country", "Use a two-letter ISO 3166 country code, like US or FR.")
    clean["country"] = country.where(~bad_country, "")

    website_domain = (
        normalize.normalize_domains(clean["website"]) if "website" in frame.columns else blank
    )
    clean["company_domain"] = normalize.company_domains(emails["domain"], website_domain)
    clean["company_key"] = normalize.company_name_keys(clean["company_name"])

    for name, choices in CHOICE_FIELDS.items():
        clean[name] = (
            _choice(text(name, 60), choices, name, fail)
            if name in frame.columns
            else pd.Series("", index=index, dtype=object)
        )
    for name in DECIMAL_FIELDS:
        clean[name] = (
            _decimal(text(name, 40), name, fail)
            if name in frame.columns
            else pd.Series([None] * len(index), index=index, dtype=object)
        )
    for name in BOOLEAN_FIELDS:
        clean[name] = (
            _boolean(text(name, 20, kinds=(*TEXT_TYPES, bool)), name, fail)
            if name in frame.columns
            else pd.Series(False, index=index, dtype=bool)
        )
    if "custom" in frame.columns:
        clean["custom"] = _custom(frame["custom"], fail)
    else:
        clean["custom"] = pd.Series([None] * len(index), index=index, dtype=object)

    if allow_history:
        clean["created_at"] = _datetime(column("created_at"), "created_at", fail)
        clean["closed_at"] = _datetime(column("closed_at"), "closed_at", fail)
        clean["outcome"] = _choice(text("outcome", 20), Outcome, "outcome", fail).replace(
            "", Outcome.OPEN
        )
        clean["outcome_reason"] = text("outcome_reason", 300)

    has_identity = (
        (clean["email_key"] != "")
        | (clean["phone"] != "")
        | (clean["external_id"] != "")
        | (clean["name_key"] != "")
    )
    no_contact = ~has_identity & (emails["is_valid"] & phone_valid)
    fail(no_contact, "lead", "A lead needs an email, a phone, an external id or a name.")
    # copy=False: the columns are this call's own (pandas' copy-on-write guards a column
    # that two share, like ``blank``).
    return pd.DataFrame(clean, index=index, copy=False), errors


# Countries: every region phonenumbers knows, plus the few territories without phones.
_COUNTRY_CODES = sorted(phonenumbers.SUPPORTED_REGIONS | {"AQ", "BV", "GS", "HM", "TF", "UM"})
_CONTROL_CHARS = re.compile(normalize.CONTROL_CHARS)


def _choice(
    value: pd.Series,
    choices: type[Timeline] | type[DecisionRole] | type[Outcome],
    name: str,
    fail: Callable[[pd.Series, str, str], None],
) -> pd.Series:
    lookup = {str(v).lower(): str(v) for v in choices.values}
    lookup.update({str(label).lower(): str(v) for v, label in choices.choices})
    lookup[""] = ""
    mapped = value.str.lower().map(lookup)
    unknown = mapped.isna()
    fail(unknown, name, f"Choose one of: {', '.join(str(v) for v in choices.values)}.")
    return mapped.fillna("").astype(object)


def _decimal(value: pd.Series, name: str, fail: Callable[[pd.Series, str, str], None]) -> pd.Series:
    shaped = (value == "") | value.str.match(DECIMAL_PATTERN)
    fail(~shaped, name, "Enter a number with at most 12 digits and 2 decimals, like 1500.50.")
    negative = shaped & value.str.startswith("-")
    fail(negative, name, "Must not be negative.")
    good = shaped & ~negative & (value != "")
    result = pd.Series([None] * len(value), index=value.index, dtype=object)
    if good.any():
        result[good] = value[good].map(Decimal)
    return result


def _boolean(value: pd.Series, name: str, fail: Callable[[pd.Series, str, str], None]) -> pd.Series:
    word = value.str.lower()
    known = word.isin(TRUE_WORDS | FALSE_WORDS)
    fail(~known, name, "Enter yes or no (true/false).")
    return word.isin(TRUE_WORDS).astype(bool)


def _datetime(raw: pd.Series, name: str, fail: Callable[[pd.Series, str, str], None]) -> pd.Series:
    """Aware datetimes (UTC); naive values are taken as UTC. Missing stays NaT. A moment in
    history: before 1970 or over a day ahead is refused (``date_windows``).
    """
    if isinstance(raw.dtype, pd.DatetimeTZDtype):
        parsed = raw.dt.tz_convert("UTC")
    elif pd.api.types.is_datetime64_dtype(raw.dtype):
        parsed = raw.dt.tz_localize("UTC")
    else:
        text = normalize.clean_text(raw)
        parsed = pd.Series(pd.NaT, index=raw.index, dtype="datetime64[us, UTC]")
        present = text != ""
        if present.any():
            values = pd.to_datetime(text[present], utc=True, errors="coerce", format="ISO8601")
            parsed[present] = values
        fail(present & parsed.isna(), name, "Enter a date and time like 2024-05-31T14:30:00Z.")
    latest = pd.Timestamp(timezone.now() + HISTORY_AHEAD)
    outside = parsed.notna() & ((parsed < pd.Timestamp(EARLIEST)) | (parsed > latest))
    fail(outside, name, f"The date {HISTORY_MESSAGE}.")
    return parsed


def _custom(raw: pd.Series, fail: Callable[[pd.Series, str, str], None]) -> pd.Series:
    """Team-defined attributes: a flat object of text, numbers and yes/no values."""
    cleaned: list[dict[str, Any]] = []
    bad: list[bool] = []
    for value in raw.tolist():
        if value is None or (isinstance(value, float) and value != value):
            cleaned.append({})
            bad.append(False)
            continue
        result = _custom_value(value)
        cleaned.append(result or {})
        bad.append(result is None)
    mask = pd.Series(bad, index=raw.index, dtype=bool)
    fail(
        mask,
        "custom",
        f"Must be an object of at most {MAX_CUSTOM_KEYS} keys (letters, digits, - or _) "
        f"with text up to {CUSTOM_TEXT_LIMIT} characters, numbers or yes/no values.",
    )
    return pd.Series(cleaned, index=raw.index, dtype=object)


def _custom_value(value: object) -> dict[str, Any] | None:
    if not isinstance(value, Mapping) or len(value) > MAX_CUSTOM_KEYS:
        return None
    result: dict[str, Any] = {}
    for key, item in value.items():
        if not isinstance(key, str) or not re.fullmatch(CUSTOM_KEY_PATTERN, key):
            return None
        if item is None or (isinstance(item, float) and item != item):
            continue
        if isinstance(item, str):
            text = _CONTROL_CHARS.sub("", item).strip()
            if len(text) > CUSTOM_TEXT_LIMIT:
                return None
            if text:
                result[key] = text
        elif isinstance(item, bool | int) or (
            isinstance(item, float) and abs(item) != float("inf")
        ):
            result[key] = item
        else:
            return None
    return result
