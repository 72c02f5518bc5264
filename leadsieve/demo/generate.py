"""A seeded, fictional B2B world for demos and screenshots.

Every name, company and domain is generated (domains end in ``.example``, phone numbers
sit in fictional ranges), so no real personal data ships with LeadSieve. Outcomes are
drawn from a hidden propensity that depends on fit (company size, industry, role),
readiness (timeline, budget, authority), interest (activity) and source, so a model
trained on the demo history has something real to learn and the scorecard something to
be checked against.
"""

from __future__ import annotations

import math
import random
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

FIRST_NAMES = (
    "Anna Ben Carla David Elena Farid Grace Hugo Ines Jonas Kara Liam Mila Noah Olga Pavel "
    "Quinn Rosa Sami Tara Ugo Vera Wim Xenia Yann Zoe Adele Bruno Chloe Dario Emma Felix "
    "Greta Hannah Ivan Julia Karim Lena Marco Nina Oscar Paula Rafael Sofia Tomas Uma Victor"
).split()
LAST_NAMES = (
    "Adler Berg Costa Dubois Eriksen Fischer Garcia Hansen Ibarra Jansen Keller Lambert "
    "Moreau Novak Olsen Petit Quintero Rossi Schmidt Torres Ueda Vidal Weber Xu Yilmaz Zimmer "
    "Andersen Brunner Castillo Duarte Engel Ferrari Gomez Horvat Ito Jovanovic Kowalski Lindqvist"
).split()
NAME_PARTS = (
    "Acme Blue Cedar Delta Ember Falcon Granite Harbor Iris Juniper Kestrel Lumen Maple Nova "
    "Orbit Pioneer Quartz Riverside Summit Tidal Umber Vertex Willow Xylo Yonder Zephyr"
).split()
NAME_SUFFIXES = "Systems Labs Logistics Health Retail Works Analytics Foods Energy Media".split()
INDUSTRIES = {
    # industry: fit weight (how well it matches the demo company's buyer persona)
    "Software": 1.0,
    "Financial services": 0.8,
    "Manufacturing": 0.5,
    "Logistics": 0.6,
    "Healthcare": 0.3,
    "Retail": 0.1,
    "Education": -0.6,
    "Media": -0.2,
}
COUNTRIES = {"US": 0.35, "CA": 0.08, "GB": 0.14, "FR": 0.12, "DE": 0.15, "NL": 0.06, "ES": 0.1}
NORTH_AMERICA = {"US", "CA"}
JOB_TITLES = {
    # title: (decision role, authority weight)
    "CEO": ("decision_maker", 0.9),
    "CTO": ("decision_maker", 1.0),
    "VP Sales": ("decision_maker", 1.1),
    "Head of Marketing": ("decision_maker", 0.9),
    "Sales Operations Manager": ("influencer", 0.8),
    "Marketing Manager": ("influencer", 0.5),
    "IT Manager": ("influencer", 0.4),
    "Business Analyst": ("user", 0.0),
    "Sales Representative": ("user", 0.1),
    "Consultant": ("user", -0.3),
    "Student": ("", -1.5),
    "Intern": ("user", -1.0),
}
FREE_MAIL = ("gmail.com", "outlook.com", "yahoo.com", "proton.me")
TIMELINES = {"now": 1.0, "quarter": 0.7, "half_year": 0.2, "year": -0.3, "later": -0.8, "": -0.2}
NEEDS = (
    "Our reps each qualify leads differently; we need one scoring procedure.",
    "Looking for a lead scoring tool that explains its scores.",
    "We get thousands of form leads a month and cannot tell which to call first.",
    "Need routing by territory with capacity limits for a team of 12 reps.",
    "Evaluating a replacement for our CRM's lead module.",
    "Just researching options for next year.",
    "Want to nurture long-range leads automatically.",
    "",
)
PAGES = ("/pricing", "/product/scoring", "/product/routing", "/blog/lead-scoring", "/docs", "/")

# source name: (kind, medium, quality weight, share of leads)
SOURCES = {
    "Website": ("generation", "organic", 0.3, 0.28),
    "Paid search": ("generation", "paid search", -0.1, 0.2),
    "LinkedIn ads": ("generation", "social", 0.0, 0.14),
    "Webinars": ("generation", "event", 0.5, 0.1),
    "Partner referrals": ("generation", "referral", 0.9, 0.08),
    "Trade show": ("generation", "event", 0.2, 0.06),
    "Outbound calls": ("prospecting", "phone", 0.1, 0.08),
    "Outbound email": ("prospecting", "email", -0.4, 0.06),
}
CAMPAIGNS = {
    "Paid search": [
        ("Brand keywords", "google", "cpc", 4200),
        ("Competitor keywords", "google", "cpc", 6100),
    ],
    "LinkedIn ads": [("Sales leaders EU", "linkedin", "paid_social", 5200)],
    "Webinars": [("Scoring that explains itself", "webinar", "event", 900)],
    "Outbound email": [("Q3 sales-ops sequence", "outbound", "email", 300)],
}


@dataclass
class DemoWorld:
    """Plain data the loader turns into rows."""

    companies: list[dict[str, Any]] = field(default_factory=list)
    leads: list[dict[str, Any]] = field(default_factory=list)
    activities: list[list[dict[str, Any]]] = field(default_factory=list)


