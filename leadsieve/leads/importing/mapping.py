"""The mapping file: how the columns of a CSV/XLSX file become lead fields (TOML).

See docs/capture.md for the reference. Every mistake in the mapping is reported with the
section and key, before a single row is read.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from leadsieve.leads.capture import CAPTURE_FIELDS, HISTORY_FIELDS
from leadsieve.leads.models import Channel, FieldType

CUSTOM_PREFIX = "custom."
# Targets a column may map to besides lead fields: the source (by name), the campaign, and
# the dates the lead became marketing- and sales-qualified (``history_dates``).
SPECIAL_TARGETS = frozenset({"source", "campaign", "mql_at", "sql_at"})
TARGETS = (CAPTURE_FIELDS - {"custom"}) | HISTORY_FIELDS | SPECIAL_TARGETS
CONSTANT_KEYS = frozenset({"source", "source_kind", "campaign", "team", "channel"})
SECTIONS = frozenset(
    {"file", "columns", "translate", "fields", "constants", "dates", "outcome", "join"}
)
FIELD_KEYS = frozenset({"label", "type", "post_contact", "description", "choices"})
ALL_COLUMNS = "*"


class MappingError(Exception):
    """The mapping file is unusable; the message names the section and key."""


@dataclass(frozen=True)
class CustomField:
    key: str
    label: str
    type: str = FieldType.TEXT
    post_contact: bool = False
    description: str = ""
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class Join:
    """A second, small file joined on a key column (e.g. Olist's closed deals)."""

    path: Path
    on: str
    encoding: str | None = None
    delimiter: str | None = None


@dataclass(frozen=True)
class LeadMapping:
    columns: dict[str, str]  # file column → target (lead field, custom.<key>, source, ...)
    translate: dict[str, dict[str, Any]] = field(default_factory=dict)
    fields: dict[str, CustomField] = field(default_factory=dict)
    constants: dict[str, Any] = field(default_factory=dict)
    dates: dict[str, str] = field(default_factory=dict)  # column → strptime format
    won_if_present: str | None = None
    otherwise: str | None = None
    join: Join | None = None
    encoding: str | None = None
    delimiter: str | None = None

    @property
    def channel(self) -> str:
        return str(self.constants.get("channel", Channel.IMPORT))

    def column_for(self, target: str) -> str | None:
        """The file column mapped to a target (for error messages)."""
        for column, mapped in self.columns.items():
            if mapped == target:
                return column
        return None


def load_mapping(path: Path) -> LeadMapping:
    """Read and validate a mapping file; raises ``MappingError`` with a clear message."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise MappingError(f"mapping file {path} does not exist") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise MappingError(f"mapping file {path} is not valid TOML: {error}") from None
    return parse_mapping(data, base=path.parent)


def parse_mapping(data: dict[str, Any], *, base: Path) -> LeadMapping:
    unknown = set(data) - SECTIONS
    if unknown:
        raise MappingError(
            f"unknown section(s) {', '.join(sorted(unknown))}; known: {', '.join(sorted(SECTIONS))}"
        )
    columns = _table(data, "columns")
    if not columns:
        raise MappingError("[columns] is required: map at least one file column to a field")
    for column, target in columns.items():
        if not isinstance(target, str):
            raise MappingError(f"[columns] {column!r}: the target must be a string")
        if target.startswith(CUSTOM_PREFIX):
            if not target[len(CUSTOM_PREFIX) :].replace("_", "").replace("-", "").isalnum():
                raise MappingError(f"[columns] {column!r}: {target!r} is not a valid custom key")
        elif target not in TARGETS:
            raise MappingError(
                f"[columns] {column!r} = {target!r}: unknown field; use one of "
                f"{', '.join(sorted(TARGETS))} or custom.<key>"
            )
    targets = [t for t in columns.values() if not t.startswith(CUSTOM_PREFIX)]
    doubled = sorted({t for t in targets if targets.count(t) > 1})
    if doubled:
        raise MappingError(f"[columns]: {', '.join(doubled)} mapped from more than one column")
    fields = _fields(_table(data, "fields"), columns)
    translate: dict[str, dict[str, Any]] = {}
    for column, table in _table(data, "translate").items():
        if not isinstance(table, dict):
            raise MappingError(f"[translate.{column!r}] must be a table of value = replacement")
        for value, replacement in table.items():
            if not isinstance(replacement, str | bool | int | float):
                raise MappingError(
                    f"[translate.{column!r}] {value!r}: the replacement must be text, a number "
                    "or true/false"
                )
        translate[column] = dict(table)
    constants = _table(data, "constants")
    for key, value in constants.items():
        if key not in CONSTANT_KEYS and key not in CAPTURE_FIELDS:
            raise MappingError(
                f"[constants] {key!r}: unknown; use {', '.join(sorted(CONSTANT_KEYS))}"
            )
        if not isinstance(value, str | bool | int | float):
            raise MappingError(f"[constants] {key!r}: must be text, a number or true/false")
    if "channel" in constants and constants["channel"] not in Channel.values:
        raise MappingError(f"[constants] channel: use one of {', '.join(Channel.values)}")
    dates = {str(k): str(v) for k, v in _table(data, "dates").items()}
    outcome = _table(data, "outcome")
    if set(outcome) - {"won_if_present", "otherwise"}:
        raise MappingError("[outcome] knows only won_if_present (a column) and otherwise")
    if outcome.get("otherwise", "lost") not in ("won", "lost", "open"):
        raise MappingError("[outcome] otherwise: use won, lost or open")
    file_options = _table(data, "file")
    join = None
    if "join" in data:
        table = _table(data, "join")
        if not isinstance(table.get("file"), str) or not isinstance(table.get("on"), str):
            raise MappingError(
                "[join] needs file (a path relative to the mapping) and on (a column)"
            )
        join = Join(
            path=(base / table["file"]).resolve(),
            on=table["on"],
            encoding=table.get("encoding"),
            delimiter=table.get("delimiter"),
        )
    return LeadMapping(
        columns={str(k): str(v) for k, v in columns.items()},
        translate=translate,
        fields=fields,
        constants=constants,
        dates=dates,
        won_if_present=outcome.get("won_if_present"),
        otherwise=outcome.get("otherwise", "lost") if "won_if_present" in outcome else None,
        join=join,
        encoding=file_options.get("encoding"),
        delimiter=file_options.get("delimiter"),
    )


def _table(data: dict[str, Any], name: str) -> dict[str, Any]:
    value = data.get(name, {})
    if not isinstance(value, dict):
        raise MappingError(f"[{name}] must be a table")
    return value


def _fields(table: dict[str, Any], columns: dict[str, str]) -> dict[str, CustomField]:
    keys = {t[len(CUSTOM_PREFIX) :] for t in columns.values() if t.startswith(CUSTOM_PREFIX)}
    fields: dict[str, CustomField] = {}
    for key in sorted(keys):
        spec = table.get(key, {})
        if not isinstance(spec, dict) or set(spec) - FIELD_KEYS:
            raise MappingError(
                f"[fields.{key}] must be a table with {', '.join(sorted(FIELD_KEYS))}"
            )
        kind = spec.get("type", FieldType.TEXT)
        if kind not in FieldType.values:
            raise MappingError(f"[fields.{key}] type: use one of {', '.join(FieldType.values)}")
        if not isinstance(spec.get("post_contact", False), bool):
            raise MappingError(f"[fields.{key}] post_contact: use true or false")
        fields[key] = CustomField(
            key=key,
            label=str(spec.get("label") or key.replace("_", " ").capitalize()),
            type=kind,
            post_contact=spec.get("post_contact", False),
            description=str(spec.get("description", "")),
            choices=tuple(str(c) for c in spec.get("choices", ())),
        )
    unused = set(table) - keys
    if unused:
        raise MappingError(f"[fields]: {', '.join(sorted(unused))} not mapped from any column")
    return fields
