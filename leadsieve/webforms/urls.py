from __future__ import annotations

from django.urls import path

from leadsieve.webforms import views

app_name = "webforms"

urlpatterns = [
    path("<slug:slug>/", views.form_page, name="form"),
    path("<slug:slug>/thanks/", views.thanks_page, name="thanks"),
    path("<slug:slug>/theme.css", views.theme_stylesheet, name="theme"),
    path("<slug:slug>/logo.png", views.logo_image, name="logo"),
]
