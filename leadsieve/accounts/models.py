"""Teams and the people in them: admins, managers and reps."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractUser
from django.db import models


class Role(models.TextChoices):
    ADMIN = "admin", "Admin"
    MANAGER = "manager", "Sales manager"
    REP = "rep", "Sales rep"


class Team(models.Model):
    """A sales team: the unit that owns leads, routing rules and cadences."""

    name = models.CharField(max_length=120, unique=True)
    slug = models.SlugField(max_length=60, unique=True)
    timezone = models.CharField(max_length=64, default="UTC")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class User(AbstractUser):
    """A person who signs in. ``role`` decides what they may see and change."""

    role = models.CharField(max_length=16, choices=Role.choices, default=Role.REP)
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="members"
    )
    timezone = models.CharField(max_length=64, blank=True, help_text="Blank: the team's zone.")

    def __str__(self) -> str:
        return self.get_full_name() or self.username

    def is_admin_role(self) -> bool:
        return self.role == Role.ADMIN or self.is_superuser

    def is_manager_role(self) -> bool:
        return self.role == Role.MANAGER

    def is_rep_role(self) -> bool:
        return self.role == Role.REP and not self.is_superuser


def is_manager_or_admin(user: Any) -> bool:  # Any: a User or AnonymousUser
    """Managers and admins: the people who set the team's procedure (forms and imports, team
    settings, the scorecard). Reps and anonymous visitors are not.
    """
    return (
        isinstance(user, User)
        and user.is_active
        and (user.is_admin_role() or user.is_manager_role())
    )
