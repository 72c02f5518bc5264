"""How a report cell reads on the page, by its column's kind (the data stays raw in JSON/CSV)."""

from __future__ import annotations

from typing import Any

from django import template

from leadsieve.insights.tables import Column

register = template.Library()


@register.filter
def cell(row: dict[str, Any] | None, column: Column) -> str:
    value = (row or {}).get(column.key)
    if value is None or value == "":
        return "–"
    kind = column.kind
    if kind == "rate":
        return f"{float(value) * 100:.1f} %"
    if kind == "money":
        return f"{float(value):,.2f}"
    if kind in ("hours", "days"):
        return f"{float(value):.1f} {'h' if kind == 'hours' else 'd'}"
    if kind == "int":
        return f"{int(value):,}"
    if kind == "number":
        return f"{float(value):,.2f}"
    return str(value)


@register.filter
def at(items: Any, index: int) -> Any:
    """``items[index]``, or empty when out of range (a table's drill links)."""
    try:
        return items[index]
    except (IndexError, KeyError, TypeError):
        return ""
