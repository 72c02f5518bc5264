"""Weighted round robin: each rep's share of today's leads follows their weight.

The rep furthest below their share (new leads today divided by weight) takes the next
lead, so a rep of weight 2 receives two leads for every one of a rep of weight 1.
"""

from __future__ import annotations

from typing import Any

from leadsieve.routing.strategies import RepState


def choose(candidates: list[RepState], lead: Any, rule: Any) -> RepState | None:
    if not candidates:
        return None
    return min(
        candidates,
        key=lambda rep: ((rep.new_today + 1) / max(rep.weight, 1), -rep.weight, rep.user_id),
    )
