"""Column-wise normalisation of what people type into forms and spreadsheets.

Every function takes a pandas Series (a single value is a Series of one) and returns a
Series or frame aligned on the same index, so the web form, the API and a one-million-row
import apply exactly the same rules at the speed of vectorised string operations.

No Django here (docs/decisions/0001): capture calls these with plain values and settings.
Empty input (None, NaN, blank) always normalises to ``""`` and is never an error: whether a
field is required is the caller's decision.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ProcessPoolExecutor

import pandas as pd
import phonenumbers

from leadsieve.engine.freemail import FREE_MAIL_DOMAINS

# The HTML standard's "valid e-mail address" (a willful violation of RFC 5322 that matches
# what browsers accept in <input type=email>), anchored.
EMAIL_PATTERN = (
    r"^[a-zA-Z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?"
    r"(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$"
)
DOMAIN_PATTERN = (
    r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+$"
)
# C0/C1 control characters except tab and newlines (kept in multi-line text), and DEL.
CONTROL_CHARS = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]"
# The next patterns hold the characters themselves, not \u escapes, and spell out Python's
# \s (str.isspace): pyarrow's RE2 engine accepts neither \u nor a Unicode \s, and for such
# a pattern pandas falls back to Python's re, one call per value (a third of an import's
# cleaning time).
UNICODE_SPACES = "\t\n\x0b\x0c\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
LINE_BREAKS = "[\t\r\n\u2028\u2029]+"
COMBINING_MARKS = "[\u0300-\u036f]"
SPACES = f"[{UNICODE_SPACES}]+"
# Legal forms dropped from company names before comparing them ("Acme Inc." == "ACME").
COMPANY_SUFFIXES = (
    r"\b(?:inc|incorporated|corp|corporation|co|company|ltd|limited|llc|llp|plc|gmbh|ag|sa|sas"
    r"|sarl|srl|spa|bv|nv|oy|ab|as|pty|kk|ltda|me|eireli)\b"
)
# What single-line text loses: control characters and line breaks (one character class).
_STRIPPED = CONTROL_CHARS[:-1] + LINE_BREAKS[1:-2] + "]"
# Distinct phone values above which parsing is spread over a process pool.
PHONE_POOL_MIN_VALUES = 10_000


def as_text(values: pd.Series) -> pd.Series:
    """The values as stripped strings with ``""`` for missing ones (None, NaN, NA)."""
    text = values if isinstance(values.dtype, pd.StringDtype) else values.astype("str")
    return text.fillna("").str.strip()


def clean_text(values: pd.Series, *, multiline: bool = False) -> pd.Series:
    """Strip control characters and surrounding space; single-line text also loses breaks.

    HTML and script are *not* touched: they are stored as the literal text that was sent
    and escaped where shown.
    """
    text = as_text(values)
    # Searching is cheaper than rewriting, and one search for both kinds cheaper than two:
    # most columns have nothing to strip, and then ``text`` is already stripped.
    if not text.str.contains(CONTROL_CHARS if multiline else _STRIPPED, regex=True).any():
        return text
    if text.str.contains(CONTROL_CHARS, regex=True).any():
        text = text.str.replace(CONTROL_CHARS, "", regex=True)
    if not multiline and text.str.contains(LINE_BREAKS, regex=True).any():
        text = text.str.replace(LINE_BREAKS, " ", regex=True)
    return text.str.strip()


def on_distinct(values: pd.Series, function: Callable[[pd.Series], pd.Series]) -> pd.Series:
    """Apply ``function`` once per distinct value: names, companies and domains repeat a lot."""
    text = as_text(values)
    codes, uniques = pd.factorize(text)
    if len(uniques) > len(text) // 2:
        return function(text)
    result = function(pd.Series(uniques, dtype="str")).to_numpy()
    return pd.Series(result[codes], index=values.index, dtype="str")


def normalize_names(values: pd.Series) -> pd.Series:
    """Trim, collapse spaces, and capitalise names typed ALL CAPS or all lower case.

    Mixed-case names ("McDonald", "van der Berg") are left as the person wrote them.
    """
    return on_distinct(values, _normalize_names)


def _normalize_names(values: pd.Series) -> pd.Series:
    text = clean_text(values).str.replace(SPACES, " ", regex=True)
    has_letters = text.str.contains(r"[^\W\d_]", regex=True)
    shouted = has_letters & ((text == text.str.upper()) | (text == text.str.lower()))
    return text.where(~shouted, text.str.title())


def fold(values: pd.Series) -> pd.Series:
    """Accent-folded, case-folded, single-spaced text for comparing names."""
    return on_distinct(values, _fold)


def _fold(values: pd.Series) -> pd.Series:
    text = clean_text(values).str.normalize("NFKD").str.replace(COMBINING_MARKS, "", regex=True)
    return text.str.casefold().str.replace(SPACES, " ", regex=True).str.strip()


def name_keys(first_names: pd.Series, last_names: pd.Series) -> pd.Series:
    """The dedupe key of a person's name: folded ``"first last"``; ``""`` when both are blank."""
    return (fold(first_names) + " " + fold(last_names)).str.strip()


def company_name_keys(names: pd.Series) -> pd.Series:
    """Folded company name without punctuation or legal form: "ACME, Inc." → "acme"."""
    return on_distinct(names, _company_name_keys)


