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


def test_demo_runs_keep_email_in_files_and_debug_runs_print_it(tmp_path: Path) -> None:
    files = "django.core.mail.backends.filebased.EmailBackend"
    console = "django.core.mail.backends.console.EmailBackend"

    demo = _settings(tmp_path, [*EMAIL, "EMAIL_FILE_PATH"], LEADSIEVE_DEMO="1")
    assert demo["EMAIL_BACKEND"] == files
    assert str(demo["EMAIL_FILE_PATH"]).endswith("/mail")
    assert _settings(tmp_path, EMAIL, DEBUG="true")["EMAIL_BACKEND"] == console


HTTPS = [
    "SECURE_SSL_REDIRECT",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE",
    "SECURE_PROXY_SSL_HEADER",
]


def test_https_turns_on_the_redirect_hsts_and_secure_cookies(tmp_path: Path) -> None:
    plain = _settings(tmp_path, HTTPS)
    https = _settings(
        tmp_path, HTTPS, LEADSIEVE_HTTPS="true", LEADSIEVE_PROXY_SSL_HEADER="X-Forwarded-Proto"
    )
    older_name = _settings(tmp_path, HTTPS, LEADSIEVE_SECURE_COOKIES="true")

    assert plain == {
        "SECURE_SSL_REDIRECT": False,
        "SECURE_HSTS_SECONDS": 0,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
        "SESSION_COOKIE_SECURE": False,
        "CSRF_COOKIE_SECURE": False,
        "SECURE_PROXY_SSL_HEADER": None,
    }
    assert https == {
        "SECURE_SSL_REDIRECT": True,
        "SECURE_HSTS_SECONDS": 31_536_000,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
        "SESSION_COOKIE_SECURE": True,
        "CSRF_COOKIE_SECURE": True,
        "SECURE_PROXY_SSL_HEADER": ["HTTP_X_FORWARDED_PROTO", "https"],
    }
    assert older_name == {**https, "SECURE_PROXY_SSL_HEADER": None}


def test_sessions_last_twelve_idle_hours_unless_told_otherwise(tmp_path: Path) -> None:
    assert _settings(tmp_path, ["SESSION_COOKIE_AGE"]) == {"SESSION_COOKIE_AGE": 12 * 3600}
    assert _settings(tmp_path, ["SESSION_COOKIE_AGE"], LEADSIEVE_SESSION_IDLE_HOURS="2") == {
        "SESSION_COOKIE_AGE": 2 * 3600
    }


def test_check_deploy_is_clean_with_production_settings(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "leadsieve.cli", "check", "--deploy", "--fail-level", "WARNING"],
        env=_env(tmp_path, DEBUG="false", LEADSIEVE_HTTPS="true"),
        capture_output=True,
        text=True,
        cwd=REPO,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout
    assert "WARNING" not in result.stdout + result.stderr


def test_check_deploy_names_what_a_plain_http_setup_lacks(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "leadsieve.cli", "check", "--deploy"],
        env=_env(tmp_path, DEBUG="false"),
        capture_output=True,
        text=True,
        cwd=REPO,
    )

    output = result.stdout + result.stderr
    for check in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert check in output
