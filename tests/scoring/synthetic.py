"""Synthetic closed history for the scoring tests: outcome depends on the profile."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np

from leadsieve.leads.models import Company, FieldDefinition, Lead, Outcome

START = datetime(2025, 1, 1, tzinfo=UTC)
INDUSTRIES = ("software", "retail", "manufacturing", "education")


def make_history(n: int, *, seed: int = 0) -> None:
    """Closed leads whose chance to win depends on industry, role and budget (plus noise).

    A post-contact custom field copies the outcome: the perfect leak the model must ignore.
    """
    rng = np.random.default_rng(seed)
    companies = [
        Company.objects.create(domain=f"c{i}.test", industry=INDUSTRIES[i % 4], size=20 + 40 * i)
        for i in range(12)
    ]
    FieldDefinition.objects.create(key="sales_tag", label="Sales tag", is_post_contact=True)
    leads = []
    for i in range(n):
        company = companies[int(rng.integers(len(companies)))]
        role = ("decision_maker", "influencer", "user")[int(rng.integers(3))]
        budget = float(rng.choice([0, 5_000, 50_000]))
        z = (
            -1.0
            + (1.2 if company.industry == "software" else -0.3)
            + (1.0 if role == "decision_maker" else -0.5)
            + (0.8 if budget >= 50_000 else 0.0)
        )
        won = rng.random() < 1 / (1 + np.exp(-z))
        leads.append(
            Lead(
                email=f"p{i}@{company.domain}",
                company=company,
                decision_role=role,
                budget=budget or None,
                outcome=Outcome.WON if won else Outcome.LOST,
                created_at=START + timedelta(hours=6 * i),
                closed_at=START + timedelta(hours=6 * i, days=20),
                custom={"sales_tag": "closed-won" if won else "closed-lost"},
            )
        )
    Lead.objects.bulk_create(leads)
