"""Admin: scorecard versions are edited as JSON and checked by the engine before saving.

Saving only stores the version (a draft unless it already was active); publishing is
``leadsieve publish-scorecard N`` so the rescoring that follows is visible and deliberate.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from leadsieve.scoring.history import describe_snapshot_reasons
from leadsieve.scoring.models import (
    BacktestRun,
    ModelVersion,
    ScorecardStatus,
    ScorecardVersion,
    ScoreSnapshot,
)
from leadsieve.scoring.services import validate_scorecard_config


class ScorecardVersionForm(forms.ModelForm[ScorecardVersion]):
    """Rejects a configuration the engine cannot apply, naming the criterion at fault."""

    class Meta:
        model = ScorecardVersion
        fields = ("number", "config", "note")

    def clean_config(self) -> Any:  # Any: parsed JSON
        config = self.cleaned_data.get("config")
        validate_scorecard_config(config)
        return config


@admin.register(ScorecardVersion)
class ScorecardVersionAdmin(admin.ModelAdmin[ScorecardVersion]):
    form = ScorecardVersionForm
    list_display = ("number", "status", "note", "created_by", "created_at", "published_at")
    list_filter = ("status",)
    readonly_fields = ("status", "created_by", "created_at", "published_at")

    def get_readonly_fields(
        self, request: HttpRequest, obj: ScorecardVersion | None = None
    ) -> tuple[str, ...]:
        """Only drafts are editable: a published version must keep explaining its scores."""
        if obj is not None and obj.status != ScorecardStatus.DRAFT:
            return ("number", "config", *self.readonly_fields)
        return tuple(self.readonly_fields)


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin[ModelVersion]):
    list_display = ("id", "trained_at", "n_rows", "n_won", "engine_version", "is_active")
    list_filter = ("is_active",)
    exclude = ("artefact",)
    readonly_fields = (
        "engine_version",
        "feature_spec",
        "trained_at",
        "n_rows",
        "n_won",
        "metrics",
        "is_active",
        "created_by",
    )


@admin.register(ScoreSnapshot)
class ScoreSnapshotAdmin(admin.ModelAdmin[ScoreSnapshot]):
    list_display = ("lead", "at", "rating", "rating_source", "fit_grade", "status", "horizon")
    list_filter = ("status", "fit_grade", "horizon")
    raw_id_fields = ("lead",)
    readonly_fields = (
        "lead",
        "at",
        "rating",
        "rating_source",
        "rating_band",
        "fit_grade",
        "status",
        "horizon",
        "scorecard_version",
        "model_version",
        "reasons_in_words",
    )
    exclude = ("reasons",)

    @admin.display(description="Reasons")
    def reasons_in_words(self, obj: ScoreSnapshot) -> SafeString:
        """The stored reasons worded by the snapshot's own scorecard version (compact
        snapshots keep only codes and points)."""
        version = obj.scorecard_version
        reasons = describe_snapshot_reasons(obj.reasons, version.config if version else None)
        if not reasons:
            return format_html("{}", "–")
        return format_html(
            "<ul>{}</ul>",
            format_html_join("", "<li>{} ({})</li>", ((r.label, r.dimension) for r in reasons)),
        )


@admin.register(BacktestRun)
class BacktestRunAdmin(admin.ModelAdmin[BacktestRun]):
    """Backtests run from the scorecard editor: read-only history (the editor starts them)."""

    list_display = ("id", "version", "state", "n_leads", "requested_by", "created_at")
    list_filter = ("state",)
    list_select_related = ("version", "requested_by")
    readonly_fields = [field.name for field in BacktestRun._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
