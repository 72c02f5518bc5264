"""``leadsieve load-demo``: a realistic, fictional team with a year of leads.

Creates two teams (a manager and reps each), sources and campaigns, companies, a few
thousand leads with their activities and won/lost outcomes, then lets each app add its
own demo objects (the ``contact`` web form, routing rules, cadences, scores) through its
``<app>.demo.seed_demo(rng)`` function.
"""

from __future__ import annotations

import importlib
import random
from argparse import ArgumentParser
from decimal import Decimal
from typing import Any

import pandas as pd
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from leadsieve.accounts.models import Role, Team, User
from leadsieve.accounts.passwords import generate_password
from leadsieve.demo.credentials import DemoLogin, save_demo_logins
from leadsieve.demo.generate import CAMPAIGNS, FREE_MAIL, NORTH_AMERICA, SOURCES, make_world
from leadsieve.engine.normalize import company_name_keys, name_keys, normalize_emails
from leadsieve.leads.models import Activity, Campaign, Channel, Company, Lead, Source, Status
from leadsieve.stages.models import Stage

DEFAULT_LEADS = 3000
TEAMS = {
    # slug: (name, time zone, manager, reps)
    "north-america": ("North America", "America/New_York", "james", ["olivia", "ethan", "mia"]),
    "europe": ("Europe", "Europe/Paris", "maria", ["lukas", "chloe", "mateo"]),
}
# Apps add their own demo objects, in this order, when they ship a ``demo`` module.
# Scoring comes before routing and cadences: enrolment and routing read the horizon.
DEMO_SEEDERS = (
    "leadsieve.webforms.demo",
    "leadsieve.scoring.demo",
    "leadsieve.routing.demo",
    "leadsieve.cadences.demo",
    "leadsieve.segments.demo",
    "leadsieve.leads.demo",
    "leadsieve.insights.demo",
)
OPEN_STAGES = ("new", "contacted", "appointment", "proposal", "negotiation")


