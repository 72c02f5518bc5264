"""Demo routing data for ``leadsieve load-demo``: profiles, rules, deadlines, then assignment."""

from __future__ import annotations

import random
from datetime import UTC, datetime, time, timedelta

from django.db.models import Q
from django.utils import timezone

from leadsieve.accounts.models import Role, Team, User
from leadsieve.leads.models import Activity, ActivityKind, Channel, Lead
from leadsieve.routing.models import Absence, Assignment, DeadlinePolicy, Holiday, RepProfile
from leadsieve.routing.queries import get_calendars
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
    """Give every rep a profile, each team a rule and deadline policies, then place the leads."""
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
        DeadlinePolicy.objects.get_or_create(
            team=team, horizon="short", defaults={"first_response_hours": 2, "next_touch_days": 2}
        )
        DeadlinePolicy.objects.get_or_create(
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
    # Its own generator, seeded from the shared one without drawing from it: the seeders
    # after this one see the same random sequence as before.
    record_demo_assignments(random.Random(hash(rng.getstate())))
    assign_leads(
        Lead.objects.filter(owner__isnull=True, merged_into__isnull=True),
        now=last_working_morning(),
        via="demo",
    )


# Median working minutes from assignment to a rep's first call, by demo rep: some answer at
# once, some let leads wait (the speed-to-lead page must show them apart).
DEMO_REP_PACE = {"olivia": 4.0, "ethan": 25.0, "mia": 90.0, "lukas": 12.0, "chloe": 240.0}
DEFAULT_PACE = 600.0
# Share of the leads a rep ever calls, and of calls that reach the person.
DEMO_ATTEMPT_SHARE = 0.85
DEMO_CONNECT_SHARE = 0.55


def record_demo_assignments(rng: random.Random) -> int:
    """The demo leads loaded with an owner went through no routing: give each a few minutes
    of system delay, the ``Assignment`` row routing would have written, and the owner's
    first call at the rep's own pace in working time (connected or not). Without this every
    rep handled 0 leads on the team report and nobody ever answered."""
    leads = list(
        Lead.objects.filter(owner__isnull=False, merged_into__isnull=True, assignments=None).only(
            "id", "owner_id", "team_id", "created_at", "assigned_at"
        )
    )
    if not leads:
        return 0
    names = dict(
        User.objects.filter(id__in={lead.owner_id for lead in leads}).values_list("id", "username")
    )
    calendars = get_calendars(set(names), around=timezone.now())
    now = timezone.now()
    assignments, calls = [], []
    for lead in leads:
        lead.assigned_at = lead.created_at + timedelta(minutes=rng.expovariate(1 / 3.0))
        assignments.append(
            Assignment(
                lead=lead,
                rep_id=lead.owner_id,
                team_id=lead.team_id,
                reason="Demo: assigned when loaded",
                strategy="round_robin",
                assigned_at=lead.assigned_at,
            )
        )
        if rng.random() > DEMO_ATTEMPT_SHARE:
            continue
        owner_id = lead.owner_id or 0
        pace = DEMO_REP_PACE.get(names.get(owner_id, ""), DEFAULT_PACE)
        minutes = rng.lognormvariate(0, 1.0) * pace
        calendar = calendars.get(owner_id)
        if calendar is None:
            continue
        called = calendar.add_working_hours(lead.assigned_at, minutes / 60)
        if called < now:
            connected = rng.random() < DEMO_CONNECT_SHARE
            calls.append(
                Activity(
                    lead=lead,
                    kind=ActivityKind.CALL,
                    occurred_at=called,
                    channel=Channel.MANUAL,
                    user_id=lead.owner_id,
                    subject="First call" if connected else "First call: no answer",
                    payload={"connected": connected},
                    created_at=called,
                )
            )
    Lead.objects.bulk_update(leads, ["assigned_at"], batch_size=1000)
    Assignment.objects.bulk_create(assignments, batch_size=1000)
    Activity.objects.bulk_create(calls, batch_size=1000)
    return len(assignments)
