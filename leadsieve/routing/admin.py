"""Admin screens for routing data: rules, rep capacity, absences, holidays, deadline policies.

Plain registrations only: writes that touch leads go through ``routing.services``.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin

from leadsieve.routing.models import (
    Absence,
    Assignment,
    AssignmentRule,
    DeadlinePolicy,
    Holiday,
    QueuedLead,
    RepProfile,
)
from leadsieve.routing.services import check_rule_conditions


class AssignmentRuleForm(forms.ModelForm[AssignmentRule]):
    """Rejects conditions routing could not apply, naming the condition at fault."""

    class Meta:
        model = AssignmentRule
        fields = ("name", "position", "is_active", "conditions", "team", "strategy", "named_owner")

    def clean_conditions(self) -> Any:  # Any: parsed JSON
        conditions = self.cleaned_data.get("conditions")
        try:
            check_rule_conditions(conditions)
        except ValueError as error:
            raise forms.ValidationError(str(error)) from None
        return conditions


@admin.register(AssignmentRule)
class AssignmentRuleAdmin(admin.ModelAdmin[AssignmentRule]):
    form = AssignmentRuleForm
    list_display = ("position", "name", "team", "strategy", "named_owner", "is_active")
    list_editable = ("is_active",)
    list_display_links = ("name",)


@admin.register(RepProfile)
class RepProfileAdmin(admin.ModelAdmin[RepProfile]):
    list_display = ("user", "accepts_leads", "max_new_per_day", "max_open", "weight")


@admin.register(Absence)
class AbsenceAdmin(admin.ModelAdmin[Absence]):
    list_display = ("user", "starts_on", "ends_on", "reason")


@admin.register(Holiday)
class HolidayAdmin(admin.ModelAdmin[Holiday]):
    list_display = ("day", "name", "team")


@admin.register(DeadlinePolicy)
class DeadlinePolicyAdmin(admin.ModelAdmin[DeadlinePolicy]):
    list_display = ("team", "horizon", "first_response_hours", "next_touch_days")


@admin.register(Assignment)
class AssignmentAdmin(admin.ModelAdmin[Assignment]):
    list_display = ("lead", "rep", "team", "rule_name", "strategy", "assigned_at")
    readonly_fields = [f.name for f in Assignment._meta.fields]


@admin.register(QueuedLead)
class QueuedLeadAdmin(admin.ModelAdmin[QueuedLead]):
    list_display = ("lead", "team", "reason", "queued_at", "tried_at")
