"""Routing and tick benchmark on a fresh SQLite database (or DATABASE_URL if set).

1. ``assign_10k_s``: ``assign_leads`` places 10,000 leads across 50 reps in 5 teams with
   20 rules (target ≤ 10 s).
2. ``speedup_vs_one_by_one``: against an Odoo-style assignment reimplemented here: one
   lead at a time, each rule checked by a database query, each rep's load counted by
   queries, one save per lead (timed on ``--baseline-leads`` leads, scaled per lead).
3. ``tick_100k_s``: ``run_tick`` over 100,000 enrolled leads whose step is due
   (target ≤ 15 s on SQLite).

Run: ``python bench/bench_routing.py [--quick]``; the last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)  # a Monday, 11:00 in Paris
COUNTRIES = ["FR", "DE", "GB", "US", "ES", "IT", "NL", "BE"]
LANGUAGES = ["fr", "de", "en", "es", "it", "nl"]
INDUSTRIES = ["software", "retail", "health", "finance", "industry"]


def setup_django() -> None:
    if not os.environ.get("DATABASE_URL"):
        folder = tempfile.mkdtemp(prefix="bench_routing_")
        os.environ["DATABASE_URL"] = f"sqlite:///{folder}/bench.sqlite3"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "leadsieve.config.settings")
    os.environ.setdefault("LEADSIEVE_DEMO", "1")
    os.environ["EMAIL_BACKEND"] = "django.core.mail.backends.locmem.EmailBackend"
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def make_world(rng: random.Random) -> list[object]:
    from leadsieve.accounts.models import Team, User
    from leadsieve.routing.models import RepProfile
    from leadsieve.routing.services import save_rule

    teams = [
        Team.objects.create(name=f"Team {n}", slug=f"team-{n}", timezone="Europe/Paris")
        for n in range(5)
    ]
    reps = []
    for n in range(50):
        rep = User.objects.create(username=f"rep{n}", team=teams[n % 5], email=f"r{n}@x.test")
        RepProfile.objects.create(user=rep, max_new_per_day=250, max_open=5000, weight=1 + n % 3)
        reps.append(rep)
    strategies = ["round_robin", "weighted_round_robin", "least_loaded", "round_robin"]
    for n in range(19):
        conditions = [
            {"field": "country", "op": "eq", "value": COUNTRIES[n % len(COUNTRIES)]},
            {"field": "language", "op": "in", "value": LANGUAGES[n % 3 : n % 3 + 2]},
            {"field": "rating", "op": "gte", "value": (n * 7) % 60},
        ]
        save_rule(
            name=f"Rule {n}",
            team=teams[n % 5],
            conditions=conditions,
            strategy=strategies[n % 4],
            position=n,
        )
    save_rule(name="Catch-all", team=teams[0], conditions=[], position=99)
    return reps


def make_leads(rng: random.Random, n: int, **extra: object) -> None:
    from leadsieve.leads.models import Lead

    Lead.objects.bulk_create(
        (
            Lead(
                first_name="Lee",
                last_name=str(i),
                email=f"lee{i}@acme{i}.test",
                country=rng.choice(COUNTRIES),
                language=rng.choice(LANGUAGES),
                rating=rng.randint(1, 100),
                created_at=NOW - timedelta(minutes=i),
                **extra,
            )
            for i in range(n)
        ),
        batch_size=2000,
    )


LOOKUP = {"eq": "iexact", "in": "in", "gte": "gte", "lte": "lte", "gt": "gt", "lt": "lt"}


def assign_one_by_one(lead_ids: list[int]) -> None:
    """The Odoo-style baseline: per lead, rules as queries, loads as queries, one save."""
    from django.db import transaction
    from django.db.models import Q

    from leadsieve.leads.models import Lead, LeadChange
    from leadsieve.routing.models import Assignment, AssignmentRule, RepProfile

    for lead_id in lead_ids:
        with transaction.atomic():
            lead = Lead.objects.select_for_update().get(pk=lead_id)
            chosen_rule = None
            for rule in AssignmentRule.objects.filter(is_active=True).order_by("position"):
                domain = Q(pk=lead.pk)
                for c in rule.conditions:
                    domain &= Q(**{f"{c['field']}__{LOOKUP[c['op']]}": c["value"]})
                if Lead.objects.filter(domain).exists():
                    chosen_rule = rule
                    break
            if chosen_rule is None:
                continue
            best, best_key = None, None
            for profile in RepProfile.objects.filter(user__team_id=chosen_rule.team_id):
                today = Assignment.objects.filter(
                    rep_id=profile.user_id, assigned_at__gte=NOW - timedelta(hours=10)
                ).count()
                n_open = Lead.objects.filter(owner_id=profile.user_id, outcome="open").count()
                if today >= profile.max_new_per_day or n_open >= profile.max_open:
                    continue
                key = (today, profile.user_id)
                if best_key is None or key < best_key:
                    best, best_key = profile, key
            if best is None:
                continue
            lead.owner_id, lead.team_id, lead.assigned_at = best.user_id, chosen_rule.team_id, NOW
            lead.save()
            Assignment.objects.create(
                lead=lead,
                rep_id=best.user_id,
                team_id=chosen_rule.team_id,
                rule=chosen_rule,
                strategy=chosen_rule.strategy,
                reason="baseline",
                assigned_at=NOW,
            )
            LeadChange.objects.create(lead=lead, via="bench", action="assign", changes={})


def reset_assignments() -> None:
    from leadsieve.leads.models import Lead, LeadChange
    from leadsieve.routing.models import Assignment, LeadDeadline, QueuedLead

    Assignment.objects.all().delete()
    QueuedLead.objects.all().delete()
    LeadDeadline.objects.all().delete()
    LeadChange.objects.all().delete()
    Lead.objects.update(owner=None, team=None, assigned_at=None)


def bench_tick(rng: random.Random, n: int, reps: list[object]) -> float:
    import time_machine
    from django.db import connection

    from leadsieve.cadences.models import Enrolment, EnrolmentRule
    from leadsieve.cadences.services import publish_cadence
    from leadsieve.leads.models import Lead
    from leadsieve.ops.tick import run_tick

    reset_assignments()
    Lead.objects.all().delete()
    cadence = publish_cadence(
        team=None,
        key="call-now",
        name="Call now",
        horizon="short",
        steps=[
            {"channel": "call", "delay_days": 0, "instruction": "Call"},
            {"channel": "email", "delay_days": 1},
            {"channel": "call", "delay_days": 2},
        ],
    )
    EnrolmentRule.objects.create(horizon="short", statuses=["sql"], cadence_key="call-now")
    rep_ids = [r.pk for r in reps]  # type: ignore[attr-defined]
    Lead.objects.bulk_create(
        (
            Lead(
                first_name="Lee",
                last_name=str(i),
                email=f"t{i}@acme{i}.test",
                owner_id=rep_ids[i % len(rep_ids)],
                horizon="short",
                status="sql",
                consent=True,
                rating=rng.randint(1, 100),
            )
            for i in range(n)
        ),
        batch_size=5000,
    )
    Enrolment.objects.bulk_create(
        (
            Enrolment(
                lead_id=lead_id,
                cadence=cadence,
                owner_id=owner_id,
                lead_status_at_start="sql",
                next_due_at=NOW - timedelta(minutes=5),
                enrolled_at=NOW - timedelta(hours=1),
            )
            for lead_id, owner_id in Lead.objects.values_list("id", "owner_id").iterator()
        ),
        batch_size=5000,
    )
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    with time_machine.travel(NOW, tick=True):
        start = time.perf_counter()
        report = run_tick(now=NOW)
        elapsed = time.perf_counter() - start
        again = run_tick(now=NOW)
    print(f"tick over {n} enrolled leads: {elapsed:.2f} s {report}; second tick: {again}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="1k leads, 10k enrolments")
    parser.add_argument("--baseline-leads", type=int, default=500)
    args = parser.parse_args()
    n_leads, n_tick = (1000, 10_000) if args.quick else (10_000, 100_000)
    setup_django()
    from leadsieve.leads.models import Lead
    from leadsieve.routing.services import assign_leads

    rng = random.Random(0)
    reps = make_world(rng)
    make_leads(rng, n_leads)
    start = time.perf_counter()
    result = assign_leads(Lead.objects.all(), now=NOW)
    assign_s = time.perf_counter() - start
    print(
        f"assign_leads: {n_leads} leads in {assign_s:.2f} s "
        f"({len(result.assigned)} assigned, {len(result.queued)} queued)"
    )
    reset_assignments()
    sample = list(
        Lead.objects.order_by("-rating").values_list("id", flat=True)[: args.baseline_leads]
    )
    start = time.perf_counter()
    assign_one_by_one(sample)
    baseline_per_lead = (time.perf_counter() - start) / len(sample)
    baseline_s = baseline_per_lead * n_leads
    speedup = baseline_s / assign_s
    print(
        f"one-by-one baseline: {baseline_per_lead * 1000:.2f} ms/lead on {len(sample)} leads "
        f"→ {baseline_s:.1f} s for {n_leads}; speedup {speedup:.1f}×"
    )
    tick_s = bench_tick(rng, n_tick, reps)
    print(
        json.dumps(
            {
                "n_leads": n_leads,
                "assign_10k_s": round(assign_s, 3),
                "baseline_one_by_one_s": round(baseline_s, 2),
                "speedup_vs_one_by_one": round(speedup, 1),
                "n_tick_enrolments": n_tick,
                "tick_100k_s": round(tick_s, 3),
            }
        )
    )


if __name__ == "__main__":
    main()
