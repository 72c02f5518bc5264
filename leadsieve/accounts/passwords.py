"""Passwords LeadSieve makes itself (demo accounts): random, and within the password rules."""

from __future__ import annotations

import secrets

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError

from leadsieve.accounts.models import User

# 16 bytes: 22 URL-safe characters, about 128 bits.
RANDOM_BYTES = 16


def generate_password(user: User | None = None) -> str:
    """A random password that ``AUTH_PASSWORD_VALIDATORS`` accept (for ``user`` when given).

    A random draw fails the rules only by freak chance (all digits, say); then it draws again.
    """
    while True:
        candidate = secrets.token_urlsafe(RANDOM_BYTES)
        try:
            validate_password(candidate, user)
        except ValidationError:
            continue
        return candidate
