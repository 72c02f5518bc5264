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
# A surrogate reaches a parsed string only as a ``\\u`` escape or (``json.loads`` decodes
# with "surrogatepass") as raw UTF-8 bytes; each is found by a search for a literal.
SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
RAW_SURROGATE = re.compile(rb"\xed[\xa0-\xbf]")
# An integer of this many characters (or more) may be beyond 64 bits.
LONG_INT_CHARS = 19


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


def may_hold_surrogate(raw: bytes) -> bool:
    """Whether the JSON text ``raw`` may hold a string with a surrogate (a lone one, or a
    pair written as two escapes). True for a body in UTF-16 or UTF-32, which ``json.loads``
    also reads and these searches cannot."""
    if json.detect_encoding(raw) not in ("utf-8", "utf-8-sig"):
        return True
    return SURROGATE_ESCAPE.search(raw) is not None or RAW_SURROGATE.search(raw) is not None


def read_json(raw: bytes) -> Any:
    """``raw`` parsed; raises ``MalformedJson`` for what is not JSON and ``ValueRefused``
    (``find_refused_value``) for a value no field can hold.

    The parser reports each number that may be refused (an infinite float, a long
    integer) and a search of the bytes finds a possible surrogate; only then is the parsed
    body walked, in Python, value by value (a bulk call's 1,000 leads: some 5,000 values,
    more time than parsing them).
    """
    suspect = False

    def refuse_constant(name: str) -> Any:
        raise MalformedJson(f"{name} is not valid JSON")

    def read_int(text: str) -> int:
        nonlocal suspect
        suspect = suspect or len(text) >= LONG_INT_CHARS
        return int(text)

    def read_float(text: str) -> float:
        nonlocal suspect
        value = float(text)
        suspect = suspect or not math.isfinite(value)
        return value

    try:
        body = json.loads(
            raw, parse_constant=refuse_constant, parse_int=read_int, parse_float=read_float
        )
    except MalformedJson:
        raise
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
    if suspect or may_hold_surrogate(raw):
        refused = find_refused_value(body)
        if refused is not None:
            raise refused
    return body


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
        return read_json(request.body)
