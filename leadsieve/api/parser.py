"""The API's JSON body parser: what ``json.loads`` lets through but no field can hold.

Python's ``json`` reads ``1e400`` as infinity, integers of any size, and ``"\\ud800"`` as a
lone surrogate that neither SQLite nor PostgreSQL can store; and a deeply nested body
exhausts its recursion. Each of those answered 500 somewhere down the line. Here they are
refused before any schema runs: malformed JSON is a 400 (``MalformedJson``), a value no
field can hold a 422 naming its dotted path (``ValueRefused``), like any refused value.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from django.http import HttpRequest
from ninja.parser import Parser

# Integers a database column or JSON value can hold (and most JSON clients can read back).
BODY_INT_MAX = 2**63 - 1
NUMBER_MESSAGE = "Must be a finite number; integers at most 9223372036854775807 either way."
TEXT_MESSAGE = "Must be valid Unicode text (a lone surrogate such as \\ud800 is not)."
# What a UTF-8 body must contain for ``json.loads`` to give a value ``find_refused_value``
# refuses: a surrogate (as a ``\\u`` escape, or as raw bytes, which ``json.loads`` decodes
# with "surrogatepass"), or a number (at the start, or after ``:``, ``[`` or ``,``) with
# 19 digits or more before any fraction (an integer beyond 64 bits has 19; a float that
# overflows without an exponent, 309; with 2 exponent digits, 210) or with a 3-digit
# exponent. A match inside a string (``"a, 1234567890123456789"``) only costs the walk.
MAY_BE_REFUSED = re.compile(
    rb"\\u[dD][89a-fA-F]|\xed[\xa0-\xbf]"
    rb"|(?:^(?:\xef\xbb\xbf)?|[:\[,])\s*-?(?:\d{19}|\d+(?:\.\d+)?[eE][+-]?\d{3})"
)


class MalformedJson(ValueError):
    """Not JSON at all: answered 400 with this message."""


class ValueRefused(ValueError):
    """Valid JSON holding a value no field can take: answered 422 naming ``field``."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def _is_text(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def may_hold_refused_value(raw: bytes) -> bool:
    """Whether the JSON text ``raw`` may parse to a value ``find_refused_value`` refuses.

    One scan in C of the bytes instead of a walk in Python over every value of the parsed
    body (a bulk call's 1,000 leads: some 5,000 values). False only when sure: a body in
    UTF-16 or UTF-32 (which ``json.loads`` also reads) is always walked.
    """
    if json.detect_encoding(raw) not in ("utf-8", "utf-8-sig"):
        return True
    return MAY_BE_REFUSED.search(raw) is not None


def find_refused_value(body: Any) -> ValueRefused | None:
    """The first value of ``body`` no field can hold, named by its dotted path; or None."""
    stack: list[tuple[Any, tuple[str, ...]]] = [(body, ())]
    while stack:
        item, where = stack.pop()
        field = ".".join(where) or "body"
        if isinstance(item, float) and not math.isfinite(item):
            return ValueRefused(field, NUMBER_MESSAGE)
        if isinstance(item, int) and not isinstance(item, bool) and abs(item) > BODY_INT_MAX:
            return ValueRefused(field, NUMBER_MESSAGE)
        if isinstance(item, str) and not _is_text(item):
            return ValueRefused(field, TEXT_MESSAGE)
        if isinstance(item, dict):
            for key, child in item.items():
                if not _is_text(key):
                    # The key itself cannot be echoed back: name the object holding it.
                    return ValueRefused(field, TEXT_MESSAGE)
                stack.append((child, (*where, key)))
        elif isinstance(item, list):
            stack.extend((child, (*where, str(index))) for index, child in enumerate(item))
    return None


class StrictJsonParser(Parser):
    """JSON only; the error says where it broke. NaN and Infinity are not JSON, and a value
    no field can hold (``1e400``, an integer beyond 64 bits, a lone surrogate) is refused
    naming its field.
    """

    def parse_body(self, request: HttpRequest) -> Any:
        def refuse_constant(name: str) -> Any:
            raise MalformedJson(f"{name} is not valid JSON")

        try:
            body = json.loads(request.body, parse_constant=refuse_constant)
        except json.JSONDecodeError as error:
            raise MalformedJson(
                f"Malformed JSON at line {error.lineno} column {error.colno}: {error.msg}."
            ) from None
        except UnicodeDecodeError:
            raise MalformedJson("The body is not UTF-8.") from None
        except ValueError:
            # Python refuses to read integers of more than 4,300 digits.
            raise MalformedJson("A number in the body has too many digits.") from None
        except RecursionError:
            raise MalformedJson("The body nests too deep.") from None
        refused = find_refused_value(body) if may_hold_refused_value(request.body) else None
        if refused is not None:
            raise refused
        return body
