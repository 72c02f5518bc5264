"""Admin: every lead's audit trail is readable inline, old → new."""

from __future__ import annotations

from django.contrib import admin

from leadsieve.leads.models import (
    Activity,
    Campaign,
    Company,
    DuplicateCandidate,
    FieldDefinition,
    Lead,
    LeadChange,
    MergeRecord,
    Source,
)


class LeadChangeInline(admin.TabularInline[LeadChange, Lead]):
    model = LeadChange
    extra = 0
    can_delete = False
    fields = ("changed_at", "user", "via", "action", "described")
    readonly_fields = fields
    ordering = ("-changed_at", "-id")

    @admin.display(description="change (old → new)")
    def described(self, change: LeadChange) -> str:
        return change.describe()

    def has_add_permission(self, request: object, obj: object = None) -> bool:
        return False


@admin.register(Lead)
class LeadAdmin(admin.ModelAdmin[Lead]):
    list_display = ("__str__", "email", "company_name", "status", "rating", "owner", "created_at")
    list_filter = ("status", "outcome", "fit_grade", "horizon", "created_via", "team")
    search_fields = ("first_name", "last_name", "email", "company_name", "external_id")
    raw_id_fields = ("company", "owner", "merged_into", "source", "campaign")
    inlines = [LeadChangeInline]
    show_full_result_count = False


@admin.register(LeadChange)
class LeadChangeAdmin(admin.ModelAdmin[LeadChange]):
    list_display = ("changed_at", "lead", "user", "via", "action", "describe")
    list_filter = ("action",)
    raw_id_fields = ("lead",)
    show_full_result_count = False

    def has_change_permission(self, request: object, obj: object = None) -> bool:
        return False


@admin.register(Company)
class CompanyAdmin(admin.ModelAdmin[Company]):
    list_display = ("name", "domain", "industry", "size", "country", "revenue_band")
    search_fields = ("name", "domain")


@admin.register(Source)
class SourceAdmin(admin.ModelAdmin[Source]):
    list_display = ("name", "kind", "medium", "is_active")


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin[Campaign]):
    list_display = ("name", "source", "utm_campaign", "cost", "is_active")


@admin.register(Activity)
class ActivityAdmin(admin.ModelAdmin[Activity]):
    list_display = ("occurred_at", "lead", "kind", "channel", "subject")
    list_filter = ("kind", "channel")
    raw_id_fields = ("lead",)
    show_full_result_count = False


admin.site.register(MergeRecord)
admin.site.register(DuplicateCandidate)
admin.site.register(FieldDefinition)
