"""The scorecard a fresh B2B install starts with, before a team writes its own.

Deliberately ordinary: firmographic fit, decaying engagement, BANT readiness and the usual
disqualifiers. Every number is here, in one place, so a team can read what it is changing.
"""

from __future__ import annotations

from leadsieve.engine.scorecard import TIMELINE_WORDS, Scorecard
from leadsieve.engine.types import (
    ActivityCondition,
    Cap,
    Criterion,
    GradeBands,
    HorizonRule,
    InterestRule,
    RatingMap,
    StatusRule,
)

DEFAULT_CRITERIA: tuple[Criterion, ...] = (
    # Fit: company
    Criterion("size_mid", "fit", "range", 15, "company__size", min=50, max=1000, group="company"),
    Criterion("size_large", "fit", "range", 10, "company__size", min=1001, group="company"),
    Criterion("size_tiny", "fit", "range", -5, "company__size", max=9, group="company"),
    Criterion(
        "industry_target",
        "fit",
        "one_of",
        15,
        "company__industry",
        value=("software", "saas", "it services", "financial services", "manufacturing"),
        group="company",
    ),
    Criterion("revenue_known", "fit", "is_set", 3, "company__revenue_band", group="company"),
    # Fit: person and region
    Criterion(
        "role_decision_maker",
        "fit",
        "equal",
        15,
        "decision_role",
        value="decision_maker",
        group="person",
        label="Role: decision maker",
    ),
    Criterion(
        "role_influencer",
        "fit",
        "equal",
        8,
        "decision_role",
        value="influencer",
        group="person",
        label="Role: influencer",
    ),
    Criterion(
        "title_senior",
        "fit",
        "contains",
        10,
        "job_title",
        value=("director", "head", "vp", "chief", "founder", "owner"),
        group="person",
    ),
    Criterion(
        "country_served",
        "fit",
        "one_of",
        10,
        "country",
        value=("us", "gb", "de", "fr", "nl", "ca", "au", "es", "it", "se"),
        label="Based in a country we serve",
    ),
    Criterion("free_mail", "fit", "free_mail", -10, "email_domain"),
    # Interest criteria (on top of per-kind decay below)
    Criterion(
        "pricing_visit",
        "interest",
        "activity",
        10,
        activity=ActivityCondition("page_visit", within_days=14, url_contains="pricing"),
    ),
    Criterion(
        "demo_request",
        "interest",
        "activity",
        15,
        activity=ActivityCondition("form_submit", within_days=30, subject_contains="demo"),
    ),
    Criterion(
        "replies",
        "interest",
        "activity",
        10,
        activity=ActivityCondition("email_replied", within_days=60, min_count=3),
    ),
    # Readiness: BANT
    Criterion(
        "budget_set",
        "readiness",
        "range",
        10,
        "budget",
        min=1,
        group="budget",
        label="Gave a budget",
    ),
    Criterion("budget_large", "readiness", "range", 5, "budget", min=50_000, group="budget"),
    Criterion(
        "authority",
        "readiness",
        "equal",
        10,
        "decision_role",
        value="decision_maker",
        label="Decides the purchase",
    ),
    Criterion("need_stated", "readiness", "is_set", 10, "need", label="Stated a need"),
    *(
        Criterion(
            f"timeline_{code}",
            "readiness",
            "equal",
            points,
            "timeline",
            value=code,
            group="timeline",
            label=TIMELINE_WORDS[code].capitalize(),
        )
        for code, points in (("now", 15), ("quarter", 10), ("half_year", 5))
    ),
    Criterion(
        "meeting_booked",
        "readiness",
        "activity",
        10,
        activity=ActivityCondition("meeting", within_days=30),
    ),
    # Disqualifiers
    Criterion(
        "do_not_contact",
        "disqualify",
        "equal",
        column="do_not_contact",
        value=True,
        label="Asked not to be contacted",
    ),
    Criterion(
        "student",
        "disqualify",
        "contains",
        column="job_title",
        value=("student",),
        label="Job title says student",
    ),
)

DEFAULT_INTEREST_RULES: tuple[InterestRule, ...] = (
    InterestRule("form_submit", 10, half_life_days=30, cap=20),
    InterestRule("page_visit", 1, half_life_days=7, cap=10),
    InterestRule("email_opened", 0.5, half_life_days=14, cap=3),
    InterestRule("email_clicked", 2, half_life_days=14, cap=8),
    InterestRule("email_replied", 5, half_life_days=30, cap=15),
    InterestRule("call", 5, half_life_days=30, cap=10),
    InterestRule("meeting", 10, half_life_days=45, cap=20),
)

DEFAULT_CAPS: tuple[Cap, ...] = (
    Cap("fit", group="company", max=30),
    Cap("fit", group="person", max=20),
    Cap("fit", max=60, min=-20),
    Cap("interest", max=60),
    Cap("readiness", group="budget", max=12),
    Cap("readiness", group="timeline", max=15),
    Cap("readiness", max=50),
)

DEFAULT_THRESHOLDS: tuple[StatusRule, ...] = (
    StatusRule("mql", min_fit=25, min_interest=10),
    StatusRule("sql", min_fit=25, min_interest=10, min_readiness=30),
)


def competitor_criterion(domains: tuple[str, ...]) -> Criterion:
    """Disqualify leads whose email domain is one of the team's competitors'."""
    return Criterion(
        "competitor",
        "disqualify",
        "one_of",
        column="email_domain",
        value=tuple(domains),
        label="Works for a competitor",
    )


def default_scorecard(*, competitor_domains: tuple[str, ...] = ()) -> Scorecard:
    """The starter scorecard for a fresh B2B install (24 criteria, 7 decay rules).

    Expects the lead columns ``company__size``, ``company__industry``,
    ``company__revenue_band``, ``decision_role``, ``job_title``, ``country`` (ISO code, any
    case), ``email_domain``, ``budget``, ``need``, ``timeline`` and ``do_not_contact``;
    competitor email domains are the team's own list.
    """
    return Scorecard(
        criteria=(*DEFAULT_CRITERIA, competitor_criterion(competitor_domains)),
        interest_rules=DEFAULT_INTEREST_RULES,
        caps=DEFAULT_CAPS,
        grade_bands=GradeBands(a=45, b=30, c=15),
        thresholds=DEFAULT_THRESHOLDS,
        horizon=HorizonRule(),
        rating_map=RatingMap(),
    )
