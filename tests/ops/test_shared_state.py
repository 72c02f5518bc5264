"""What several web processes share: the cache (database or Redis) and the PgBouncer settings.

Each setting is read in a fresh interpreter from nothing but the environment given, as a
server process would read it (docs/deploy.md).
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from importlib.util import find_spec
from pathlib import Path

import pytest
from django.db import connection

REPO = Path(__file__).resolve().parents[2]


def _python(tmp_path: Path, code: str, **extra: str) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": "/usr/bin:/bin",
        "LEADSIEVE_DATA_DIR": str(tmp_path),
        "SECRET_KEY": "shared-state-test",
        "DJANGO_SETTINGS_MODULE": "leadsieve.config.settings",
        **extra,
    }
    setup = "import django, json; django.setup(); from django.conf import settings;"
    return subprocess.run(
        [sys.executable, "-c", setup + code], env=env, capture_output=True, text=True, cwd=REPO
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_an_unknown_cache_url_is_refused_naming_the_variable(tmp_path: Path) -> None:
    result = _python(tmp_path, "pass", LEADSIEVE_CACHE_URL="memcached://cache:11211")
    assert result.returncode != 0
    assert "LEADSIEVE_CACHE_URL='memcached://cache:11211'" in result.stderr


def test_pgbouncer_mode_needs_postgresql(tmp_path: Path) -> None:
    result = _python(tmp_path, "pass", LEADSIEVE_PGBOUNCER="true")
    assert result.returncode != 0
    assert "LEADSIEVE_PGBOUNCER=true needs a postgres:// DATABASE_URL" in result.stderr


@pytest.mark.django_db(transaction=True)
def test_the_cache_is_a_table_of_the_database_created_by_migrate() -> None:
    from django.core.cache import cache
    from django.core.management import call_command

    def has_table() -> bool:
        return "leadsieve_cache" in connection.introspection.table_names()

    call_command("migrate", "ops", "zero", verbosity=0)
    assert not has_table()
    call_command("migrate", "ops", verbosity=0)
    assert has_table()
    cache.set("seen-by-every-process", 42)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM leadsieve_cache")
        assert cursor.fetchone()[0] == 1


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PgBouncer fronts PostgreSQL")
def test_pgbouncer_mode_keeps_no_server_side_cursor_and_no_prepared_statement(
    db: None, tmp_path: Path
) -> None:
    from tests.concurrency.conftest import database_url

    # Django's .iterator() reads through a named (server-side) cursor, which PgBouncer's
    # transaction mode cannot keep: pg_cursors shows whether one was opened. (The content
    # types are rows of the migrated test database.)
    code = (
        "from django.db import connection, transaction;"
        "from django.contrib.contenttypes.models import ContentType;"
        "atomic = transaction.atomic(); atomic.__enter__();"
        "rows = ContentType.objects.iterator(chunk_size=1); next(rows);"
        "n = connection.cursor().execute('SELECT count(*) FROM pg_cursors').fetchone()[0];"
        "print(json.dumps([n, connection.connection.prepare_threshold]))"
    )
    url = database_url(connection.settings_dict)
    pgbouncer = _python(tmp_path, code, DATABASE_URL=url, LEADSIEVE_PGBOUNCER="true")
    assert pgbouncer.returncode == 0, pgbouncer.stderr
    assert json.loads(pgbouncer.stdout) == [0, None]
    default = _python(tmp_path, code, DATABASE_URL=url)
    assert default.returncode == 0, default.stderr
    assert json.loads(default.stdout)[0] == 1


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    server = shutil.which("redis-server")
    if server is None or find_spec("redis") is None:
        pytest.skip("needs redis-server and the redis package (pip install 'leadsieve[redis]')")
    port = _free_port()
    process = subprocess.Popen(
        [server, "--port", str(port), "--save", "", "--appendonly", "no", "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_with_redis_configured_one_process_reads_what_another_cached(
    tmp_path: Path, redis_url: str
) -> None:
    write = _python(
        tmp_path,
        "from django.core.cache import cache; cache.set('lead-count', 1234, 60);"
        "print(settings.CACHES['default']['BACKEND'])",
        LEADSIEVE_CACHE_URL=redis_url,
    )
    assert write.returncode == 0, write.stderr
    assert write.stdout.strip() == "django.core.cache.backends.redis.RedisCache"
    read = _python(
        tmp_path,
        "from django.core.cache import cache; print(cache.get('lead-count'))",
        LEADSIEVE_CACHE_URL=redis_url,
    )
    assert read.returncode == 0, read.stderr
    assert read.stdout.strip() == "1234"
