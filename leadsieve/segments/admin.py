from __future__ import annotations

from django.contrib import admin

from leadsieve.segments.models import Segment, SegmentMember


@admin.register(Segment)
class SegmentAdmin(admin.ModelAdmin[Segment]):
    list_display = ("name", "owner", "team", "is_shared", "updated_at")
    list_filter = ("is_shared", "team")
    search_fields = ("name",)
    raw_id_fields = ("owner",)


@admin.register(SegmentMember)
class SegmentMemberAdmin(admin.ModelAdmin[SegmentMember]):
    list_display = ("segment", "lead", "added_by", "added_at")
    raw_id_fields = ("segment", "lead", "added_by")
