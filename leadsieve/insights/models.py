"""What the reports read: one row per live lead with the first time it reached each step
(``LeadMilestones``), the refresh's watermarks (``MilestoneStream``), and the spend a manager
enters per source or campaign and month (``Spend``).

``LeadMilestones`` is derived data: ``insights.milestones.refresh_leads`` rebuilds a lead's
row from the history tables (status changes, stage moves, appointments, assignments,
activities, score snapshots), so it can always be rebuilt from scratch.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class RatingBand(models.TextChoices):
    """The model rating a lead had when it was first scored, in three bands."""

    COLD = "cold", "Cold (1–29)"
    WARM = "warm", "Warm (30–69)"
    HOT = "hot", "Hot (70–100)"


class LeadMilestones(models.Model):
    """A live lead's origin (as grouped by the reports) and the first moment of each step.

    Steps: ``mql_at``, ``sql_at``, ``appointment_set_at``, ``appointment_held_at``,
    ``won_at``, and the exits ``lost_at``, ``disqualified_at`` (with ``exit_reason``).
    Speed to lead: ``assigned_at``, ``first_attempt_at`` (a rep's call, email, meeting or
    social touch; automatic cadence emails are not a touch), ``first_contact_at`` (a reply,
    a connected call, a meeting). Merged leads have no row.
    """

    lead = models.OneToOneField(
        "leads.Lead", primary_key=True, on_delete=models.CASCADE, related_name="+"
    )
    captured_at = models.DateTimeField()

    # Origin and ownership (plain ids: the reports group on them and name them in one query)
    kind = models.CharField(max_length=16, blank=True)
    channel = models.CharField(max_length=12, blank=True)
    source_id = models.IntegerField(null=True, blank=True)
    campaign_id = models.IntegerField(null=True, blank=True)
    utm_source = models.CharField(max_length=120, blank=True)
    utm_medium = models.CharField(max_length=120, blank=True)
    utm_campaign = models.CharField(max_length=160, blank=True)
    landing_page = models.CharField(max_length=200, blank=True)
    web_form = models.CharField(max_length=60, blank=True)
    import_file = models.CharField(max_length=120, blank=True)
    owner_id = models.IntegerField(null=True, blank=True)
    team_id = models.IntegerField(null=True, blank=True)
    fit_grade = models.CharField(max_length=1, blank=True)
    rating_at_capture = models.PositiveSmallIntegerField(null=True, blank=True)
    rating_band = models.CharField(max_length=4, choices=RatingBand.choices, blank=True)
    # The rating of the lead's first score as SQL (or converted): calibration "at SQL".
    rating_at_sql = models.PositiveSmallIntegerField(null=True, blank=True)

    # The first time of each step
    assigned_at = models.DateTimeField(null=True, blank=True)
    first_attempt_at = models.DateTimeField(null=True, blank=True)
    first_contact_at = models.DateTimeField(null=True, blank=True)
    mql_at = models.DateTimeField(null=True, blank=True)
    sql_at = models.DateTimeField(null=True, blank=True)
    appointment_set_at = models.DateTimeField(null=True, blank=True)
    appointment_held_at = models.DateTimeField(null=True, blank=True)
    won_at = models.DateTimeField(null=True, blank=True)
    lost_at = models.DateTimeField(null=True, blank=True)
    disqualified_at = models.DateTimeField(null=True, blank=True)
    exit_reason = models.CharField(max_length=300, blank=True)
    won_value = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)

    # Seconds between steps reached in order (NULL otherwise): medians read these, not dates.
    capture_to_mql_s = models.BigIntegerField(null=True, blank=True)
    mql_to_sql_s = models.BigIntegerField(null=True, blank=True)
    sql_to_won_s = models.BigIntegerField(null=True, blank=True)
    capture_to_won_s = models.BigIntegerField(null=True, blank=True)

    refreshed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "lead milestones"
        # The rating at capture ends the period indexes so that calibration's drift counts
        # (rating bands of the leads captured in a period) read the index alone.
        indexes = [
            models.Index(fields=["captured_at", "rating_at_capture"], name="milestones_captured"),
            models.Index(
                fields=["team_id", "captured_at", "rating_at_capture"],
                name="milestones_team_captured",
                condition=Q(team_id__isnull=False),
            ),
            models.Index(
                fields=["owner_id", "captured_at", "rating_at_capture"],
                name="milestones_owner_captured",
                condition=Q(owner_id__isnull=False),
            ),
            # Calibration reads the leads closed in a period (won, then lost): these indexes
            # hold every column it reads, so no milestone row is fetched.
            models.Index(
                fields=[
                    "won_at",
                    "team_id",
                    "owner_id",
                    "rating_at_capture",
                    "sql_at",
                    "rating_at_sql",
                ],
                name="milestones_won",
                condition=Q(won_at__isnull=False),
            ),
            models.Index(
                fields=[
                    "lost_at",
                    "won_at",
                    "team_id",
                    "owner_id",
                    "rating_at_capture",
                    "sql_at",
                    "rating_at_sql",
                ],
                name="milestones_lost",
                condition=Q(lost_at__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"Milestones of lead {self.lead_id}"


class MilestoneStream(models.Model):
    """How far the refresh has read one history table (rows by id), and the ids below that
    it has not seen yet (``gaps``: a transaction still open when it read, on PostgreSQL;
    forgotten after ``milestones.GAP_TTL``)."""

    name = models.CharField(max_length=40, primary_key=True)
    watermark = models.BigIntegerField(default=0)
    until = models.BigIntegerField(
        null=True, blank=True, help_text="The backfill's last lead id (the backfill stream only)."
    )
    gaps = models.JSONField(default=list, blank=True, help_text="[[id, first seen ISO], ...]")
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.name} @ {self.watermark}"


class Spend(models.Model):
    """Money spent on a source (or one of its campaigns) in one month, entered by a manager.

    ``month`` is the month's first day. ``team``: the team that spent it (a manager's entry);
    blank is spend of the whole company (an admin's). One row per (month, source, campaign,
    team); a source's own spend has no campaign.
    """

    month = models.DateField()
    source = models.ForeignKey("leads.Source", on_delete=models.CASCADE, related_name="+")
    campaign = models.ForeignKey(
        "leads.Campaign", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    team = models.ForeignKey(
        "accounts.Team", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    note = models.CharField(max_length=200, blank=True)
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    entered_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-month", "source_id", "campaign_id"]
        indexes = [models.Index(fields=["month", "source"], name="spend_month_source")]
        constraints = [
            # NULL never equals NULL in a unique index: one constraint per blank combination.
            models.UniqueConstraint(
                fields=["month", "source", "campaign", "team"],
                name="spend_unique_campaign_team",
            ),
            models.UniqueConstraint(
                fields=["month", "source", "team"],
                condition=Q(campaign__isnull=True),
                name="spend_unique_source_team",
            ),
            models.UniqueConstraint(
                fields=["month", "source", "campaign"],
                condition=Q(team__isnull=True),
                name="spend_unique_campaign_company",
            ),
            models.UniqueConstraint(
                fields=["month", "source"],
                condition=Q(campaign__isnull=True, team__isnull=True),
                name="spend_unique_source_company",
            ),
            models.CheckConstraint(condition=Q(amount__gte=0), name="spend_amount_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} source {self.source_id}: {self.amount}"


class FunnelCell(models.Model):
    """The funnel's counts of one capture day, for one value of one grouping, in one team
    (``team_key``: a team id, ``NO_TEAM`` = -1 for leads without a team, ``ALL_TEAMS`` = 0 for
    every lead) and one owner scope (``owner_key``): what ``funnel`` and ``cost`` sum over a
    period instead of reading one row per lead. Kept by difference as milestone rows change,
    rebuilt per day from ``LeadMilestones`` (``insights.cells``).

    ``durations``: per step pair, {hundredths of a day: leads}; ``exits``: {"Lost\\x1freason": n}.
    """

    day = models.DateField()
    team_key = models.IntegerField()
    # ``ANY_OWNER`` = 0 every owner's leads; ``NO_OWNER`` = -1 the team's unowned leads; a
    # user id: that owner's leads in all teams (``team_key`` 0). What a rep's report sums.
    owner_key = models.IntegerField(default=0)
    dimension = models.CharField(max_length=16)
    value = models.CharField(max_length=200, blank=True)
    n_leads = models.IntegerField(default=0)
    any_mql = models.IntegerField(default=0)
    any_sql = models.IntegerField(default=0)
    any_appointment_set = models.IntegerField(default=0)
    any_appointment_held = models.IntegerField(default=0)
    any_won = models.IntegerField(default=0)
    strict_mql = models.IntegerField(default=0)
    strict_sql = models.IntegerField(default=0)
    strict_appointment_set = models.IntegerField(default=0)
    strict_appointment_held = models.IntegerField(default=0)
    strict_won = models.IntegerField(default=0)
    n_disqualified = models.IntegerField(default=0)
    n_lost = models.IntegerField(default=0)
    won_value = models.DecimalField(max_digits=16, decimal_places=2, null=True, blank=True)
    # Leads with a won value: ``won_value`` is blank when none, as a rebuild leaves it.
    n_won_value = models.IntegerField(default=0)
    durations = models.JSONField(default=dict, blank=True)
    exits = models.JSONField(default=dict, blank=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["dimension", "team_key", "owner_key", "day"], name="funnelcell_scope"
            ),
        ]
        constraints = [
            # One cell per key: a refresh changes it in place (and finds a day's cells by it).
            models.UniqueConstraint(
                fields=["day", "team_key", "owner_key", "dimension", "value"],
                name="funnelcell_unique_owner",
            ),
        ]

    def __str__(self) -> str:
        return (
            f"{self.day} {self.dimension}={self.value} team {self.team_key} owner {self.owner_key}"
        )


class DirtyCellDay(models.Model):
    """A capture day whose ``FunnelCell``s wait to be rebuilt (written with the milestones)."""

    day = models.DateField(primary_key=True)

    def __str__(self) -> str:
        return str(self.day)
