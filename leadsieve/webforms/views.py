"""The public form endpoint: ``GET /f/<slug>/`` shows the form, ``POST`` captures a lead.

It is csrf-exempt on purpose: the snippet posts from other sites and the endpoint takes no
session. What protects it instead: the body size limit (checked before the body is read),
the allowed origins, a per-IP rate limit (a token bucket; the IP as seen through the trusted
proxies, ``leadsieve.config.proxies``), a honeypot, and strict validation.
"""

from __future__ import annotations

import time
from typing import Any

from csp.decorators import csp_replace
from django.conf import settings
from django.db.models import BooleanField, ExpressionWrapper, Q, QuerySet
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.cache import patch_cache_control
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from leadsieve.config.proxies import client_ip
from leadsieve.leads.capture import CaptureRejected
from leadsieve.webforms.fields import InvalidFieldSpecs
from leadsieve.webforms.forms import ErrorDict, SubmissionForm
from leadsieve.webforms.models import WebForm
from leadsieve.webforms.services import submit_web_form, take_token
from leadsieve.webforms.theme import theme_css

FORM_PAGE_MAX_AGE_S = 300


def public_forms() -> QuerySet[WebForm]:
    """Active forms, without the logo's bytes (served apart) but with ``has_logo``."""
    return (
        WebForm.objects.filter(is_active=True)
        .defer("logo")
        .annotate(has_logo=ExpressionWrapper(Q(logo__isnull=False), output_field=BooleanField()))
    )


def _wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _refuse(request: HttpRequest, status: int, field: str, message: str) -> HttpResponse:
    """A refusal before the form is read: JSON for scripts, plain text for browsers."""
    if _wants_json(request):
        return JsonResponse({"errors": [{"field": field, "message": message}]}, status=status)
    return HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")


def _body_too_large(request: HttpRequest) -> HttpResponse | None:
    raw = request.META.get("CONTENT_LENGTH") or "0"
    try:
        length = int(raw)
    except ValueError:
        return _refuse(request, 400, "body", "Content-Length is not a number.")
    limit = settings.LEADSIEVE_FORM_MAX_BODY_BYTES
    if length > limit:
        return _refuse(request, 413, "body", f"The form data is larger than {limit} bytes.")
    return None


def _rate_limited(request: HttpRequest, web_form: WebForm) -> HttpResponse | None:
    retry_after = take_token(
        f"form:{web_form.pk}:{client_ip(request) or 'unknown'}",
        limit=settings.LEADSIEVE_FORM_RATE_LIMIT,
        window_s=settings.LEADSIEVE_FORM_RATE_WINDOW,
        now=time.time(),
    )
    if retry_after is None:
        return None
    response = _refuse(request, 429, "form", "Too many submissions; please try again later.")
    response["Retry-After"] = str(retry_after)
    return response


def _thanks(request: HttpRequest, web_form: WebForm) -> HttpResponse:
    """The same answer for a capture, a merge and a caught bot: the public learns nothing
    (no lead id, so no "is this email already known?" oracle, and no honeypot tell).
    """
    url = web_form.thank_you_url or reverse("webforms:thanks", args=[web_form.slug])
    if _wants_json(request):
        return JsonResponse({"ok": True, "redirect": url}, status=201)
    response = HttpResponse(status=303)
    response["Location"] = url
    return response


def _invalid(
    request: HttpRequest, web_form: WebForm, form: SubmissionForm, errors: list[ErrorDict]
) -> HttpResponse:
    if _wants_json(request):
        return JsonResponse({"errors": errors}, status=422)
    # A visitor reads the field's label, not its name (the JSON answer keeps the name).
    shown = [
        {**error, "label": str(form.fields[error["field"]].label or error["field"]).rstrip(".")}
        if error["field"] in form.fields
        else {**error, "label": error["field"]}
        for error in errors
    ]
    context = {"web_form": web_form, "form": form, "errors": shown}
    return render(request, "webforms/form.html", context, status=422)


@csrf_exempt
@require_http_methods(["GET", "POST"])
# The form may send the visitor on to a thank-you URL on another site: no form-action limit.
# (django-csp types its decorators for views without URL arguments, hence the ignore.)
@csp_replace({"form-action": None})  # type: ignore[arg-type]
def form_page(request: HttpRequest, slug: str) -> HttpResponse:
    web_form = get_object_or_404(public_forms(), slug=slug)
    try:
        web_form.field_specs()
    except InvalidFieldSpecs:
        # A hand-edited field list; the admin refuses these, the public must not see a 500.
        return _refuse(request, 503, "form", "This form is not available right now.")
    if request.method == "GET":
        form = SubmissionForm(web_form)
        response = render(request, "webforms/form.html", {"web_form": web_form, "form": form})
        # The same blank form for everyone: caches may keep it (every other answer: no-store).
        patch_cache_control(response, public=True, max_age=FORM_PAGE_MAX_AGE_S)
        return response
    refusal = _body_too_large(request)
    if refusal is None and not web_form.is_origin_allowed(request.headers.get("Origin")):
        refusal = _refuse(request, 403, "origin", "This site may not post to this form.")
    if refusal is None:
        refusal = _rate_limited(request, web_form)
    if refusal is not None:
        return refusal
    form = SubmissionForm(web_form, request.POST)
    if form.is_spam():
        return _thanks(request, web_form)
    errors = form.strict_errors()
    errors += [{"field": name[:60], "message": "Files are not accepted."} for name in request.FILES]
    if not form.is_valid() or errors:
        return _invalid(request, web_form, form, errors + form.error_list())
    try:
        submit_web_form(web_form, form.capture_values(), tracking=form.tracking())
    except CaptureRejected as rejected:
        for error in rejected.errors:
            if error.field in form.fields:
                form.add_error(error.field, error.message)
        captured: list[ErrorDict] = [
            {"field": error.field, "message": error.message} for error in rejected.errors
        ]
        return _invalid(request, web_form, form, captured)
    return _thanks(request, web_form)


@require_http_methods(["GET"])
def thanks_page(request: HttpRequest, slug: str) -> HttpResponse:
    web_form = get_object_or_404(public_forms(), slug=slug)
    context: dict[str, Any] = {"web_form": web_form}
    return render(request, "webforms/thanks.html", context)


@require_http_methods(["GET"])
def theme_stylesheet(request: HttpRequest, slug: str) -> HttpResponse:
    """The form's colours as a stylesheet: the page's CSP allows no inline style."""
    web_form = get_object_or_404(WebForm, slug=slug, is_active=True)
    response = HttpResponse(theme_css(web_form.accent_color), content_type="text/css")
    patch_cache_control(response, public=True, max_age=FORM_PAGE_MAX_AGE_S)
    return response


@require_http_methods(["GET"])
def logo_image(request: HttpRequest, slug: str) -> HttpResponse:
    """The form's logo, the PNG LeadSieve re-encoded at upload."""
    web_form = get_object_or_404(WebForm, slug=slug, is_active=True, logo__isnull=False)
    response = HttpResponse(bytes(web_form.logo or b""), content_type="image/png")
    patch_cache_control(response, public=True, max_age=FORM_PAGE_MAX_AGE_S)
    return response
