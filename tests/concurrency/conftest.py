"""A real multi-process server (``leadsieve serve``, 4 workers × 4 threads) on the test database."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

LEADSIEVE = Path(sys.executable).with_name("leadsieve")
SERVER_LOG = "server.log"
WORKERS = 4
THREADS = 4


def server_errors(tmp_path: Path) -> str:
    """The server's tracebacks of 500s, for an assertion message."""
    text = (tmp_path / SERVER_LOG).read_text(errors="replace")
    start = text.find("Internal Server Error")
    return text[start : start + 4000] if start >= 0 else "(no 500 in the server log)"


def database_url(settings_dict: dict[str, Any]) -> str:
    engine = settings_dict["ENGINE"]
    if engine.endswith(("sqlite3", "sqlite")):
        return f"sqlite:///{settings_dict['NAME']}"
    user = urllib.parse.quote(settings_dict.get("USER") or "")
    password = urllib.parse.quote(settings_dict.get("PASSWORD") or "")
    auth = f"{user}:{password}@" if password else f"{user}@" if user else ""
    host = settings_dict.get("HOST") or "localhost"
    port = settings_dict.get("PORT") or 5432
    return f"postgres://{auth}{host}:{port}/{settings_dict['NAME']}"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def server_env() -> dict[str, str]:
    """Extra environment for the server (a test module may override this fixture)."""
    return {}


@pytest.fixture
def server(transactional_db: None, tmp_path: Path, server_env: dict[str, str]) -> Iterator[str]:
    from django.db import connection

    connection.close()  # SQLite: no lock held by the test process while the server writes
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url(connection.settings_dict),
        "ALLOWED_HOSTS": "127.0.0.1",
        "LEADSIEVE_FORM_RATE_LIMIT": "1000000",
        "LEADSIEVE_DATA_DIR": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "leadsieve.config.settings",
    }
    env.pop("LEADSIEVE_TEST_SQLITE", None)
    env.update(server_env)
    log = (tmp_path / SERVER_LOG).open("w")
    process = subprocess.Popen(
        [
            *(str(LEADSIEVE), "serve", "--workers", str(WORKERS), "--threads", str(THREADS)),
            *("--bind", f"127.0.0.1:{port}", "--timeout", "120", "--no-collectstatic"),
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                # A page that answers without signing in (the API schema now needs a token).
                urllib.request.urlopen(f"{base}/accounts/login/", timeout=5).read()  # noqa: S310
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError((tmp_path / SERVER_LOG).read_text()) from None
                time.sleep(0.3)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def start_worker(
    data_dir: Path, log_name: str, *extra: str, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """A real ``leadsieve worker`` process on the test database and the database task queue."""
    from django.db import connection

    worker_env = {
        **os.environ,
        "DATABASE_URL": database_url(connection.settings_dict),
        "LEADSIEVE_DATA_DIR": str(data_dir),
        "LEADSIEVE_TASKS_BACKEND": "django_tasks_db.DatabaseBackend",
        "DJANGO_SETTINGS_MODULE": "leadsieve.config.settings",
        **(env or {}),
    }
    worker_env.pop("LEADSIEVE_TEST_SQLITE", None)
    with (data_dir / log_name).open("w") as log:
        return subprocess.Popen(
            [
                *(str(LEADSIEVE), "worker", "--interval", "0.1"),
                *("--no-startup-delay", "--no-reload", *extra),
            ],
            env=worker_env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
