"""Admin screens to edit cadences (versioned by ``publish_cadence``), rules, tasks, meetings."""

from __future__ import annotations

from django.contrib import admin

from leadsieve.cadences.models import (
    Appointment,
    Cadence,
    CadenceStep,
    Enrolment,
    EnrolmentRule,
    Task,
)


class CadenceStepInline(admin.TabularInline[CadenceStep, Cadence]):
    model = CadenceStep
    extra = 0


@admin.register(Cadence)
class CadenceAdmin(admin.ModelAdmin[Cadence]):
    list_display = ("name", "key", "version", "team", "horizon", "is_current")
    list_filter = ("team", "horizon", "is_current")
    inlines = (CadenceStepInline,)


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
