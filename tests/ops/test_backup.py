"""``leadsieve backup``: a consistent copy of a SQLite database that is being written to.

A writer process commits small transactions in WAL mode while the copy is made in small
steps (so SQLite restarts it); the copy must be a database the writer could have left at
one moment: every transaction whole or absent, and the restore must open and hold the rows.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from leadsieve.ops.backup import BackupFailed, backup_sqlite

LEADSIEVE = Path(sys.executable).with_name("leadsieve")

# Each transaction adds one row to `ledger` and keeps `totals` equal to the ledger's count
# and sum: a copy taken across a transaction would break that equality.
WRITER = """
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], timeout=30, isolation_level=None)
db.execute("PRAGMA journal_mode=WAL")
n = 0
stop = time.monotonic() + float(sys.argv[2])
while time.monotonic() < stop:
    n += 1
    db.execute("BEGIN IMMEDIATE")
    db.execute("INSERT INTO ledger (id, amount, note) VALUES (?, ?, ?)", (n, n % 7, "x" * 200))
    db.execute("UPDATE totals SET n = n + 1, total = total + ?", (n % 7,))
    db.execute("COMMIT")
print(n)
"""


def _seed(path: Path, n_rows: int) -> None:
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("CREATE TABLE ledger (id INTEGER PRIMARY KEY, amount INTEGER, note TEXT)")
    db.execute("CREATE TABLE totals (n INTEGER, total INTEGER)")
    db.execute("INSERT INTO totals VALUES (0, 0)")
    # Filler rows (negative ids, amount 0, outside the totals): a file of many pages.
    db.executemany(
        "INSERT INTO ledger (id, amount, note) VALUES (?, 0, ?)",
        ((-n, "y" * 200) for n in range(1, n_rows + 1)),
    )
    db.commit()
    db.close()


def _check_copy(path: Path) -> int:
    db = sqlite3.connect(path, isolation_level=None)
    try:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        db.execute("BEGIN")  # one read snapshot: the live database is being written to
        n, total = db.execute("SELECT n, total FROM totals").fetchone()
        count, amount = db.execute(
            "SELECT count(*), coalesce(sum(amount), 0) FROM ledger WHERE id > 0"
        ).fetchone()
        assert (count, amount) == (n, total), "the copy holds half a transaction"
        assert db.execute("SELECT max(id) FROM ledger").fetchone()[0] in (n, -1)
        return int(n)
    finally:
        db.close()


def test_it_copies_a_database_that_is_written_to_meanwhile(tmp_path: Path) -> None:
    live = tmp_path / "live.sqlite3"
    _seed(live, 20_000)  # about 5 MB: some 150 steps of 8 pages
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(live), "30"], stdout=subprocess.PIPE, text=True
    )
    try:
        time.sleep(0.5)  # the writer is committing
        before = _check_copy(live)
        steps: list[tuple[int, int]] = []
        result = backup_sqlite(
            live,
            tmp_path / "backup.sqlite3",
            step_pages=8,
            progress=lambda done, total: steps.append((done, total)),
        )
        assert writer.poll() is None, "the writer stopped before the backup ended"
    finally:
        writer.terminate()
        writer.wait(timeout=30)
    assert steps and steps[-1][0] == steps[-1][1]
    assert result.n_restarts >= 1, "the writer never changed the source between two steps"
    assert not (tmp_path / "backup.sqlite3.partial").exists()
    assert not (tmp_path / "backup.sqlite3-wal").exists()

    # Restore: the file is put in place (the writer is stopped) and opened as the database.
    restored = tmp_path / "restored.sqlite3"
    shutil.copyfile(tmp_path / "backup.sqlite3", restored)
    n_restored = _check_copy(restored)
    assert n_restored >= before
    assert sqlite3.connect(restored).execute("SELECT count(*) FROM ledger").fetchone()[0] == (
        n_restored + 20_000
    )


def test_it_refuses_a_missing_source_and_writes_nothing(tmp_path: Path) -> None:
    with pytest.raises(BackupFailed, match="does not exist"):
        backup_sqlite(tmp_path / "missing.sqlite3", tmp_path / "backup.sqlite3")
    assert list(tmp_path.iterdir()) == []


def test_it_refuses_to_overwrite_the_database_itself(tmp_path: Path) -> None:
    live = tmp_path / "live.sqlite3"
    sqlite3.connect(live).execute("CREATE TABLE t (x)").connection.close()
    with pytest.raises(BackupFailed, match="overwrite the database itself"):
        backup_sqlite(live, live)


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's backup command")
@pytest.mark.django_db(transaction=True)
def test_the_command_backs_up_the_leadsieve_database_and_the_copy_restores(
    make_lead: Any, tmp_path: Path
) -> None:
    from leadsieve.leads.models import Lead

    for _ in range(25):
        make_lead()
    call_command("backup", str(tmp_path), verbosity=0)
    backups = list(tmp_path.glob("*-backup.sqlite3"))
    assert len(backups) == 1

    data_dir = tmp_path / "restored"
    data_dir.mkdir()
    shutil.copyfile(backups[0], data_dir / "leadsieve.sqlite3")
    env = {
        "PATH": "/usr/bin:/bin",
        "SECRET_KEY": "restore-test",
        "LEADSIEVE_DATA_DIR": str(data_dir),
        "DATABASE_URL": f"sqlite:///{data_dir / 'leadsieve.sqlite3'}",
    }
    # Every migration is there: the restored file is a LeadSieve database as it was.
    check = subprocess.run(
        [str(LEADSIEVE), "migrate", "--check"], env=env, capture_output=True, text=True
    )
    assert check.returncode == 0, check.stdout + check.stderr
    restored = sqlite3.connect(data_dir / "leadsieve.sqlite3")
    emails = {e for (e,) in restored.execute(f"SELECT email FROM {Lead._meta.db_table}")}
    assert emails == set(Lead.objects.values_list("email", flat=True))
    assert len(emails) == 25


@pytest.mark.skipif(connection.vendor == "sqlite", reason="PostgreSQL's refusal")
def test_on_postgresql_the_command_refuses_and_names_pg_dump(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="pg_dump"):
        call_command("backup", str(tmp_path / "x.sqlite3"))
    assert not (tmp_path / "x.sqlite3").exists()


@pytest.mark.skipif(connection.vendor == "sqlite", reason="PostgreSQL's pg_dump")
@pytest.mark.skipif(shutil.which("pg_dump") is None, reason="needs pg_dump and pg_restore")
@pytest.mark.django_db(transaction=True)
def test_the_documented_pg_dump_and_pg_restore_commands_restore_every_lead(
    make_lead: Any, tmp_path: Path
) -> None:
    """docs/deploy.md's commands, as written there, into a database of their own."""
    import psycopg

    from leadsieve.leads.models import Lead
    from tests.concurrency.conftest import database_url

    for _ in range(25):
        make_lead()
    source_url = database_url(connection.settings_dict)
    restore_name = f"{connection.settings_dict['NAME']}_restore"
    restore_url = source_url.rsplit("/", 1)[0] + f"/{restore_name}"
    admin_url = source_url.rsplit("/", 1)[0] + "/postgres"
    dump = tmp_path / "leadsieve.dump"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{restore_name}"')
        admin.execute(f'CREATE DATABASE "{restore_name}"')
    try:
        subprocess.run(
            ["pg_dump", "--format=custom", f"--file={dump}", source_url], check=True, timeout=120
        )
        subprocess.run(
            ["pg_restore", "--no-owner", "--exit-on-error", f"--dbname={restore_url}", str(dump)],
            check=True,
            timeout=120,
        )
        with psycopg.connect(restore_url) as restored:
            rows = restored.execute(f"SELECT email FROM {Lead._meta.db_table}").fetchall()
            tables = restored.execute(
                "SELECT count(*) FROM pg_tables WHERE tablename = 'leadsieve_cache'"
            ).fetchone()
        assert {email for (email,) in rows} == set(Lead.objects.values_list("email", flat=True))
        assert len(rows) == 25
        assert tables == (1,)
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{restore_name}"')
