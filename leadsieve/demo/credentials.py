"""The demo's sign-in details, kept in the data directory so ``leadsieve run`` can show them.

Demo mode only (``LEADSIEVE_DEMO=1``): the demo's people have random passwords, printed when
they are made; ``make run`` prints them again as its last lines, so a person who scrolled
past them, or starts the demo again tomorrow, can still sign in. The file is readable by its
owner only. A real installation never writes it.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from django.conf import settings

FILE_NAME = "demo-credentials.json"


@dataclass(frozen=True)
class DemoLogin:
    role: str
    username: str
    password: str
    lands_on: str


def credentials_path() -> Path:
    return Path(settings.DATA_DIR) / FILE_NAME


def save_demo_logins(logins: list[DemoLogin]) -> None:
    """Add ``logins`` to the file (same username: replaced). Does nothing outside demo mode."""
    if not settings.DEMO:
        return
    kept = {login.username: login for login in read_demo_logins()}
    kept.update({login.username: login for login in logins})
    path = credentials_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        json.dump([asdict(login) for login in kept.values()], file, indent=1)


def read_demo_logins() -> list[DemoLogin]:
    """The saved logins, admin first, then managers, then reps (each as made); none if no file."""
    try:
        rows = json.loads(credentials_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    order = {"admin": 0, "manager": 1, "rep": 2}
    logins = [DemoLogin(**row) for row in rows if isinstance(row, dict)]
    return sorted(logins, key=lambda login: order.get(login.role, 3))  # stable: as made
