"""``leadsieve run`` (what ``make run`` starts): web server, worker and tick, stopped together.

Runs the real command in a subprocess on a fresh SQLite demo in a temporary data directory,
as a person running ``make run`` would, and stops it with Ctrl-C's signal.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from leadsieve.demo.credentials import DemoLogin


def _leadsieve(*args: str) -> list[str]:
    return [sys.executable, "-m", "leadsieve.cli", *args]


def _children(pid: int) -> list[int]:
    found = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return [int(p) for p in found.split()]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def demo_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(LEADSIEVE_DATA_DIR=str(tmp_path), LEADSIEVE_DEMO="1")
    env.pop("LEADSIEVE_TASKS_BACKEND", None)  # the real database queue, as make run has it
    for step in (["migrate", "-v0"], ["load-demo", "--leads", "40"], ["create-demo-admin"]):
        subprocess.run(_leadsieve(*step), env=env, check=True, capture_output=True, timeout=180)
    return env


def test_run_starts_web_worker_and_tick_prints_sign_ins_last_and_stops_on_ctrl_c(
    demo_env: dict[str, str], tmp_path: Path
) -> None:
    port = _free_port()
    run = subprocess.Popen(
        _leadsieve("run", "--bind", f"127.0.0.1:{port}", "--tick-every", "1"),
        env=demo_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert run.stdout is not None
        lines: list[str] = []
        while not any("more demo people" in line for line in lines):
            line = run.stdout.readline()
            assert line, "leadsieve run ended early:\n" + "".join(lines)
            lines.append(line)
        text = "".join(lines)
        saved = json.loads((tmp_path / "demo-credentials.json").read_text())
        logins = [DemoLogin(**row) for row in saved]
        admin = next(login for login in logins if login.role == "admin")
        manager = next(login for login in logins if login.role == "manager")
        rep = next(login for login in logins if login.role == "rep")
        # The sign-ins are the last lines: admin, manager, rep, each with its password.
        tail = lines[-4:]
        for line, login in zip(tail, (admin, manager, rep), strict=False):
            assert login.username in line and login.password in line
        assert oct((tmp_path / "demo-credentials.json").stat().st_mode & 0o777) == "0o600"
        assert f"http://127.0.0.1:{port}/" in text

        with urllib.request.urlopen(f"http://127.0.0.1:{port}/accounts/login/", timeout=10) as r:
            assert r.status == 200
        assert len(_children(run.pid)) >= 2  # the web server and the worker (and a tick)
        tick_log = tmp_path / "log" / "tick.log"
        deadline = time.monotonic() + 60
        while '"deadline_breaches"' not in (tick_log.read_text() if tick_log.exists() else ""):
            assert time.monotonic() < deadline, "no tick ran"
            time.sleep(0.5)
        started = (tmp_path / "log" / "worker.log").read_text()
        assert "Starting worker" in started

        children = _children(run.pid)
        run.send_signal(signal.SIGINT)
        assert run.wait(timeout=60) == 0
        rest = run.stdout.read()
        assert "Stopped." in rest
        for pid in children:
            assert _state(pid) in {"gone", "Z"}, f"process {pid} still runs"
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "gone"


def test_run_stops_everything_when_the_web_server_cannot_start(
    demo_env: dict[str, str], tmp_path: Path
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            _leadsieve("run", "--bind", f"127.0.0.1:{port}"),
            env=demo_env,
            capture_output=True,
            text=True,
            timeout=180,
        )
    assert result.returncode != 0
    assert "the web process stopped" in result.stderr
    assert "web.log" in result.stderr
