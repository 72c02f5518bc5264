"""Admin screens to edit cadences (versioned by ``publish_cadence``), rules, tasks, meetings."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from leadsieve.cadences.models import (
    Appointment,
    Cadence,
    CadenceStep,
    Enrolment,
    EnrolmentRule,
    Task,
)
from leadsieve.cadences.services import CadenceError, publish_new_version_of


def _is_frozen(cadence: Cadence | None) -> bool:
    """A version with enrolments is frozen: leads keep the procedure they started with."""
    return cadence is not None and cadence.enrolments.exists()


class CadenceStepInline(admin.TabularInline[CadenceStep, Cadence]):
    model = CadenceStep
    extra = 0

    def has_change_permission(self, request: HttpRequest, obj: Cadence | None = None) -> bool:
        return not _is_frozen(obj) and super().has_change_permission(request, obj)

    def has_add_permission(self, request: HttpRequest, obj: Cadence | None = None) -> bool:
        return not _is_frozen(obj) and super().has_add_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Cadence | None = None) -> bool:
        return not _is_frozen(obj) and super().has_delete_permission(request, obj)


@admin.register(Cadence)
class CadenceAdmin(admin.ModelAdmin[Cadence]):
    list_display = ("name", "key", "version", "team", "horizon", "is_current")
    list_filter = ("team", "horizon", "is_current")
    inlines = (CadenceStepInline,)
    actions = ("new_version",)

    def has_change_permission(self, request: HttpRequest, obj: Cadence | None = None) -> bool:
        return not _is_frozen(obj) and super().has_change_permission(request, obj)

    @admin.action(description="Publish a new version to edit (enrolled leads keep theirs)")
    def new_version(self, request: HttpRequest, queryset: QuerySet[Cadence]) -> None:
        for cadence in queryset:
            try:
                copy = publish_new_version_of(cadence)
            except CadenceError as error:
                self.message_user(request, f"{cadence}: {error}", messages.ERROR)
            else:
                self.message_user(request, f"{copy} is now current: edit its steps.")


@admin.register(EnrolmentRule)
class EnrolmentRuleAdmin(admin.ModelAdmin[EnrolmentRule]):
    list_display = ("position", "team", "horizon", "statuses", "cadence_key", "is_active")


@admin.register(Enrolment)
class EnrolmentAdmin(admin.ModelAdmin[Enrolment]):
    list_display = ("lead", "cadence", "status", "next_position", "next_due_at", "exit_reason")
    list_filter = ("status",)
    raw_id_fields = ("lead",)


@admin.register(Task)
class TaskAdmin(admin.ModelAdmin[Task]):
    list_display = ("title", "owner", "due_at", "status", "completed_at")
    list_filter = ("status", "channel")
    raw_id_fields = ("lead", "enrolment")


@admin.register(Appointment)
class AppointmentAdmin(admin.ModelAdmin[Appointment]):
    list_display = ("title", "owner", "starts_at", "time_zone", "outcome")
    raw_id_fields = ("lead",)
