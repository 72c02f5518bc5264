from __future__ import annotations

from django.contrib import admin

from leadsieve.stages.models import Stage


@admin.register(Stage)
class StageAdmin(admin.ModelAdmin[Stage]):
    list_display = ("name", "position", "probability", "is_won", "is_lost", "is_active")
    prepopulated_fields = {"slug": ("name",)}