class Command(BaseCommand):
    help = "Load a fictional demo team with a year of leads, activities and outcomes."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--leads", type=int, default=DEFAULT_LEADS)
        parser.add_argument("--seed", type=int, default=7)
        parser.add_argument(
            "--if-empty", action="store_true", help="Do nothing when leads already exist."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["if_empty"] and Lead.objects.exists():
            self.stdout.write("Demo data already loaded: nothing to do.")
            return
        if options["leads"] < 1:
            raise CommandError("--leads must be at least 1")
        rng = random.Random(options["seed"])
        now = timezone.now()
        password = generate_password() if settings.DEMO else None
        with transaction.atomic():
            reps_by_team = self._people(password)
            sources, campaigns = self._sources()
            world = make_world(rng, n_leads=options["leads"], now=now)
            n_leads, n_activities = self._leads(rng, world, reps_by_team, sources, campaigns)
        self.stdout.write(
            f"Loaded {n_leads} leads, {n_activities} activities, "
            f"{len(world.companies)} companies, {len(sources)} sources."
        )
        for module_name in DEMO_SEEDERS:
            self._run_seeder(module_name, rng)
        if password:
            save_demo_logins(self._logins(password))
            self.stdout.write(
                self.style.SUCCESS(
                    "Demo people (managers james, maria; reps olivia, ethan, mia, lukas, chloe, "
                    f"mateo) sign in with password: {password}  (shown once)"
                )
            )

    @staticmethod
    def _logins(password: str) -> list[DemoLogin]:
        logins = []
        for name, _, manager, reps in TEAMS.values():
            logins.append(
                DemoLogin("manager", manager, password, f"Today; {name} team's leads and report")
            )
            logins.extend(
                DemoLogin("rep", rep, password, f"Today; own leads ({name})") for rep in reps
            )
        return logins

    def _run_seeder(self, module_name: str, rng: random.Random) -> None:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as error:
            if error.name == module_name:
                return
            raise
        seed = getattr(module, "seed_demo", None)
        if seed is not None:
            self.stdout.write(f"Seeding {module_name} …")
            seed(rng)

    def _people(self, password: str | None) -> dict[str, list[User]]:
        reps_by_team: dict[str, list[User]] = {}
        for slug, (name, tz, manager, reps) in TEAMS.items():
            team, _ = Team.objects.get_or_create(slug=slug, defaults={"name": name, "timezone": tz})
            self._user(manager, Role.MANAGER, team, password)
            reps_by_team[slug] = [self._user(rep, Role.REP, team, password) for rep in reps]
        return reps_by_team

    def _user(self, username: str, role: str, team: Team, password: str | None) -> User:
        user, created = User.objects.get_or_create(
            username=username,
            defaults={
                "role": role,
                "team": team,
                "first_name": username.capitalize(),
                "email": f"{username}@demo.invalid",
            },
        )
        if created:
            if password:
                user.set_password(password)
            else:
                user.set_unusable_password()
            user.save()
        return user

    def _sources(self) -> tuple[dict[str, Source], dict[str, list[Campaign]]]:
        sources: dict[str, Source] = {}
        campaigns: dict[str, list[Campaign]] = {}
        for name, (kind, medium, _quality, _share) in SOURCES.items():
            sources[name], _ = Source.objects.get_or_create(
                name=name, defaults={"kind": kind, "medium": medium}
            )
            campaigns[name] = []
            for campaign_name, utm_source, utm_medium, cost in CAMPAIGNS.get(name, []):
                campaign, _ = Campaign.objects.get_or_create(
                    source=sources[name],
                    name=campaign_name,
                    defaults={
                        "utm_source": utm_source,
                        "utm_medium": utm_medium,
                        "utm_campaign": campaign_name.lower().replace(" ", "-"),
                        "cost": Decimal(cost),
                    },
                )
                campaigns[name].append(campaign)
        return sources, campaigns

    def _leads(
        self,
        rng: random.Random,
        world: Any,
        reps_by_team: dict[str, list[User]],
        sources: dict[str, Source],
        campaigns: dict[str, list[Campaign]],
    ) -> tuple[int, int]:
        # name_key: as capture keys a company name, so a lead typed in with the company's
        # name (no domain) finds it, and same name at the same company opens a duplicate.
        keys = company_name_keys(pd.Series([c["name"] for c in world.companies], dtype=object))
        companies = {
            c["domain"]: Company(**c, name_key=key)
            for c, key in zip(world.companies, keys.tolist(), strict=True)
        }
        Company.objects.bulk_create(companies.values(), batch_size=1000, ignore_conflicts=True)
        company_ids = dict(Company.objects.filter(domain__in=companies).values_list("domain", "id"))
        stages = {stage.slug: stage for stage in Stage.objects.all()}
        teams = {team.slug: team for team in Team.objects.all()}
        # The same keys capture computes, so demo leads dedupe like any other lead.
        emails = normalize_emails(pd.Series([spec["email"] for spec in world.leads]))
        email_keys = emails["email_key"].tolist()
        person_keys = name_keys(
            pd.Series([spec["first_name"] for spec in world.leads]),
            pd.Series([spec["last_name"] for spec in world.leads]),
        ).tolist()
        leads: list[Lead] = []
        for index, spec in enumerate(world.leads):
            team_slug = "north-america" if spec["country"] in NORTH_AMERICA else "europe"
            closed = spec["outcome"] != "open"
            recent = (timezone.now() - spec["created_at"]).days < 3
            owner = None if recent and rng.random() < 0.6 else rng.choice(reps_by_team[team_slug])
            if spec["outcome"] == "won":
                stage = stages["won"]
            elif spec["outcome"] == "lost":
                stage = stages["lost"]
            else:
                stage = stages[rng.choice(OPEN_STAGES[: 2 + int(spec["propensity"] > -1) * 3])]
            source_campaigns: list[Campaign | None] = [*campaigns.get(spec["source"], [])] or [None]
            campaign = rng.choice(source_campaigns)
            leads.append(
                Lead(
                    first_name=spec["first_name"],
                    last_name=spec["last_name"],
                    email=spec["email"],
                    email_key=email_keys[index],
                    phone=spec["phone"],
                    name_key=person_keys[index],
                    job_title=spec["job_title"],
                    decision_role=spec["decision_role"],
                    company_id=company_ids.get(spec["company"]["domain"])
                    if not spec["email"].endswith(FREE_MAIL)
                    else None,
                    company_name=spec["company_name"],
                    country=spec["country"],
                    need=spec["need"],
                    budget=Decimal(spec["budget"]) if spec["budget"] else None,
                    timeline=spec["timeline"],
                    consent=spec["consent"],
                    consent_at=spec["created_at"] if spec["consent"] else None,
                    consent_text="Demo form: 'You may contact me about LeadSieve.'"
                    if spec["consent"]
                    else "",
                    do_not_contact=spec["do_not_contact"],
                    source=sources[spec["source"]],
                    campaign=campaign,
                    utm_source=campaign.utm_source if campaign else "",
                    utm_medium=campaign.utm_medium if campaign else "",
                    utm_campaign=campaign.utm_campaign if campaign else "",
                    created_via=Channel.WEB_FORM
                    if SOURCES[spec["source"]][0] == "generation"
                    else Channel.MANUAL,
                    team=teams[team_slug],
                    owner=owner,
                    assigned_at=spec["created_at"] if owner else None,
                    stage=stage,
                    stage_changed_at=spec["closed_at"] or spec["created_at"],
                    expected_value=Decimal(spec["budget"] or rng.choice([8_000, 15_000, 30_000])),
                    status=Status.CONVERTED if spec["outcome"] == "won" else Status.NEW,
                    outcome=spec["outcome"],
                    outcome_reason=""
                    if not closed
                    else ("Signed" if spec["outcome"] == "won" else rng.choice(LOST_REASONS)),
                    closed_at=spec["closed_at"],
                    created_at=spec["created_at"],
                    updated_at=spec["closed_at"] or spec["created_at"],
                )
            )
        Lead.objects.bulk_create(leads, batch_size=1000)
        activities: list[Activity] = []
        for lead, events in zip(leads, world.activities, strict=True):
            for event in events:
                activities.append(
                    Activity(
                        lead_id=lead.pk,
                        kind=event["kind"],
                        occurred_at=event["occurred_at"],
                        channel=lead.created_via if event["kind"] == "form_submit" else "",
                        source_id=lead.source_id if event["kind"] == "form_submit" else None,
                        user_id=lead.owner_id if event["kind"] in ("call", "meeting") else None,
                        subject=event["subject"],
                        url=event["url"],
                        created_at=event["occurred_at"],
                    )
                )
            lead.last_activity_at = max(event["occurred_at"] for event in events)
        Activity.objects.bulk_create(activities, batch_size=2000)
        Lead.objects.bulk_update(leads, ["last_activity_at"], batch_size=1000)
        return len(leads), len(activities)


LOST_REASONS = (
    "No budget",
    "Chose a competitor",
    "No decision",
    "Not the right fit",
    "Went silent",
)
