"""Accounts: sign-in, sign-out and password change under ``/accounts/``."""

from __future__ import annotations

from django.urls import URLPattern, path

from leadsieve.accounts import views

app_name = "accounts"

urlpatterns: list[URLPattern] = [
    path("login/", views.SignInView.as_view(), name="login"),
    path("logout/", views.SignOutView.as_view(), name="logout"),
    path("password/", views.PasswordChangeView.as_view(), name="password_change"),
    path("password/done/", views.PasswordChangeDoneView.as_view(), name="password_change_done"),
]
