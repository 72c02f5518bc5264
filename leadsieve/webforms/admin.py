"""Admin: define a form and copy its embeddable snippet from the same page."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse

from leadsieve.webforms.embed import snippet_for
from leadsieve.webforms.models import WebForm


@admin.register(WebForm)
class WebFormAdmin(admin.ModelAdmin[WebForm]):
    list_display = ("name", "slug", "source", "campaign", "team", "is_active")
    list_filter = ("is_active",)
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}
    change_form_template = "webforms/admin_change_form.html"

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        # Presentation only: the snippet needs this site's public address.
        extra_context = dict(extra_context or {})
        web_form = self.get_object(request, object_id)
        if web_form is not None:
            try:
                extra_context["embed_snippet"] = snippet_for(
                    web_form, request.build_absolute_uri("/")
                )
            except ValueError as error:
                extra_context["embed_error"] = str(error)
        return super().change_view(request, object_id, form_url, extra_context)
