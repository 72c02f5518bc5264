"""``normalize``'s rules for one value at a time: the single-lead capture path.

Each function here is the scalar twin of the column-wise function of the same name in
``leadsieve.engine.normalize``, built from the same patterns (imported from there, never
copied), with Python's ``re`` semantics, which pandas also applies to these patterns. A web
form or API lead is one row: building Series for it costs ~50 ms of pandas overhead, the
rules themselves a few microseconds. Case mapping, trimming and Unicode normalisation go
through the same Arrow kernels pandas' string columns use (``pyarrow.compute`` on one
scalar), whose rules differ from Python's ``str`` methods on some characters ("ß".upper()).
``tests/engine/test_normalize_value.py`` proves the twins equal on generated text (Unicode,
control characters, odd spacing).

No Django here (docs/decisions/0001).
"""

from __future__ import annotations

import re

import pyarrow.compute as pc

from leadsieve.engine.freemail import FREE_MAIL_DOMAINS
from leadsieve.engine.normalize import (
    COMBINING_MARKS,
    COMPANY_SUFFIXES,
    CONTROL_CHARS,
    DOMAIN_PATTERN,
    EMAIL_PATTERN,
    LINE_BREAKS,
    SPACES,
    parse_phones,
)

_CONTROL = re.compile(CONTROL_CHARS)
_LINE_BREAKS = re.compile(LINE_BREAKS)
_SPACES = re.compile(SPACES)
_COMBINING = re.compile(COMBINING_MARKS)
_SUFFIXES = re.compile(COMPANY_SUFFIXES)
_PUNCTUATION = re.compile(r"[^\w\s]")
_LETTER = re.compile(r"[^\W\d_]")
_EMAIL = re.compile(EMAIL_PATTERN)
_DOMAIN = re.compile(DOMAIN_PATTERN)
_LOCAL_PART = re.compile(r"@[^@]*$")
_UP_TO_AT = re.compile(r"^.*@")
_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*://")
_USER_INFO = re.compile(r"^[^/?#]*@")
_PATH = re.compile(r"[/?#:].*$")
_WWW = re.compile(r"^www\d?\.")
_ASCII_LETTER = re.compile(r"[A-Za-z]")
_NOT_PHONE_DIGIT = re.compile(r"[^\d+]")


# On ASCII text Python's ``str`` methods and the Arrow kernels agree (the trimmed
# whitespace includes \x1c-\x1f in both; tests/engine/test_normalize_value.py checks every
# ASCII character), and take a tenth of the time of a call into Arrow for one value: the
# kernels are kept for the rest of Unicode, where the rules differ ("ß".upper()).


def _strip(value: str) -> str:
    if value.isascii():
        return value.strip()
    return str(pc.utf8_trim_whitespace(value).as_py())


def upper(value: str) -> str:
    if value.isascii():
        return value.upper()
    return str(pc.utf8_upper(value).as_py())


def lower(value: str) -> str:
    if value.isascii():
        return value.lower()
    return str(pc.utf8_lower(value).as_py())


def _title(value: str) -> str:
    if value.isascii():
        return value.title()
    return str(pc.utf8_title(value).as_py())


def _rstrip_dots(value: str) -> str:
    if value.isascii():
        return value.rstrip(".")
    return str(pc.utf8_rtrim(value, characters=".").as_py())


def clean_text(value: str, *, multiline: bool = False) -> str:
    """``normalize.clean_text`` of one text value."""
    text = _CONTROL.sub("", _strip(value))
    if not multiline:
        text = _LINE_BREAKS.sub(" ", text)
    return _strip(text)


def normalize_name(value: str) -> str:
    """``normalize.normalize_names`` of one value."""
    text = _SPACES.sub(" ", clean_text(value))
    shouted = _LETTER.search(text) is not None and (text == upper(text) or text == lower(text))
    return _title(text) if shouted else text


def fold(value: str) -> str:
    """``normalize.fold`` of one value."""
    text = clean_text(value)
    if text:
        text = _COMBINING.sub("", str(pc.utf8_normalize(text, form="NFKD").as_py()))
    return _strip(_SPACES.sub(" ", text.casefold()))


def name_key(first_name: str, last_name: str) -> str:
    """``normalize.name_keys`` of one person."""
    return _strip(fold(first_name) + " " + fold(last_name))


def company_name_key(name: str) -> str:
    """``normalize.company_name_keys`` of one name."""
    text = _PUNCTUATION.sub(" ", fold(name))
    text = _SUFFIXES.sub(" ", text)
    return _strip(_SPACES.sub(" ", text))


def normalize_email(value: str) -> tuple[str, str, str, bool]:
    """``normalize.normalize_emails`` of one value: ``(email, email_key, domain, is_valid)``."""
    text = clean_text(value)
    local = _LOCAL_PART.sub("", text, count=1)
    domain = _rstrip_dots(lower(_UP_TO_AT.sub("", text, count=1)))
    email = local + "@" + domain if "@" in text else text
    is_valid = text == "" or (_EMAIL.match(email) is not None and len(email) <= 254)
    present = is_valid and text != ""
    return (
        email if is_valid else text,
        lower(email) if present else "",
        domain if present else "",
        is_valid,
    )


def normalize_domain(value: str) -> str:
    """``normalize.normalize_domains`` of one value."""
    host = _SCHEME.sub("", lower(clean_text(value)), count=1)
    host = _USER_INFO.sub("", host, count=1)
    host = _PATH.sub("", host, count=1)
    host = _WWW.sub("", _rstrip_dots(host), count=1)
    return host if _DOMAIN.match(host) is not None and len(host) <= 253 else ""


def company_domain(email_domain: str, website_domain: str) -> str:
    """``normalize.company_domains`` of one lead."""
    if website_domain:
        return website_domain
    return "" if email_domain in FREE_MAIL_DOMAINS else email_domain


def phone_key(value: str) -> str:
    """``normalize.phone_keys`` of one value."""
    text = clean_text(value)
    if _ASCII_LETTER.search(text):
        return text
    digits = _NOT_PHONE_DIGIT.sub("", text)
    return digits[:1] + digits[1:].replace("+", "")


def normalize_phone(value: str, default_region: str) -> tuple[str, bool]:
    """``normalize.normalize_phones`` of one value: ``(E.164 or "", is_valid)``."""
    text = clean_text(value)
    key = phone_key(text)
    phone = parse_phones([key], default_region)[0] if key else ""
    return phone, text == "" or phone != ""


__all__ = [
    "clean_text",
    "company_domain",
    "company_name_key",
    "fold",
    "lower",
    "name_key",
    "normalize_domain",
    "normalize_email",
    "normalize_name",
    "normalize_phone",
    "phone_key",
    "upper",
]
