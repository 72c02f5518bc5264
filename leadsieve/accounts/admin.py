from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from leadsieve.accounts.models import Team, User


@admin.register(User)
class LeadSieveUserAdmin(UserAdmin[User]):
    list_display = ("username", "email", "first_name", "last_name", "role", "team", "is_active")
    list_filter = ("role", "team", "is_active")
    fieldsets = (
        *(UserAdmin.fieldsets or ()),
        ("LeadSieve", {"fields": ("role", "team", "timezone")}),
    )


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin[Team]):
    list_display = ("name", "slug", "timezone")
    prepopulated_fields = {"slug": ("name",)}
