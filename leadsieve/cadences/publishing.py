"""Publishing a team's cadence from the editor: a new version, recorded in the team's history.

``publish_cadence`` owns the checks (``CadenceError``); earlier versions, and the leads
enrolled in them, are never edited in place.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from leadsieve.accounts.models import Team, User
from leadsieve.accounts.teams import record_team_change
from leadsieve.cadences.models import Cadence
from leadsieve.cadences.services import publish_cadence


def publish_team_cadence(
    team: Team,
    *,
    user: User,
    key: str,
    name: str,
    horizon: str,
    steps: list[dict[str, Any]],
    exit_on: list[str],
) -> Cadence:
    """Publish the edited steps as the team's new current version of cadence ``key``.

    ``publish_cadence`` owns the transaction and the checks (``CadenceError``); earlier
    versions, and the leads enrolled in them, are left exactly as they were.
    """
    with transaction.atomic():
        cadence = publish_cadence(
            team=team, key=key, name=name, horizon=horizon, steps=steps, exit_on=exit_on
        )
        record_team_change(
            team,
            user=user,
            message=f"Cadence “{cadence.name}” ({key}) published as version {cadence.version} "
            f"with {len(steps)} steps",
        )
    return cadence
