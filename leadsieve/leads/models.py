"""Leads, the companies they work for, where they came from, and what they did.

The current score of a lead (rating, fit grade, status, horizon) is stored on the
lead itself so the lists every rep opens all day filter and sort on indexed columns;
the scoring app writes those columns and keeps the history in its own tables.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from leadsieve.leads.indexes import NullsLastIndex


class Channel(models.TextChoices):
    """How a lead or a touch entered LeadSieve."""

    WEB_FORM = "web_form", "Web form"
    API = "api", "API"
    IMPORT = "import", "Import"
    MANUAL = "manual", "Manual entry"


class SourceKind(models.TextChoices):
    GENERATION = "generation", "Lead generation (marketing inflow)"
    PROSPECTING = "prospecting", "Prospecting (sales outreach)"


class Source(models.Model):
    """Where leads come from: a channel of lead generation or of prospecting."""

    name = models.CharField(max_length=120, unique=True)
    kind = models.CharField(
        max_length=16, choices=SourceKind.choices, default=SourceKind.GENERATION
    )
    medium = models.CharField(
        max_length=60, blank=True, help_text="e.g. organic, paid search, social, email, event."
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Campaign(models.Model):
    """A campaign inside a source, with the UTM values that identify its traffic."""

    source = models.ForeignKey(Source, on_delete=models.PROTECT, related_name="campaigns")
    name = models.CharField(max_length=160)
    utm_source = models.CharField(max_length=120, blank=True)
    utm_medium = models.CharField(max_length=120, blank=True)
    utm_campaign = models.CharField(max_length=160, blank=True)
    utm_term = models.CharField(max_length=160, blank=True)
    utm_content = models.CharField(max_length=160, blank=True)
    starts_on = models.DateField(null=True, blank=True)
    ends_on = models.DateField(null=True, blank=True)
    cost = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["source__name", "name"]
        constraints = [
            models.UniqueConstraint(fields=["source", "name"], name="campaign_unique_per_source")
        ]

    def __str__(self) -> str:
        return f"{self.source.name} / {self.name}"


class RevenueBand(models.TextChoices):
    UNDER_1M = "lt_1m", "< 1 M"
    FROM_1M = "1m_10m", "1–10 M"
    FROM_10M = "10m_50m", "10–50 M"
    FROM_50M = "50m_250m", "50–250 M"
    FROM_250M = "250m_1b", "250 M – 1 B"
    OVER_1B = "gt_1b", "> 1 B"


class Company(models.Model):
    """A company: attached to leads by email domain or name; firmographics for fit."""

    domain = models.CharField(max_length=253, blank=True)
    name = models.CharField(max_length=200, blank=True)
    name_key = models.CharField(max_length=200, blank=True, db_index=True)
    industry = models.CharField(max_length=120, blank=True)
    size = models.PositiveIntegerField(null=True, blank=True, help_text="Employees.")
    country = models.CharField(max_length=2, blank=True, help_text="ISO 3166 alpha-2.")
    revenue_band = models.CharField(max_length=10, choices=RevenueBand.choices, blank=True)
    custom = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "companies"
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["domain"], condition=~Q(domain=""), name="company_unique_domain"
            )
        ]

    def __str__(self) -> str:
        return self.name or self.domain or f"Company {self.pk}"


class Timeline(models.TextChoices):
    NOW = "now", "Now (this month)"
    QUARTER = "quarter", "Within 3 months"
    HALF_YEAR = "half_year", "3–6 months"
    YEAR = "year", "6–12 months"
    LATER = "later", "More than a year"


class DecisionRole(models.TextChoices):
    DECISION_MAKER = "decision_maker", "Decision maker"
    INFLUENCER = "influencer", "Influencer"
    USER = "user", "User"


class Status(models.TextChoices):
    """Qualification status: set by the scorecard unless a person set it by hand."""

    NEW = "new", "New"
    WORKING = "working", "Working"
    MQL = "mql", "Marketing-qualified"
    SQL = "sql", "Sales-qualified"
    CONVERTED = "converted", "Converted"
    DISQUALIFIED = "disqualified", "Disqualified"


class Outcome(models.TextChoices):
    OPEN = "open", "Open"
    WON = "won", "Won"
    LOST = "lost", "Lost"


class Horizon(models.TextChoices):
    SHORT = "short", "Short-range"
    LONG = "long", "Long-range"


class FitGrade(models.TextChoices):
    A = "A", "A"
    B = "B", "B"
    C = "C", "C"
    D = "D", "D"


# A model rating under LOW_RATING on a qualified lead, or from HIGH_RATING on one not yet
# qualified, is worth saying on the lead page (``Lead.rating_disagreement``).
LOW_RATING = 30
HIGH_RATING = 70


class RatingSource(models.TextChoices):
    SCORECARD = "scorecard", "Scorecard"
    MODEL = "model", "Conversion model"


class Lead(models.Model):
    """A person who interacted with the business, and everything we know about them.

    ``merged_into`` is set when this lead was merged into another one: the row stays
    (nothing is deleted) so the merge can be undone; every list hides merged leads.
    """

    # Person
    first_name = models.CharField(max_length=150, blank=True)
    last_name = models.CharField(max_length=150, blank=True)
    email = models.CharField(max_length=254, blank=True)
    phone = models.CharField(max_length=40, blank=True, help_text="E.164, e.g. +14155550100.")
    job_title = models.CharField(max_length=200, blank=True)
    country = models.CharField(max_length=2, blank=True, help_text="ISO 3166 alpha-2.")
    city = models.CharField(max_length=120, blank=True)
    language = models.CharField(max_length=12, blank=True)

    # Company, as stated and as resolved
    company = models.ForeignKey(
        Company, null=True, blank=True, on_delete=models.SET_NULL, related_name="leads"
    )
    company_name = models.CharField(max_length=200, blank=True)
    website = models.CharField(max_length=253, blank=True)

    # Identity keys for deduplication (normalised; empty when unknown)
    email_key = models.CharField(max_length=254, blank=True)
    name_key = models.CharField(max_length=300, blank=True)
    external_id = models.CharField(max_length=120, blank=True, help_text="Id in the origin system.")

    # Needs and readiness (BANT)
    need = models.TextField(blank=True, help_text="Stated need and expectations.")
    budget = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    timeline = models.CharField(max_length=12, choices=Timeline.choices, blank=True)
    decision_role = models.CharField(max_length=16, choices=DecisionRole.choices, blank=True)

    # Consent
    consent = models.BooleanField(default=False, help_text="Agreed to be contacted.")
    consent_at = models.DateTimeField(null=True, blank=True)
    consent_text = models.CharField(max_length=300, blank=True, help_text="What was agreed, where.")
    do_not_contact = models.BooleanField(default=False)
    do_not_contact_at = models.DateTimeField(null=True, blank=True)

    # The team's own fields (see FieldDefinition)
    custom = models.JSONField(default=dict, blank=True)

    # Origin
    # source, campaign, stage: indexed by lead_source, lead_campaign, lead_stage (set only).
    source = models.ForeignKey(
        Source,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="leads",
        db_index=False,
    )
    campaign = models.ForeignKey(
        Campaign,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="leads",
        db_index=False,
    )
    utm_source = models.CharField(max_length=120, blank=True)
    utm_medium = models.CharField(max_length=120, blank=True)
    utm_campaign = models.CharField(max_length=160, blank=True)
    utm_term = models.CharField(max_length=160, blank=True)
    utm_content = models.CharField(max_length=160, blank=True)
    landing_page = models.CharField(max_length=500, blank=True)
    referrer = models.CharField(max_length=500, blank=True)
    created_via = models.CharField(max_length=12, choices=Channel.choices, default=Channel.MANUAL)

    # Ownership and pipeline
    # No single-column index on team or owner: lead_team_status and lead_owner_status start
    # with them, and every index costs each captured lead a B-tree insert.
    team = models.ForeignKey(
        "accounts.Team",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="leads",
        db_index=False,
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="owned_leads",
        db_index=False,
    )
    assigned_at = models.DateTimeField(null=True, blank=True)
    stage = models.ForeignKey(
        "stages.Stage",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="leads",
        db_index=False,
    )
    stage_changed_at = models.DateTimeField(null=True, blank=True)
    expected_value = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)

    # Qualification (scorecard-proposed unless status_is_manual)
    status = models.CharField(max_length=14, choices=Status.choices, default=Status.NEW)
    status_reason = models.CharField(max_length=300, blank=True)
    status_is_manual = models.BooleanField(default=False)
    outcome = models.CharField(max_length=6, choices=Outcome.choices, default=Outcome.OPEN)
    outcome_reason = models.CharField(max_length=300, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    # Current score (written by the scoring app; history lives there)
    rating = models.PositiveSmallIntegerField(null=True, blank=True, help_text="1–100.")
    rating_source = models.CharField(max_length=10, choices=RatingSource.choices, blank=True)
    rating_is_manual = models.BooleanField(default=False)
    fit_points = models.FloatField(null=True, blank=True)
    fit_grade = models.CharField(max_length=1, choices=FitGrade.choices, blank=True)
    interest_points = models.FloatField(null=True, blank=True)
    readiness_points = models.FloatField(null=True, blank=True)
    horizon = models.CharField(max_length=5, choices=Horizon.choices, blank=True)
    horizon_reason = models.CharField(max_length=300, blank=True)
    scored_at = models.DateTimeField(null=True, blank=True)
    scorecard_version = models.PositiveIntegerField(null=True, blank=True)

    # Life cycle
    merged_into = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="merged_leads",
        db_index=False,  # see lead_merged: only merged leads are indexed
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    last_activity_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["email_key"], name="lead_email_key"),
            models.Index(fields=["phone"], name="lead_phone"),
            # Likely duplicates: the same name at the same company (capture looks up pairs);
            # also serves lookups by name alone (its first column).
            models.Index(fields=["name_key", "company"], name="lead_name_company"),
            # Most leads have no external id: only the ones that do are indexed (capture's
            # lookup says ``external_id <> ''`` so SQLite knows the index applies).
            models.Index(
                fields=["external_id"], name="lead_external_id", condition=~Q(external_id="")
            ),
            models.Index(fields=["created_at"], name="lead_created_at"),
            # Indexes on team, owner, source, campaign and stage hold only the leads where it
            # is set: every query on them asks for one value (team_id = 5, also implied for
            # the planners), and a captured lead, usually without, skips them.
            models.Index(
                fields=["owner", "status"],
                name="lead_owner_status",
                condition=Q(owner__isnull=False),
            ),
            models.Index(
                fields=["team", "status"], name="lead_team_status", condition=Q(team__isnull=False)
            ),
            models.Index(fields=["source"], name="lead_source", condition=Q(source__isnull=False)),
            models.Index(
                fields=["campaign"], name="lead_campaign", condition=Q(campaign__isnull=False)
            ),
            models.Index(fields=["stage"], name="lead_stage", condition=Q(stage__isnull=False)),
            models.Index(fields=["rating"], name="lead_rating"),
            # Routing's load of each candidate rep (``_Router._load_reps``): their open, live,
            # not disqualified leads, counted from the index alone on every placement.
            models.Index(
                fields=["owner", "outcome", "status"],
                name="lead_open_load",
                condition=Q(merged_into__isnull=True, owner__isnull=False),
            ),
            # The leads merged into one (unmerge, delete protection): a handful of rows, so
            # the live leads (merged_into NULL), i.e. every captured lead, are left out.
            models.Index(
                fields=["merged_into"], name="lead_merged", condition=Q(merged_into__isnull=False)
            ),
            # The workspace's lists: all, a team's or a rep's live leads, best rated first (keyset),
            # nulls last as the lists sort (NullsLastIndex: PostgreSQL needs it said).
            NullsLastIndex(
                F("rating").desc(),
                F("id").desc(),
                name="lead_live_rating",
                condition=Q(merged_into__isnull=True),
            ),
            NullsLastIndex(
                "team",
                F("rating").desc(),
                F("id").desc(),
                name="lead_team_rating",
                condition=Q(merged_into__isnull=True, team__isnull=False),
            ),
            NullsLastIndex(
                "team",
                "status",
                F("rating").desc(),
                F("id").desc(),
                name="lead_team_status_rating",
                condition=Q(merged_into__isnull=True, team__isnull=False),
            ),
            NullsLastIndex(
                "owner",
                F("rating").desc(),
                F("id").desc(),
                name="lead_owner_rating",
                condition=Q(merged_into__isnull=True, owner__isnull=False),
            ),
            NullsLastIndex(
                "team",
                F("rating").desc(),
                F("id").desc(),
                name="lead_team_unassigned_rating",
                condition=Q(merged_into__isnull=True, owner__isnull=True, team__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return self.display_name()

    def display_name(self) -> str:
        full = f"{self.first_name} {self.last_name}".strip()
        return full or self.email or self.phone or f"Lead {self.pk}"

    def is_open(self) -> bool:
        return self.outcome == Outcome.OPEN and self.status != Status.DISQUALIFIED

    @property
    def is_closed(self) -> bool:
        """Won, lost or disqualified: ``leads.queries.CLOSED`` in Python (the list's order)."""
        return not self.is_open()

    def rating_disagreement(self) -> str:
        """Why the status and a model rating seem to contradict each other, in plain words;
        empty when they agree. The status follows the team's scorecard rules, the rating is
        how often such leads closed: a qualified lead rated low (or an unqualified one rated
        high) is the scorecard and the history disagreeing, which a manager should see."""
        if self.rating is None or self.rating_source != RatingSource.MODEL or not self.is_open():
            return ""
        if self.status in (Status.MQL, Status.SQL) and self.rating < LOW_RATING:
            return (
                f"Meets the scorecard's {self.status.upper()} rules, but leads like this one "
                f"closed about {self.rating} % of the time in the team's history. If many "
                "qualified leads rate this low, the scorecard's rules need work (run a backtest)."
            )
        if self.status in (Status.NEW, Status.WORKING) and self.rating >= HIGH_RATING:
            return (
                f"Not qualified by the scorecard's rules yet, but leads like this one closed "
                f"about {self.rating} % of the time in the team's history: worth a look now."
            )
        return ""


class ActivityKind(models.TextChoices):
    FORM_SUBMIT = "form_submit", "Form submitted"
    PAGE_VISIT = "page_visit", "Page visited"
    EMAIL_SENT = "email_sent", "Email sent"
    EMAIL_OPENED = "email_opened", "Email opened"
    EMAIL_CLICKED = "email_clicked", "Email link clicked"
    EMAIL_REPLIED = "email_replied", "Email replied"
    CALL = "call", "Call"
    MEETING = "meeting", "Meeting"
    NOTE = "note", "Note"
    CAPTURE = "capture", "Captured (API, import, manual)"
    SOCIAL = "social", "Social touch"


class Activity(models.Model):
    """One interaction with a lead, at a moment in time. Interest is scored from these."""

    # Indexed by activity_lead_time (lead first): no second single-column index.
    lead = models.ForeignKey(
        Lead, on_delete=models.CASCADE, related_name="activities", db_index=False
    )
    kind = models.CharField(max_length=16, choices=ActivityKind.choices)
    occurred_at = models.DateTimeField(default=timezone.now)
    channel = models.CharField(max_length=12, choices=Channel.choices, blank=True)
    # source, campaign, user: indexed where set (activity_source, ...), like the lead's.
    source = models.ForeignKey(
        Source, null=True, blank=True, on_delete=models.SET_NULL, db_index=False
    )
    campaign = models.ForeignKey(
        Campaign, null=True, blank=True, on_delete=models.SET_NULL, db_index=False
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, db_index=False
    )
    subject = models.CharField(max_length=300, blank=True, help_text="Email subject, call summary.")
    url = models.CharField(max_length=500, blank=True, help_text="Page visited or link clicked.")
    payload = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "activities"
        indexes = [
            models.Index(fields=["lead", "occurred_at"], name="activity_lead_time"),
            models.Index(fields=["occurred_at"], name="activity_time"),
            models.Index(
                fields=["source"], name="activity_source", condition=Q(source__isnull=False)
            ),
            models.Index(
                fields=["campaign"], name="activity_campaign", condition=Q(campaign__isnull=False)
            ),
            models.Index(fields=["user"], name="activity_user", condition=Q(user__isnull=False)),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} at {self.occurred_at:%Y-%m-%d %H:%M}"


class LeadChange(models.Model):
    """The audit trail: who changed what on a lead, when, old → new."""

    # Indexed by leadchange_lead_time (lead first): no second single-column index.
    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="changes", db_index=False)
    changed_at = models.DateTimeField(default=timezone.now)
    # Indexed where set (leadchange_user): imports and API tokens often act without a user.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, db_index=False
    )
    via = models.CharField(max_length=60, help_text="web, api:<token>, import:<file>, form:<slug>.")
    action = models.CharField(max_length=30)
    changes = models.JSONField(default=dict, help_text="{field: [old, new]}")
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-changed_at", "-id"]
        indexes = [
            models.Index(fields=["lead", "changed_at"], name="leadchange_lead_time"),
            models.Index(fields=["user"], name="leadchange_user", condition=Q(user__isnull=False)),
        ]

    def __str__(self) -> str:
        return f"{self.action} on lead {self.lead_id} at {self.changed_at:%Y-%m-%d %H:%M}"

    def describe(self, names: dict[str, dict[Any, str]] | None = None) -> str:
        """The change in words: ``status: new → mql; owner: – → Bob``. ``names`` gives, per
        field, the words for its stored values (the owner's name for a user id)."""
        parts = []
        for field, pair in self.changes.items():
            old, new = [*pair, None, None][:2] if isinstance(pair, list) else (None, pair)
            words = (names or {}).get(field, {})
            parts.append(f"{field}: {_shown(words.get(old, old))} → {_shown(words.get(new, new))}")
        return "; ".join(parts)


