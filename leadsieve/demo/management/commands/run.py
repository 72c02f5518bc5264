"""``leadsieve run``: the whole product in one command (``make run``), stopped with Ctrl-C.

Three processes do LeadSieve's main job: the web server (``leadsieve serve``), the background
worker (``leadsieve worker``: rescoring, imports, explanations) and the tick (``leadsieve
tick``: routing the queue, deadlines, cadence steps, clean-up), run here every minute. Their
output goes to log files, so the terminal ends with what a person needs: where the product
is and, in demo mode, who to sign in as.

Ctrl-C (or SIGTERM) stops all three; if one of them dies, the others are stopped too and the
end of its log is printed, so nothing half-runs unnoticed.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
import urllib.request
from argparse import ArgumentParser
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from leadsieve.demo.credentials import credentials_path, read_demo_logins

READY_TIMEOUT_S = 180
STOP_TIMEOUT_S = 30
LOG_TAIL_LINES = 20


class _Stop(Exception):
    """Ctrl-C or SIGTERM: stop everything and leave with status 0."""


def leadsieve_command(*args: str) -> list[str]:
    """``leadsieve <args>`` with this interpreter (works without the venv on PATH)."""
    return [sys.executable, "-m", "leadsieve.cli", *args]


def _tail(path: Path, n: int = LOG_TAIL_LINES) -> str:
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-n:])
    except OSError:
        return "(no log)"


class Command(BaseCommand):
    help = (
        "Run the web server, a background worker and the tick every minute together; "
        "Ctrl-C stops all three."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--bind", default="127.0.0.1:8000", help="Address of the web server.")
        parser.add_argument(
            "--tick-every",
            type=float,
            default=60.0,
            help="Seconds between two ticks (default %(default)s).",
        )
        parser.add_argument(
            "--log-dir", type=Path, help="Where the three logs go (default: <data dir>/log)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["tick_every"] <= 0:
            raise CommandError("--tick-every must be more than 0 seconds")
        log_dir: Path = options["log_dir"] or Path(settings.DATA_DIR) / "log"
        log_dir.mkdir(parents=True, exist_ok=True)
        bind: str = options["bind"]
        host, _, port = bind.rpartition(":")
        url = f"http://{'127.0.0.1' if host in ('', '0.0.0.0') else host}:{port}/"  # noqa: S104
        logs = {name: log_dir / f"{name}.log" for name in ("web", "worker", "tick")}

        def stop(signum: int, frame: Any) -> None:
            raise _Stop

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        with ExitStack() as stack:
            files = {name: stack.enter_context(path.open("a")) for name, path in logs.items()}
            processes: dict[str, subprocess.Popen[bytes]] = {}
            stack.callback(self._stop_all, processes)
            try:
                processes["web"] = self._start(["serve", "--bind", bind], files["web"])
                processes["worker"] = self._start(["worker"], files["worker"])
                self._wait_until_ready(url, processes, logs)
                self._banner(url, logs, options["tick_every"])
                self._supervise(processes, logs, files["tick"], options["tick_every"])
            except _Stop:
                self.stdout.write("\nStopping the web server, the worker and the tick…")
        self.stdout.write("Stopped.")

    def _start(self, args: list[str], log: IO[str]) -> subprocess.Popen[bytes]:
        return subprocess.Popen(leadsieve_command(*args), stdout=log, stderr=subprocess.STDOUT)

    def _check_alive(
        self, processes: dict[str, subprocess.Popen[bytes]], logs: dict[str, Path]
    ) -> None:
        for name, process in processes.items():
            code = process.poll()
            if code is not None and name != "tick":
                raise CommandError(
                    f"the {name} process stopped (exit status {code}); "
                    f"the end of {logs[name]}:\n{_tail(logs[name])}"
                )

    def _wait_until_ready(
        self, url: str, processes: dict[str, subprocess.Popen[bytes]], logs: dict[str, Path]
    ) -> None:
        self.stdout.write(f"Starting LeadSieve at {url} (logs in {logs['web'].parent})…")
        deadline = time.monotonic() + READY_TIMEOUT_S
        while True:
            self._check_alive(processes, logs)
            try:
                with urllib.request.urlopen(f"{url}accounts/login/", timeout=5):  # noqa: S310
                    return
            except OSError:
                if time.monotonic() > deadline:
                    raise CommandError(
                        f"the web server did not answer within {READY_TIMEOUT_S} s; "
                        f"the end of {logs['web']}:\n{_tail(logs['web'])}"
                    ) from None
                time.sleep(0.3)

    def _supervise(
        self,
        processes: dict[str, subprocess.Popen[bytes]],
        logs: dict[str, Path],
        tick_log: IO[str],
        every_s: float,
    ) -> None:
        """Tick every ``every_s`` (one at a time: a long tick delays the next) until stopped."""
        next_tick = time.monotonic()
        while True:
            self._check_alive(processes, logs)
            tick = processes.get("tick")
            if time.monotonic() >= next_tick and (tick is None or tick.poll() is not None):
                tick_log.write(f"--- tick at {time.strftime('%Y-%m-%d %H:%M:%S')}\n")
                tick_log.flush()
                processes["tick"] = self._start(["tick"], tick_log)
                next_tick = time.monotonic() + every_s
            time.sleep(0.2)

    def _stop_all(self, processes: dict[str, subprocess.Popen[bytes]]) -> None:
        # Ctrl-C in a terminal reaches every process of the group; the signal sent again
        # here covers SIGTERM to this process alone, and children that ignored the first.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        for process in processes.values():
            if process.poll() is None:
                process.terminate()
        deadline = time.monotonic() + STOP_TIMEOUT_S
        for process in processes.values():
            try:
                process.wait(timeout=max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def _banner(self, url: str, logs: dict[str, Path], tick_every: float) -> None:
        self.stdout.write(
            "\nLeadSieve is running; Ctrl-C stops it.\n"
            f"  web      {url:40s} log {logs['web']}\n"
            f"  worker   {'background tasks':40s} log {logs['worker']}\n"
            f"  tick     {f'every {tick_every:g} s: queue, deadlines, cadences':40s} "
            f"log {logs['tick']}\n"
        )
        for line in self._sign_in_lines(url):
            self.stdout.write(line)

    def _sign_in_lines(self, url: str) -> Iterator[str]:
        logins = read_demo_logins()
        if not logins:
            yield f"Sign in at {url}accounts/login/ (`leadsieve createsuperuser` makes an admin)."
            return
        yield f"Sign in at {url}accounts/login/ as (demo):"
        shown = [
            next((login for login in logins if login.role == role), None)
            for role in ("admin", "manager", "rep")
        ]
        for login in shown:
            if login is not None:
                yield (
                    f"  {login.role:8s} {login.username:8s} password {login.password}   "
                    f"lands on {login.lands_on}"
                )
        others = len(logins) - sum(login is not None for login in shown)
        if others:
            yield f"  ({others} more demo people: {credentials_path()})"
