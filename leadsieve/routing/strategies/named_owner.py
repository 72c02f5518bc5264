"""Named owner: the rule names the rep (key accounts); nobody else takes the lead.

When the named rep is away or full the lead waits in the queue with that reason rather
than going to somebody the rule did not name.
"""

from __future__ import annotations

from typing import Any

from leadsieve.routing.strategies import RepState


def choose(candidates: list[RepState], lead: Any, rule: Any) -> RepState | None:
    wanted = getattr(rule, "named_owner_id", None)
    return next((rep for rep in candidates if rep.user_id == wanted), None)