def _shown(value: Any) -> str:
    return "–" if value in (None, "") else str(value)


class MergeKind(models.TextChoices):
    CAPTURE = "capture", "New capture matched an existing lead"
    MANUAL = "manual", "Duplicates merged by a person"


class MergeRecord(models.Model):
    """Everything needed to undo a merge: the losing lead (or the captured values),
    the activities moved, and the fields filled on the surviving lead.
    """

    kind = models.CharField(max_length=8, choices=MergeKind.choices)
    survivor = models.ForeignKey(Lead, on_delete=models.PROTECT, related_name="merges_received")
    merged = models.ForeignKey(
        Lead, null=True, blank=True, on_delete=models.PROTECT, related_name="merges_given"
    )
    incoming = models.JSONField(default=dict, blank=True, help_text="Captured values (capture).")
    applied = models.JSONField(
        default=dict, blank=True, help_text="{field: [old, new]} on survivor."
    )
    moved_activity_ids = models.JSONField(default=list, blank=True)
    via = models.CharField(max_length=60, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    undone_at = models.DateTimeField(null=True, blank=True)
    undone_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        indexes = [models.Index(fields=["survivor", "created_at"], name="merge_survivor_time")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} into lead {self.survivor_id}"

    def is_undone(self) -> bool:
        return self.undone_at is not None


class DuplicateStatus(models.TextChoices):
    OPEN = "open", "To review"
    MERGED = "merged", "Merged"
    DISMISSED = "dismissed", "Not a duplicate"


class DuplicateCandidate(models.Model):
    """A likely duplicate (same name at the same company) waiting for a person's decision."""

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="+")
    duplicate_of = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="+")
    reason = models.CharField(max_length=200)
    status = models.CharField(
        max_length=10, choices=DuplicateStatus.choices, default=DuplicateStatus.OPEN
    )
    created_at = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["lead", "duplicate_of"], name="duplicate_pair_unique")
        ]
        indexes = [models.Index(fields=["status", "created_at"], name="duplicate_status_time")]

    def __str__(self) -> str:
        return f"Lead {self.lead_id} may duplicate {self.duplicate_of_id}"


