"""``leadsieve create-demo-admin``: a demo administrator, credentials printed once."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from leadsieve.accounts.models import Role, User
from leadsieve.accounts.passwords import generate_password
from leadsieve.demo.credentials import DemoLogin, save_demo_logins

DEMO_ADMIN = "admin"
DEMO_ADMIN_EMAIL = "admin@demo.invalid"


class Command(BaseCommand):
    help = "Create the demo administrator and print its password once (demo mode only)."

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEMO:
            raise CommandError("create-demo-admin only runs with LEADSIEVE_DEMO=1")
        if User.objects.filter(username=DEMO_ADMIN).exists():
            self.stdout.write(
                f"Demo admin '{DEMO_ADMIN}' already exists (its password was printed when it was "
                "created; `leadsieve changepassword admin` sets a new one)."
            )
            return
        password = generate_password(User(username=DEMO_ADMIN, email=DEMO_ADMIN_EMAIL))
        User.objects.create_superuser(
            username=DEMO_ADMIN, email=DEMO_ADMIN_EMAIL, password=password, role=Role.ADMIN
        )
        save_demo_logins(
            [DemoLogin("admin", DEMO_ADMIN, password, "Today; settings and /admin/ for everything")]
        )
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo admin created — user: {DEMO_ADMIN}  password: {password}\n"
                "(shown once; demo reps sign in with the password printed by load-demo)"
            )
        )
