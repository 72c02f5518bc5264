from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from leadsieve.config.env import env_bool, env_int, env_list, env_str

REPO = Path(__file__).resolve().parents[2]


def test_it_rejects_a_boolean_that_is_not_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEBUG", "maybe")
    with pytest.raises(ImproperlyConfigured, match="DEBUG='maybe' is not a boolean"):
        env_bool("DEBUG", False)


def test_it_rejects_an_integer_that_is_not_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEADSIEVE_WORKERS", "two")
    with pytest.raises(ImproperlyConfigured, match="not an integer"):
        env_int("LEADSIEVE_WORKERS", 2)


def test_it_rejects_an_integer_below_its_minimum(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEADSIEVE_WORKERS", "0")
    with pytest.raises(ImproperlyConfigured, match="at least 1"):
        env_int("LEADSIEVE_WORKERS", 2, minimum=1)


def test_it_reads_a_secret_from_a_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text("s3cret\n")
    monkeypatch.delenv("SOME_SECRET", raising=False)
    monkeypatch.setenv("SOME_SECRET_FILE", str(secret))
    assert env_str("SOME_SECRET") == "s3cret"


def test_it_names_an_unreadable_secret_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SOME_SECRET", raising=False)
    monkeypatch.setenv("SOME_SECRET_FILE", "/nonexistent/secret")
    with pytest.raises(ImproperlyConfigured, match="SOME_SECRET_FILE='/nonexistent/secret'"):
        env_str("SOME_SECRET")


def test_it_parses_lists_and_booleans(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALLOWED_HOSTS", " a.example, ,b.example ")
    monkeypatch.setenv("DEBUG", "Yes")
    assert env_list("ALLOWED_HOSTS", []) == ["a.example", "b.example"]
    assert env_bool("DEBUG", False) is True


def _settings_in_fresh_interpreter(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    code = (
        "import django, os; os.environ['DJANGO_SETTINGS_MODULE']='leadsieve.config.settings';"
        "from django.conf import settings; print(settings.DATABASES['default']['ENGINE'])"
    )
    base = {"PATH": "/usr/bin:/bin", "LEADSIEVE_DATA_DIR": env.pop("DATA", "/tmp/ls-env-test")}
    return subprocess.run(
        [sys.executable, "-c", code], env=base | env, capture_output=True, text=True, cwd=REPO
    )


def test_it_refuses_to_start_without_a_secret_key_outside_demo() -> None:
    result = _settings_in_fresh_interpreter({})
    assert result.returncode != 0
    assert "SECRET_KEY is required" in result.stderr


def test_it_defaults_to_sqlite_and_accepts_postgres_urls() -> None:
    sqlite = _settings_in_fresh_interpreter({"SECRET_KEY": "x"})
    assert sqlite.stdout.strip() == "leadsieve.config.sqlite", sqlite.stderr  # fair writers
    postgres = _settings_in_fresh_interpreter(
        {"SECRET_KEY": "x", "DATABASE_URL": "postgres://u@127.0.0.1:5432/db"}
    )
    assert postgres.stdout.strip() == "django.db.backends.postgresql", postgres.stderr


def test_it_rejects_an_unsupported_database_url() -> None:
    result = _settings_in_fresh_interpreter({"SECRET_KEY": "x", "DATABASE_URL": "mysql://u@h/db"})
    assert result.returncode != 0
    assert "only sqlite:/// and postgres://" in result.stderr


def test_the_command_names_a_missing_secret_key_in_one_line() -> None:
    base = {"PATH": "/usr/bin:/bin", "LEADSIEVE_DATA_DIR": "/tmp/ls-env-test"}
    for command in (["help"], ["migrate", "--check"]):
        result = subprocess.run(
            [sys.executable, "-m", "leadsieve.cli", *command],
            env=base,
            capture_output=True,
            text=True,
            cwd=REPO,
        )
        assert result.returncode == 1
        assert "Traceback" not in result.stderr
        assert result.stderr.strip().splitlines() == [
            "leadsieve: SECRET_KEY is required (or SECRET_KEY_FILE); only DEBUG or "
            "LEADSIEVE_DEMO runs may start without one."
        ]
