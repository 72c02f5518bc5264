"""Loaded with ``-p tests.testenv`` before pytest-django reads the settings."""

from __future__ import annotations

import os

# Tests never need a real secret.
os.environ.setdefault("SECRET_KEY", "tests-only-not-a-secret")
os.environ.setdefault("LEADSIEVE_TASKS_BACKEND", "django_tasks.backends.immediate.ImmediateBackend")
