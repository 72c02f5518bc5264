"""Settings a production environment gets: each read in a fresh interpreter, as a server
process would, from nothing but the environment given.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
LONG_RANDOM_KEY = "k7#Qm2v!Lr9@xP4z$Wn8&Ty3*Hb6^Jd5(Fs1)Gc0-Ve_Ua+Ro=Ip~Ek.Ml,Zq;Xw"


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {
        "PATH": "/usr/bin:/bin",
        "LEADSIEVE_DATA_DIR": str(tmp_path),
        "SECRET_KEY": LONG_RANDOM_KEY,
        "ALLOWED_HOSTS": "leads.example.com",
        **extra,
    }


def _settings(tmp_path: Path, names: list[str], **extra: str) -> dict[str, object]:
    code = (
        "import json, os; os.environ['DJANGO_SETTINGS_MODULE'] = 'leadsieve.config.settings';"
        "from django.conf import settings;"
        f"print(json.dumps({{n: getattr(settings, n) for n in {names!r}}}, default=str))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        env=_env(tmp_path, **extra),
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    assert result.returncode == 0, result.stderr
    values: dict[str, object] = json.loads(result.stdout)
    return values


EMAIL = ["EMAIL_BACKEND", "EMAIL_HOST", "EMAIL_PORT", "EMAIL_USE_TLS", "EMAIL_HOST_PASSWORD"]


def test_production_sends_email_through_smtp_from_the_environment(tmp_path: Path) -> None:
    secret = tmp_path / "smtp-password"
    secret.write_text("s3cret\n")

    default = _settings(tmp_path, EMAIL)
    configured = _settings(
        tmp_path,
        EMAIL,
        EMAIL_HOST="smtp.example.com",
        EMAIL_USE_TLS="true",
        EMAIL_HOST_PASSWORD_FILE=str(secret),
    )

    assert default["EMAIL_BACKEND"] == "django.core.mail.backends.smtp.EmailBackend"
    assert (default["EMAIL_HOST"], default["EMAIL_PORT"]) == ("localhost", 25)
    assert configured == {
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "smtp.example.com",
        "EMAIL_PORT": 587,
        "EMAIL_USE_TLS": True,
        "EMAIL_HOST_PASSWORD": "s3cret",
    }


def test_only_demo_and_debug_runs_print_email_to_the_console(tmp_path: Path) -> None:
    console = "django.core.mail.backends.console.EmailBackend"

    assert _settings(tmp_path, EMAIL, LEADSIEVE_DEMO="1")["EMAIL_BACKEND"] == console
    assert _settings(tmp_path, EMAIL, DEBUG="true")["EMAIL_BACKEND"] == console
