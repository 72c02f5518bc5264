"""Personal data kept out of the logs: emails and phone numbers are masked in every line.

URLs carry them (``/api/v1/leads?email=noah.garcia@example.com``, a form's referrer), and
logs are kept longer and read by more people than the leads themselves. So the access log
(``MaskedAccessLogger``, gunicorn's ``logger_class``) and every record of Django's loggers
(``MaskPersonalData``, a filter on the console handler) go through ``mask_personal_data``:

- an email keeps its first character and its domain: ``n***@example.com``;
- a phone number keeps its ``+``, its first two and its last two digits: ``+33*******78``.
  A phone is a ``+`` followed by 7 to 15 digits (spaces, dots, dashes and brackets allowed),
  or a query value made only of such characters (dates are left alone).

Both forms are recognised raw or percent-encoded (``%40``, ``%2B``, ``%20``), as a
request line shows them. Masking may over-mask (a 10-digit number in a query value); it
must never under-mask an email or a ``+`` phone number.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from gunicorn.glogging import Logger

MIN_PHONE_DIGITS = 7
MAX_PHONE_DIGITS = 15
# Access-log atoms that can carry a URL or a query string.
URL_ATOMS = ("r", "U", "q", "f")

_SEPARATOR = r"(?:[ .()\-]|%20|%28|%29)"
EMAIL = re.compile(
    r"(?P<first>[A-Za-z0-9_+-])[A-Za-z0-9._%+-]*(?P<at>@|%40)"
    r"(?P<domain>[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,})",
    re.IGNORECASE,
)
PLUS_PHONE = re.compile(rf"(?P<plus>\+|%2B)(?P<number>\d(?:\d|{_SEPARATOR}|\+){{5,30}}\d)", re.I)
QUERY_PHONE = re.compile(
    rf"(?P<key>[?&;][^=&;\s\"]*=)(?P<plus>\+|%2B)?(?P<number>\(?\d(?:\d|{_SEPARATOR}|\+){{5,30}}\d)"
    r"(?=[&;#\s\"]|$)",
    re.I,
)
DATE_LIKE = re.compile(r"^\d{4}-\d{2}-\d{2}")


def _masked_digits(number: str) -> str | None:
    digits = re.sub(r"\D", "", re.sub(r"%2[089]", "", number, flags=re.I))
    if not MIN_PHONE_DIGITS <= len(digits) <= MAX_PHONE_DIGITS:
        return None
    return digits[:2] + "*" * (len(digits) - 4) + digits[-2:]


def _mask_email(match: re.Match[str]) -> str:
    return f"{match['first']}***{match['at']}{match['domain']}"


def _mask_plus_phone(match: re.Match[str]) -> str:
    masked = _masked_digits(match["number"])
    return match[0] if masked is None else f"{match['plus']}{masked}"


def _mask_query_phone(match: re.Match[str]) -> str:
    if DATE_LIKE.match(match["number"]):
        return match[0]
    masked = _masked_digits(match["number"])
    return match[0] if masked is None else f"{match['key']}{match['plus'] or ''}{masked}"


def mask_personal_data(text: str) -> str:
    """``text`` with every email and phone number masked (see the module docstring)."""
    if "@" in text or "%40" in text:
        text = EMAIL.sub(_mask_email, text)
    text = QUERY_PHONE.sub(_mask_query_phone, text)
    return PLUS_PHONE.sub(_mask_plus_phone, text)


class MaskPersonalData(logging.Filter):
    """A handler filter: the record's final message, masked (its arguments merged in)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_personal_data(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


class MaskedAccessLogger(Logger):  # type: ignore[misc]  # gunicorn is untyped
    """gunicorn's logger, with the request line, path, query and referrer masked."""

    def atoms(self, resp: Any, req: Any, environ: Any, request_time: Any) -> dict[str, Any]:
        atoms: dict[str, Any] = super().atoms(resp, req, environ, request_time)
        for key in URL_ATOMS:
            if isinstance(atoms.get(key), str):
                atoms[key] = mask_personal_data(atoms[key])
        return atoms
