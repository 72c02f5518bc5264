"""Demo routing data for ``leadsieve load-demo``: profiles, rules, SLAs, then assignment."""

from __future__ import annotations

import random
from datetime import UTC, datetime, time, timedelta

from django.db.models import Q
from django.utils import timezone

from leadsieve.accounts.models import Role, Team, User
from leadsieve.leads.models import Lead
from leadsieve.routing.models import Absence, Holiday, RepProfile, SLAPolicy
from leadsieve.routing.services import assign_leads, save_rule

STRATEGIES = ("round_robin", "weighted_round_robin", "least_loaded")
# Territory by the team's time-zone region: enough for a believable demo.
REGION_OF = {
    **dict.fromkeys(["US", "CA", "MX", "BR", "AR", "CL", "CO"], "America"),
    **dict.fromkeys(
        [
            "GB",
            "IE",
            "FR",
            "DE",
            "NL",
            "BE",
            "ES",
            "IT",
            "PT",
            "CH",
            "AT",
            "SE",
            "DK",
            "NO",
            "FI",
            "PL",
            "CZ",
        ],
        "Europe",
    ),
    **dict.fromkeys(["JP", "CN", "IN", "SG", "KR", "AU", "NZ"], "Asia"),
}


def last_working_morning() -> datetime:
    """The latest weekday 10:00 UTC not after now: reps are at work, deadlines are real."""
    moment = datetime.combine(timezone.now().date(), time(10, 0), tzinfo=UTC)
    if moment > timezone.now():
        moment -= timedelta(days=1)
    while moment.weekday() >= 5:
        moment -= timedelta(days=1)
    return moment


def seed_demo(rng: random.Random) -> None:
    """Give every rep a profile, each team a rule and SLA policies, then place the leads."""
    reps = list(User.objects.filter(Q(role=Role.REP) | Q(role=Role.MANAGER)).exclude(team=None))
    for rep in reps:
        RepProfile.objects.get_or_create(
            user=rep,
            defaults={
                "max_new_per_day": rng.choice([15, 20, 30]),
                "max_open": rng.choice([80, 120, 200]),
                "weight": rng.choice([1, 1, 2]),
                "accepts_leads": rep.role == Role.REP,
            },
        )
    if reps:
        away = rng.choice(reps)
        today = timezone.now().date()
        Absence.objects.get_or_create(
            user=away,
            starts_on=today,
            defaults={"ends_on": today + timedelta(days=4), "reason": "Holiday"},
        )
    teams = list(Team.objects.all())
    countries = set(Lead.objects.exclude(country="").values_list("country", flat=True))
    for number, team in enumerate(teams):
        SLAPolicy.objects.get_or_create(
            team=team, horizon="short", defaults={"first_response_hours": 2, "next_touch_days": 2}
        )
        SLAPolicy.objects.get_or_create(
            team=team, horizon="long", defaults={"first_response_hours": 16, "next_touch_days": 15}
        )
        region = team.timezone.partition("/")[0]
        share = sorted(c for c in countries if REGION_OF.get(c) == region)
        if share:
            save_rule(
                name=f"{team.name}: {', '.join(share[:8])}",
                team=team,
                position=10 + number,
                conditions=[{"field": "country", "op": "in", "value": share}],
                strategy=STRATEGIES[number % len(STRATEGIES)],
            )
    if teams:
        save_rule(name="Everything else", team=teams[0], position=1000, conditions=[])
        Holiday.objects.get_or_create(
            day=timezone.now().date().replace(month=12, day=25), defaults={"name": "Christmas"}
        )
    assign_leads(
        Lead.objects.filter(owner__isnull=True, merged_into__isnull=True),
        now=last_working_morning(),
        via="demo",
    )
