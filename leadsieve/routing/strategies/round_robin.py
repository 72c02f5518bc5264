"""Round robin: the rep who received a lead longest ago takes the next one.

Using the last assignment time (kept in the database) instead of a pointer means the
turn survives restarts and concurrent workers without a shared counter.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from leadsieve.routing.strategies import RepState

NEVER = datetime.min.replace(tzinfo=UTC)


def choose(candidates: list[RepState], lead: Any, rule: Any) -> RepState | None:
    if not candidates:
        return None
    return min(candidates, key=lambda rep: (rep.last_assigned_at or NEVER, rep.turn, rep.user_id))
