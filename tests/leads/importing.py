"""Run ``leadsieve import-leads`` in-process, as the import tests do."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

from django.core.management import call_command


def run(path: Path, mapping: Path, *options: str) -> str:
    """The command's standard output (progress off)."""
    out = StringIO()
    call_command(
        "import_leads",
        str(path),
        "--mapping",
        str(mapping),
        "--no-progress",
        *options,
        stdout=out,
        stderr=StringIO(),
    )
    return out.getvalue()
