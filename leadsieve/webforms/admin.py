"""Admin: define a form and copy its embeddable snippet from the same page."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.html import format_html

from leadsieve.webforms.embed import snippet_for
from leadsieve.webforms.forms import ACCENT_WIDGET, THEME_FIELDS, LogoFormFields
from leadsieve.webforms.models import WebForm


class WebFormAdminForm(LogoFormFields, forms.ModelForm[WebForm]):
    """The model's fields plus the logo, checked and re-encoded when the form is cleaned."""

    class Meta:
        model = WebForm
        fields = (
            *("name", "slug", "fields", "source", "campaign", "team", "is_active"),
            *THEME_FIELDS,
            *("consent_text", "thank_you_message", "thank_you_url", "allowed_origins"),
        )
        widgets = {"accent_color": ACCENT_WIDGET}

    def save(self, commit: bool = True) -> WebForm:
        web_form = self.apply_logo(super().save(commit=False))
        if commit:
            web_form.save()
            self.save_m2m()
        return web_form


@admin.register(WebForm)
class WebFormAdmin(admin.ModelAdmin[WebForm]):
    form = WebFormAdminForm
    list_display = ("name", "slug", "source", "campaign", "team", "is_active")
    list_filter = ("is_active",)
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}
    readonly_fields = ("current_logo",)
    fieldsets = (
        (None, {"fields": ("name", "slug", "fields", "source", "campaign", "team", "is_active")}),
        (
            "Look",
            {
                "fields": (
                    "intro",
                    "submit_label",
                    "accent_color",
                    "current_logo",
                    "logo_file",
                    "remove_logo",
                )
            },
        ),
        (
            "After sending",
            {"fields": ("consent_text", "thank_you_message", "thank_you_url", "allowed_origins")},
        ),
    )

    @admin.display(description="Current logo")
    def current_logo(self, web_form: WebForm) -> str:
        if not web_form.pk or web_form.logo is None:
            return "None"
        url = reverse("webforms:logo", args=[web_form.slug])
        return format_html('<img src="{}" alt="" height="48">', url)

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
