"""Routing strategies: a registry of dotted paths, one module per strategy.

Every strategy module exposes ``choose(candidates, lead, rule) -> RepState | None``.
``candidates`` are the reps of the rule's team that are working now, present and under
both capacities (the caller filtered them), so a strategy only decides *who*, never
*whether*. To add one: write ``strategies/<name>.py`` with ``choose``, add it here and
to ``models.Strategy``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from importlib import import_module
from typing import Any

STRATEGIES: dict[str, str] = {
    "round_robin": "leadsieve.routing.strategies.round_robin.choose",
    "weighted_round_robin": "leadsieve.routing.strategies.weighted_round_robin.choose",
    "least_loaded": "leadsieve.routing.strategies.least_loaded.choose",
    "named_owner": "leadsieve.routing.strategies.named_owner.choose",
}


@dataclass
class RepState:
    """A rep's load during one batch: loaded once, updated in memory as leads are placed."""

    user_id: int
    name: str
    team_id: int | None
    weight: int
    max_new_per_day: int
    max_open: int
    new_today: int
    open_leads: int
    last_assigned_at: datetime | None
    # Why the rep cannot take leads now ("out of office", "outside working hours"), or "".
    unavailable: str = ""
    # Order of the rep's last pick inside this batch: breaks ties of equal timestamps.
    turn: int = 0

    def has_capacity(self) -> bool:
        return self.new_today < self.max_new_per_day and self.open_leads < self.max_open

    def why_not(self) -> str:
        if self.unavailable:
            return self.unavailable
        if self.new_today >= self.max_new_per_day:
            return f"at daily capacity ({self.new_today}/{self.max_new_per_day})"
        if self.open_leads >= self.max_open:
            return f"at open-lead capacity ({self.open_leads}/{self.max_open})"
        return ""


Choose = Callable[[list[RepState], Any, Any], "RepState | None"]


@cache
def get_strategy(name: str) -> Choose:
    """The ``choose`` function registered as ``name``; ``KeyError`` if unknown."""
    module_name, _, attribute = STRATEGIES[name].rpartition(".")
    return getattr(import_module(module_name), attribute)  # type: ignore[no-any-return]