def _pick(rng: random.Random, weights: dict[str, float]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in ascii_text.lower() if ch.isalnum())


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def make_companies(rng: random.Random, n: int) -> list[dict[str, Any]]:
    companies: list[dict[str, Any]] = []
    seen: set[str] = set()
    while len(companies) < n:
        name = f"{rng.choice(NAME_PARTS)} {rng.choice(NAME_PARTS)} {rng.choice(NAME_SUFFIXES)}"
        domain = f"{_slug(name)}.example"
        if domain in seen:
            continue
        seen.add(domain)
        size = int(min(50_000, max(2, rng.lognormvariate(4.0, 1.6))))
        revenue = (
            "lt_1m"
            if size < 10
            else "1m_10m"
            if size < 60
            else "10m_50m"
            if size < 250
            else "50m_250m"
            if size < 1000
            else "250m_1b"
            if size < 5000
            else "gt_1b"
        )
        companies.append(
            {
                "name": name,
                "domain": domain,
                "industry": _pick(rng, {k: 1.0 for k in INDUSTRIES}),
                "size": size,
                "country": _pick(rng, COUNTRIES),
                "revenue_band": revenue,
            }
        )
    return companies


def make_world(rng: random.Random, *, n_leads: int, now: datetime) -> DemoWorld:
    """Companies, leads and their activities over the past year, with outcomes."""
    world = DemoWorld(companies=make_companies(rng, max(50, n_leads // 5)))
    source_shares = {name: spec[3] for name, spec in SOURCES.items()}
    for _ in range(n_leads):
        company = rng.choice(world.companies)
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        title = rng.choice(list(JOB_TITLES))
        role, authority = JOB_TITLES[title]
        free_mail = rng.random() < 0.22
        domain = rng.choice(FREE_MAIL) if free_mail else company["domain"]
        local = f"{_slug(first)}.{_slug(last)}{rng.randint(1, 999) if free_mail else ''}"
        source = _pick(rng, source_shares)
        timeline = _pick(rng, {k: 1.0 for k in TIMELINES})
        budget = rng.choice([None, None, 5_000, 12_000, 25_000, 60_000, 150_000])
        created_at = now - timedelta(days=rng.uniform(0, 365), minutes=rng.randint(0, 1440))
        interest = rng.gauss(0, 1)
        fit = (
            INDUSTRIES[company["industry"]]
            + 0.5 * math.log10(company["size"] + 1)
            - 0.9 * free_mail
            + authority
        )
        readiness = TIMELINES[timeline] + (0.4 if budget and budget >= 20_000 else 0.0)
        propensity = -3.2 + 0.9 * fit + 0.8 * readiness + 0.7 * interest + SOURCES[source][2]
        has_phone = rng.random() < 0.55
        phone = (
            f"+1202555{rng.randint(100, 199):04d}"
            if company["country"] in NORTH_AMERICA
            else f"+4420794600{rng.randint(10, 99)}"
        )
        lead: dict[str, Any] = {
            "first_name": first,
            "last_name": last,
            "email": f"{local}@{domain}",
            "phone": phone if has_phone else "",
            "job_title": title,
            "decision_role": role,
            "company": company,
            "company_name": company["name"],
            "country": company["country"],
            "need": rng.choice(NEEDS),
            "budget": budget,
            "timeline": timeline,
            "consent": rng.random() < 0.85,
            "do_not_contact": rng.random() < 0.03,
            "source": source,
            "created_at": created_at,
            "propensity": propensity,
        }
        age_days = (now - created_at).days
        if age_days > 45 and rng.random() < min(0.9, age_days / 120):
            won = rng.random() < _sigmoid(propensity)
            lead["outcome"] = "won" if won else "lost"
            lead["closed_at"] = created_at + timedelta(days=rng.uniform(10, min(age_days, 90)))
        else:
            lead["outcome"] = "open"
            lead["closed_at"] = None
        world.leads.append(lead)
        world.activities.append(_activities(rng, lead, interest, now))
    return world


def _activities(
    rng: random.Random, lead: dict[str, Any], interest: float, now: datetime
) -> list[dict[str, Any]]:
    created: datetime = lead["created_at"]
    end: datetime = lead["closed_at"] or now
    span = max((end - created).total_seconds(), 3600.0)
    events: list[dict[str, Any]] = [
        {"kind": "form_submit", "occurred_at": created, "url": "/contact", "subject": "Contact us"}
    ]
    n_events = max(0, int(rng.gauss(4 + 3 * interest, 2)))
    kinds = {
        "page_visit": 5.0,
        "email_sent": 3.0,
        "email_opened": 2.0,
        "email_clicked": 1.0,
        "email_replied": 0.6 + max(0.0, interest),
        "call": 1.0,
        "meeting": 0.2 + max(0.0, interest) / 2,
    }
    for _ in range(n_events):
        kind = _pick(rng, kinds)
        at = created + timedelta(seconds=rng.uniform(0, span))
        events.append(
            {
                "kind": kind,
                "occurred_at": at,
                "url": rng.choice(PAGES) if kind in ("page_visit", "email_clicked") else "",
                "subject": "" if kind == "page_visit" else f"{kind.replace('_', ' ').title()}",
            }
        )
    return events
