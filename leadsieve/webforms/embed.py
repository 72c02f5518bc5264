"""The HTML a marketer pastes into any site to post leads to a LeadSieve form.

Plain HTML: the fields, the honeypot, hidden UTM fields and a tiny inline script that fills
them from the page URL. No external asset, so it works under any site's CSP that allows
inline scripts, and degrades to a working form without JavaScript.
"""

from __future__ import annotations

from importlib.resources import files

from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.safestring import mark_safe

from leadsieve.webforms.forms import SubmissionForm
from leadsieve.webforms.models import WebForm

TRACKING_SCRIPT = files("leadsieve.webforms") / "static" / "webforms" / "tracking.js"


def snippet_for(web_form: WebForm, base_url: str) -> str:
    """The embeddable ``<form>`` posting to ``<base_url>/f/<slug>/``.

    ``base_url`` is the public address of this LeadSieve (``https://leads.example.com``).
    """
    action = base_url.rstrip("/") + reverse("webforms:form", args=[web_form.slug])
    context = {
        "form": SubmissionForm(web_form),
        "action": action,
        "web_form": web_form,
        "is_snippet": True,
        # The script LeadSieve's own form page loads from its static files, carried inline.
        "tracking_script": mark_safe(TRACKING_SCRIPT.read_text(encoding="utf-8")),  # noqa: S308
    }
    return render_to_string("webforms/snippet.html", context).strip() + "\n"
