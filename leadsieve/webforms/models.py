"""Web forms a marketer defines once and embeds on any site, and the per-IP rate buckets.

A form's ``fields`` is an ordered list of specs (see ``leadsieve.webforms.fields``); the
list is validated when the form is saved through the admin, and again when it is read,
so a hand-edited row can never make the public endpoint crash.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import models
from django.utils import timezone

from leadsieve.webforms.fields import FieldSpec, InvalidFieldSpecs, parse_field_specs
from leadsieve.webforms.theme import ACCENT_VALIDATOR, DEFAULT_ACCENT

THANK_YOU_URL_VALIDATOR = URLValidator(schemes=["http", "https"])


class WebForm(models.Model):
    """A public capture form served at ``/f/<slug>/``."""

    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=60, unique=True)
    fields = models.JSONField(
        default=list,
        blank=True,
        help_text=(
            'Ordered list, e.g. [{"name": "email", "label": "Work email", "type": "email", '
            '"required": true}, {"name": "custom.industry", "type": "select", '
            '"choices": ["SaaS", "Retail"]}].'
        ),
    )
    source = models.ForeignKey(
        "leads.Source", null=True, blank=True, on_delete=models.PROTECT, related_name="web_forms"
    )
    campaign = models.ForeignKey(
        "leads.Campaign", null=True, blank=True, on_delete=models.PROTECT, related_name="web_forms"
    )
    team = models.ForeignKey(
        "accounts.Team",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="web_forms",
        help_text="Team whose leads these are; blank: routing decides.",
    )
    thank_you_url = models.CharField(
        max_length=500,
        blank=True,
        validators=[THANK_YOU_URL_VALIDATOR],
        help_text="http(s) URL to send the visitor to; blank: LeadSieve's own thank-you page.",
    )
    thank_you_message = models.CharField(
        max_length=300, blank=True, default="Thank you, we will be in touch soon."
    )
    consent_text = models.CharField(
        max_length=300,
        blank=True,
        help_text="Wording of the consent checkbox; when set, ticking it is required.",
    )
    allowed_origins = models.JSONField(
        default=list,
        blank=True,
        help_text='Origins allowed to post, e.g. ["https://www.example.com"]; empty: any.',
    )
    intro = models.CharField(
        max_length=300,
        blank=True,
        help_text="One or two sentences under the title: what the visitor gets by sending.",
    )
    submit_label = models.CharField(
        max_length=40,
        blank=True,
        default="Send",
        help_text="The button's words, e.g. 'Book a demo'; blank: 'Send'.",
    )
    accent_color = models.CharField(
        max_length=7,
        blank=True,
        default=DEFAULT_ACCENT,
        validators=[ACCENT_VALIDATOR],
        help_text="The team's colour: the button, the top border and the focus rings.",
    )
    # Re-encoded PNG (webforms.theme.prepare_logo), never the uploaded bytes.
    logo = models.BinaryField(null=True, blank=True, editable=False)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        """Refuse field lists and origins the public endpoint could not honour."""
        errors: dict[str, list[str]] = {}
        try:
            parse_field_specs(self.fields)
        except InvalidFieldSpecs as error:
            errors["fields"] = error.problems
        if not isinstance(self.allowed_origins, list):
            errors["allowed_origins"] = ["must be a list of origins"]
        else:
            bad = [o for o in self.allowed_origins if not _is_origin(o)]
            if bad:
                errors["allowed_origins"] = [
                    f"{o!r} is not an origin like https://www.example.com" for o in bad
                ]
        if errors:
            raise ValidationError(errors)

    def field_specs(self) -> list[FieldSpec]:
        return parse_field_specs(self.fields)

    def is_origin_allowed(self, origin: str | None) -> bool:
        """A post without an Origin header (old browsers, curl) is judged by the rate limit."""
        if not self.allowed_origins or not origin:
            return True
        return origin.rstrip("/").lower() in {o.rstrip("/").lower() for o in self.allowed_origins}


def _is_origin(value: object) -> bool:
    if not isinstance(value, str):
        return False
    parts = urlsplit(value)
    return parts.scheme in {"http", "https"} and bool(parts.netloc) and parts.path in {"", "/"}


class RateBucket(models.Model):
    """The token bucket of one key (``form:<id>:<ip>``), stored as the moment it is full again.

    A bucket holds ``limit`` tokens and refills at ``limit`` per window; a post takes one.
    Storing only ``full_at`` keeps the state one number: the bucket is short of
    ``(full_at - now) / interval`` tokens, and a row whose ``full_at`` has passed is a full
    bucket, the same as no row, so it can be deleted at any time.
    """

    key = models.CharField(max_length=200, unique=True)
    full_at = models.FloatField(help_text="Unix seconds when the bucket is full again.")

    class Meta:
        indexes = [models.Index(fields=["full_at"], name="ratebucket_full_at")]

    def __str__(self) -> str:
        return f"{self.key}: full at {self.full_at:.0f}"
