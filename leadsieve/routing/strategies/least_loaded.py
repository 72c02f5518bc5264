"""Least loaded: the rep with the fewest open leads takes the next one."""

from __future__ import annotations

from typing import Any

from leadsieve.routing.strategies import RepState


def choose(candidates: list[RepState], lead: Any, rule: Any) -> RepState | None:
    if not candidates:
        return None
    return min(candidates, key=lambda rep: (rep.open_leads, rep.new_today, rep.user_id))
