"""The sales pipeline: ordered stages and the history of every move."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class Stage(models.Model):
    """A step of the pipeline. ``is_won``/``is_lost`` stages close the lead."""

    name = models.CharField(max_length=80, unique=True)
    slug = models.SlugField(max_length=40, unique=True)
    position = models.PositiveSmallIntegerField(default=0)
    probability = models.PositiveSmallIntegerField(default=0, help_text="Expected win %, 0–100.")
    is_won = models.BooleanField(default=False)
    is_lost = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.name

    def is_closed(self) -> bool:
        return self.is_won or self.is_lost


class StageChange(models.Model):
    """A lead moved from one stage to another: who, when and why."""

    lead = models.ForeignKey("leads.Lead", on_delete=models.CASCADE, related_name="stage_changes")
    from_stage = models.ForeignKey(
        Stage, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    to_stage = models.ForeignKey(Stage, on_delete=models.PROTECT, related_name="+")
    changed_at = models.DateTimeField(default=timezone.now)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    reason = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-changed_at", "-id"]
        indexes = [models.Index(fields=["lead", "changed_at"], name="stagechange_lead_time")]

    def __str__(self) -> str:
        return f"Lead {self.lead_id} → {self.to_stage_id}"


class StageCount(models.Model):
    """Live leads per (team, owner, stage, disqualified): the board's counts and values.

    Database triggers on the lead table (migration ``0003_stage_counts``) add one row per
    change, in the same transaction as the change: +1 for the lead's new place, -1 for the
    old one, with its expected value and value x rating. Every writer is covered (the ORM,
    bulk updates, raw SQL, imports, merges, deletes) and no row is ever updated in place, so
    concurrent writers never wait on one another here. The board sums the rows of its
    scope; ``stages.counts.compact_stage_counts`` (the tick) folds them into one row per key
    and ``recount_stage_counts`` (``leadsieve recount-stages``) rebuilds them from the leads.

    Team, owner and stage are plain numbers, not foreign keys: a row outlives nothing and
    deleting a team or a user rewrites the leads, which the triggers follow.
    """

    team_id = models.BigIntegerField(null=True)
    owner_id = models.BigIntegerField(null=True)
    stage_id = models.BigIntegerField(null=True)
    is_disqualified = models.BooleanField()
    n = models.BigIntegerField()
    value = models.DecimalField(max_digits=24, decimal_places=2)
    weighted = models.DecimalField(max_digits=28, decimal_places=2)

    class Meta:
        indexes = [
            models.Index(fields=["team_id", "stage_id"], name="stagecount_team_stage"),
            models.Index(fields=["owner_id", "stage_id"], name="stagecount_owner_stage"),
        ]

    def __str__(self) -> str:
        return f"team {self.team_id} owner {self.owner_id} stage {self.stage_id}: {self.n}"
