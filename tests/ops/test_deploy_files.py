"""The files of deploy/ run what they say: each unit passes ``systemd-analyze verify``, and
every ``leadsieve`` command line in the units and the Procfile parses with that command's
own options (a renamed option would otherwise surface only on a production host).
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.core.management import get_commands, load_command_class

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
UNITS = sorted((DEPLOY / "systemd").iterdir())
INSTALLED_BIN = "/srv/leadsieve/.venv/bin/leadsieve"
LEADSIEVE = Path(sys.executable).with_name("leadsieve")


def _command_lines() -> list[list[str]]:
    lines = []
    for unit in UNITS:
        for line in unit.read_text().splitlines():
            key, _, value = line.partition("=")
            if key in ("ExecStart", "ExecStartPre"):
                lines.append(shlex.split(value))
    for line in (DEPLOY / "Procfile").read_text().splitlines():
        if line and not line.startswith("#"):
            command = line.partition(":")[2].replace("$PORT", "8000")
            words = shlex.split(command)
            if words[:2] == ["sh", "-c"]:
                words = shlex.split(words[2].split(";")[1].strip().removeprefix("do "))
            lines.append(words)
    return lines


def test_every_leadsieve_command_line_parses_with_its_commands_options(settings: Any) -> None:
    # As in production: the worker's options are checked against the database task backend.
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    lines = _command_lines()
    assert len(lines) >= 8
    commands = get_commands()
    for words in lines:
        assert Path(words[0]).name == "leadsieve", words
        name = words[1].replace("-", "_")
        assert name in commands, f"no command {words[1]!r}"
        parser = load_command_class(commands[name], name).create_parser("leadsieve", name)
        parser.parse_args(words[2:])  # exits (SystemExit) on an unknown option


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="needs systemd-analyze")
def test_every_unit_passes_systemd_analyze_verify(tmp_path: Path) -> None:
    env_file = tmp_path / "leadsieve.env"
    env_file.write_text("SECRET_KEY=x\n")
    names = []
    for unit in UNITS:
        text = unit.read_text().replace(INSTALLED_BIN, str(LEADSIEVE))
        text = text.replace("/etc/leadsieve/leadsieve.env", str(env_file))
        name = unit.name.replace("@.service", "@1.service")
        (tmp_path / name).write_text(text)
        names.append(f"./{name}")
    result = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", *names],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0 and not result.stderr.strip(), result.stderr
