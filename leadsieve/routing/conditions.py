"""Rule conditions as data: ``{"field": "country", "op": "in", "value": ["FR", "BE"]}``.

One small evaluator, no ``eval``: a field path is read from the lead (``rating``,
``company.industry``, ``source.name``, ``custom.product_line``), then compared by one of
``OPERATORS``. Invalid conditions are refused when a rule is saved (``validate_conditions``),
so routing never meets one at run time; a missing value simply does not match.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

# Relations a condition may follow: each is a foreign key of Lead loaded with the batch.
RELATIONS = frozenset({"company", "source", "campaign", "team"})
MAX_CONDITIONS = 50


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None or value == "":
        return None
    if isinstance(value, int | float | Decimal):
        return float(value)
    try:
        return float(str(value))
    except ValueError:
        return None


def _compare(check: Callable[[float, float], bool]) -> Callable[[Any, Any], bool]:
    def compare(actual: Any, expected: Any) -> bool:
        left, right = _number(actual), _number(expected)
        return left is not None and right is not None and check(left, right)

    return compare


def _text(value: Any) -> str:
    return "" if value is None else str(value).casefold()


def _in(actual: Any, expected: Any) -> bool:
    return _text(actual) in {_text(item) for item in expected}


OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "eq": lambda actual, expected: _text(actual) == _text(expected),
    "ne": lambda actual, expected: _text(actual) != _text(expected),
    "in": _in,
    "not_in": lambda actual, expected: not _in(actual, expected),
    "gt": _compare(lambda a, b: a > b),
    "gte": _compare(lambda a, b: a >= b),
    "lt": _compare(lambda a, b: a < b),
    "lte": _compare(lambda a, b: a <= b),
    "contains": lambda actual, expected: _text(expected) in _text(actual),
    "startswith": lambda actual, expected: _text(actual).startswith(_text(expected)),
    "is_empty": lambda actual, expected: actual in (None, ""),
    "not_empty": lambda actual, expected: actual not in (None, ""),
}
LIST_OPERATORS = frozenset({"in", "not_in"})
NO_VALUE_OPERATORS = frozenset({"is_empty", "not_empty"})


class InvalidCondition(ValueError):
    """A rule condition that cannot be evaluated; the message names the condition."""


def read_field(lead: Any, path: str) -> Any:
    """The value at ``path`` on ``lead``: a column, ``relation.column`` or ``custom.key``."""
    head, _, rest = path.partition(".")
    if not rest:
        return getattr(lead, head, None)
    if head == "custom":
        return (lead.custom or {}).get(rest)
    related = getattr(lead, head, None) if head in RELATIONS else None
    if related is None:
        return None
    sub_head, _, sub_rest = rest.partition(".")
    if sub_head == "custom" and sub_rest:
        return (related.custom or {}).get(sub_rest)
    return getattr(related, rest, None)


def matches(lead: Any, conditions: Sequence[dict[str, Any]]) -> bool:
    """True when every condition holds (an empty list matches every lead)."""
    for condition in conditions:
        operator = OPERATORS[condition["op"]]
        if not operator(read_field(lead, condition["field"]), condition.get("value")):
            return False
    return True


def validate_conditions(conditions: Any, *, lead_fields: frozenset[str]) -> None:
    """Raise ``InvalidCondition`` naming the first bad condition (by its position)."""
    if not isinstance(conditions, list):
        raise InvalidCondition("conditions must be a list of {field, op, value}")
    if len(conditions) > MAX_CONDITIONS:
        raise InvalidCondition(f"at most {MAX_CONDITIONS} conditions per rule")
    for number, condition in enumerate(conditions, start=1):
        where = f"condition {number}"
        if not isinstance(condition, dict):
            raise InvalidCondition(f"{where}: must be an object with field, op and value")
        unknown = set(condition) - {"field", "op", "value"}
        if unknown:
            raise InvalidCondition(f"{where}: unknown keys {sorted(unknown)}")
        field, op = condition.get("field"), condition.get("op")
        if not isinstance(field, str) or not field:
            raise InvalidCondition(f"{where}: 'field' must be a non-empty string")
        head, _, rest = field.partition(".")
        if rest and head not in RELATIONS | {"custom"}:
            raise InvalidCondition(f"{where}: cannot follow {head!r} in field {field!r}")
        if not rest and head not in lead_fields:
            raise InvalidCondition(f"{where}: lead has no field {field!r}")
        if op not in OPERATORS:
            raise InvalidCondition(
                f"{where}: unknown operator {op!r}; use one of {sorted(OPERATORS)}"
            )
        value = condition.get("value")
        if op in LIST_OPERATORS and not isinstance(value, list):
            raise InvalidCondition(f"{where}: operator {op!r} needs a list value")
        if (
            op not in NO_VALUE_OPERATORS
            and op not in LIST_OPERATORS
            and isinstance(value, list | dict)
        ):
            raise InvalidCondition(f"{where}: operator {op!r} needs a single value")


def _getter(path: str) -> Callable[[Any], Any]:
    head, _, rest = path.partition(".")
    if not rest:
        return lambda lead: getattr(lead, head, None)
    return lambda lead: read_field(lead, path)


def _check(op: str, value: Any) -> Callable[[Any], bool]:
    if op in LIST_OPERATORS:
        expected = frozenset(_text(item) for item in value)
        if op == "in":
            return lambda actual: _text(actual) in expected
        return lambda actual: _text(actual) not in expected
    if op == "eq":
        wanted = _text(value)
        return lambda actual: _text(actual) == wanted
    operator = OPERATORS[op]
    return lambda actual: operator(actual, value)


def compile_conditions(conditions: Sequence[dict[str, Any]]) -> Callable[[Any], bool]:
    """``matches`` with the expected values prepared once: for batches of thousands."""
    checks = [(_getter(c["field"]), _check(c["op"], c.get("value"))) for c in conditions]
    return lambda lead: all(check(get(lead)) for get, check in checks)