def _company_name_keys(names: pd.Series) -> pd.Series:
    text = _fold(names).str.replace(r"[^\w\s]", " ", regex=True)
    text = text.str.replace(COMPANY_SUFFIXES, " ", regex=True)
    return text.str.replace(SPACES, " ", regex=True).str.strip()


def normalize_emails(values: pd.Series) -> pd.DataFrame:
    """Columns ``email`` (trimmed, domain lower-cased), ``email_key`` (all lower-cased),
    ``domain`` and ``is_valid`` (False only for a non-blank value that is not an address).
    """
    text = clean_text(values)
    has_at = text.str.contains("@", regex=False)
    local = text.str.replace(r"@[^@]*$", "", regex=True)
    domain = text.str.replace(r"^.*@", "", regex=True).str.lower().str.rstrip(".")
    email = (local + "@" + domain).where(has_at, text)
    is_valid = (text == "") | (email.str.match(EMAIL_PATTERN) & (email.str.len() <= 254))
    present = is_valid & (text != "")
    return pd.DataFrame(
        {
            "email": email.where(is_valid, text),
            "email_key": email.str.lower().where(present, ""),
            "domain": domain.where(present, ""),
            "is_valid": is_valid.astype(bool),
        },
        index=values.index,
    )


def normalize_domains(values: pd.Series) -> pd.Series:
    """A website or URL reduced to its host name: "https://WWW.Acme.com/x" → "acme.com".

    Anything that is not a plausible public host name becomes ``""``.
    """
    return on_distinct(values, _normalize_domains)


def _normalize_domains(values: pd.Series) -> pd.Series:
    text = clean_text(values).str.lower()
    host = text.str.replace(r"^[a-z][a-z0-9+.-]*://", "", regex=True)
    host = host.str.replace(r"^[^/?#]*@", "", regex=True)  # user:password@
    host = host.str.replace(r"[/?#:].*$", "", regex=True)
    host = host.str.rstrip(".").str.replace(r"^www\d?\.", "", regex=True)
    is_host = host.str.match(DOMAIN_PATTERN) & (host.str.len() <= 253)
    return host.where(is_host, "")


def is_free_mail(domains: pd.Series) -> pd.Series:
    """True where the (lower-cased) domain belongs to a free-mail provider."""
    return domains.isin(FREE_MAIL_DOMAINS)


def company_domains(email_domains: pd.Series, website_domains: pd.Series) -> pd.Series:
    """The company's domain: the website's, else the email's unless it is free-mail."""
    from_email = email_domains.where(~is_free_mail(email_domains), "")
    return website_domains.where(website_domains != "", from_email)


def phone_keys(values: pd.Series) -> pd.Series:
    """The text each phone value is parsed as (``""`` for blanks): digits with a leading ``+``
    kept, so "(415) 555-0100" and "415.555.0100" are parsed once; values with letters
    (extensions, vanity numbers) are parsed as written."""
    text = clean_text(values)
    has_letters = text.str.contains(r"[A-Za-z]", regex=True)
    digits = text.str.replace(r"[^\d+]", "", regex=True)
    digits = digits.str[:1] + digits.str[1:].str.replace("+", "", regex=False)
    return text.where(has_letters, digits)


def parse_phones(values: Iterable[str], region: str) -> list[str]:
    """E.164 for each value, or ``""`` when it is not a valid number."""
    parsed: list[str] = []
    for value in values:
        try:
            number = phonenumbers.parse(value, region)
        except phonenumbers.NumberParseException:
            parsed.append("")
            continue
        if phonenumbers.is_valid_number(number):
            parsed.append(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))
        else:
            parsed.append("")
    return parsed


def _pieces(values: list[str], count: int) -> list[list[str]]:
    size = max(-(-len(values) // count), 1)
    return [values[i : i + size] for i in range(0, len(values), size)]


def _parse_in_pool(values: list[str], region: str, workers: int) -> list[str]:
    with ProcessPoolExecutor(max_workers=workers) as pool:
        pieces = _pieces(values, workers)
        results = pool.map(parse_phones, pieces, [region] * len(pieces))
        return [phone for piece in results for phone in piece]


def normalize_phones(
    values: pd.Series,
    default_region: str,
    *,
    workers: int | None = None,
    parsed: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Columns ``phone`` (E.164, ``""`` when blank or invalid) and ``is_valid``.

    Each distinct value is parsed once; big batches use a process pool of ``workers``
    (default: the machine's cores) because phonenumbers is pure Python. ``parsed`` holds
    values already parsed (``parse_phones`` of ``phone_keys``, e.g. in an import's worker
    process); only the others are parsed here.
    """
    text = clean_text(values)
    canonical = phone_keys(text)
    known = parsed or {}
    distinct = [value for value in canonical.unique().tolist() if value and value not in known]
    workers = workers or os.cpu_count() or 1
    if workers > 1 and len(distinct) >= PHONE_POOL_MIN_VALUES:
        found = _parse_in_pool(distinct, default_region, workers)
    else:
        found = parse_phones(distinct, default_region)
    lookup = {**known, **dict(zip(distinct, found, strict=True)), "": ""}
    phone = canonical.map(lookup).fillna("").astype("object")
    return pd.DataFrame(
        {"phone": phone, "is_valid": ((text == "") | (phone != "")).astype(bool)},
        index=values.index,
    )
