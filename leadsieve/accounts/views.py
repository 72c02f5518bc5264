"""Sign-in, sign-out and password change: Django's auth views with LeadSieve's templates.

Django's views already rotate the session on sign-in, refuse open redirects in ``next`` and
keep the session valid after a password change; only the templates and defaults are ours.
django-axes counts failed sign-ins (settings: "sign-in lock-out") and answers a locked-out
attempt with ``locked_out``.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import render
from django.urls import reverse, reverse_lazy

from leadsieve.accounts.models import User

ViewFunc = Callable[..., HttpResponseBase]


def signed_in_user(request: HttpRequest) -> User:
    """The signed-in user of a view that ``login_required`` already guards."""
    user = request.user
    assert isinstance(user, User)
    return user


class SignInView(auth_views.LoginView):
    template_name = "registration/login.html"
    redirect_authenticated_user = True


class SignOutView(auth_views.LogoutView):
    """POST only (Django 5): a link or an image tag cannot sign a user out."""


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "registration/password_change_form.html"
    success_url = reverse_lazy("accounts:password_change_done")


class PasswordChangeDoneView(auth_views.PasswordChangeDoneView):
    template_name = "registration/password_change_done.html"


def locked_out(
    request: HttpRequest,
    original_response: HttpResponse | None,
    credentials: dict[str, Any] | None,  # Any: what the sign-in form posted
) -> HttpResponse:
    """django-axes' answer to a sign-in refused for too many failures (``429``).

    The same page for every username, known or not, and whatever the password: it names
    neither the user nor the reason beyond the count, so it reveals nothing about accounts.
    """
    context = {"minutes": settings.LEADSIEVE_LOGIN_COOLOFF_MINUTES}
    return render(request, "registration/locked_out.html", context, status=429)


def workspace_login_required(view: ViewFunc) -> ViewFunc:
    """``login_required``, but an htmx request whose session expired reloads the whole page
    on the sign-in form (``HX-Redirect``) instead of swapping the form into a fragment.
    """
    guarded = login_required(view)

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        htmx = getattr(request, "htmx", None)
        if htmx and not request.user.is_authenticated:
            current = htmx.current_url_abs_path or reverse("leads:today")
            response = HttpResponse(status=204)
            response["HX-Redirect"] = f"{settings.LOGIN_URL}?{urlencode({'next': current})}"
            return response
        return guarded(request, *args, **kwargs)

    return wrapper