class FieldType(models.TextChoices):
    TEXT = "text", "Text"
    NUMBER = "number", "Number"
    BOOLEAN = "boolean", "Yes/no"
    CHOICE = "choice", "Choice"
    DATE = "date", "Date"


class FieldDefinition(models.Model):
    """The field registry: a team-defined attribute stored in ``Lead.custom``.

    ``is_post_contact`` marks fields that sales fill in after contact: they would leak
    the outcome, so the conversion model never trains on them.
    """

    key = models.SlugField(max_length=60, unique=True)
    label = models.CharField(max_length=120)
    type = models.CharField(max_length=8, choices=FieldType.choices, default=FieldType.TEXT)
    choices = models.JSONField(default=list, blank=True)
    is_post_contact = models.BooleanField(default=False)
    description = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["key"]

    def __str__(self) -> str:
        return self.label


class IdentityClaim(models.Model):
    """A capture's claim on an identity key (its 64-bit hash), held until its transaction ends.

    PostgreSQL only (``services.bulk.lock_identity_keys``): a capture inserts the hashes
    of its batch's keys and deletes them again at once, in its transaction. A concurrent
    capture inserting one of the same hashes waits on the unique index until the first
    transaction ends (PostgreSQL's documented rule for an uncommitted conflicting row, even
    one its transaction deleted), then reads the lead it made; captures with no key in
    common never wait on each other. The table is
    UNLOGGED (migration 0010): claims never outlive a transaction, so they need no WAL.
    SQLite serialises writers anyway and leaves the table empty.
    """

    key = models.BigIntegerField(primary_key=True)

    def __str__(self) -> str:
        return f"Claim {self.key}"
