"""What a web form may ask: the field specs stored in ``WebForm.fields``, parsed strictly.

A spec names a lead field (``email``) or a team field (``custom.<key>``), a widget type,
a label, whether it is required, a help text and, for selects, the choices. Parsing
returns frozen ``FieldSpec`` objects or raises ``InvalidFieldSpecs`` listing every problem
with its position, so the admin can show all of them at once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import phonenumbers
from phonenumbers.geocoder import _region_display_name

from leadsieve.leads.models import DecisionRole, Lead, Timeline

CUSTOM_PREFIX = "custom."
CUSTOM_KEY_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,59}$")
FIELD_TYPES = ("text", "email", "tel", "url", "textarea", "number", "select", "checkbox")
CUSTOM_TEXT_MAX = 1000
TEXTAREA_MAX = 5000
LABEL_MAX = 120
HELP_MAX = 300
CHOICE_MAX = 120
N_FIELDS_MAX = 40

# Lead fields a public form may fill, with their default widget.
LEAD_FIELD_TYPES: dict[str, str] = {
    "first_name": "text",
    "last_name": "text",
    "email": "email",
    "phone": "tel",
    "job_title": "text",
    "company_name": "text",
    "website": "url",
    "country": "select",
    "city": "text",
    "language": "text",
    "need": "textarea",
    "budget": "number",
    "timeline": "select",
    "decision_role": "select",
}


def _country_choices() -> list[tuple[str, str]]:
    """ISO 3166 alpha-2 codes by English name, from phonenumbers' region data (the regions
    whose numbers capture can read), so a form's country also reads its phone numbers."""
    named = [(code, _region_display_name(code, "en")) for code in phonenumbers.SUPPORTED_REGIONS]
    return sorted(((code, name) for code, name in named if name), key=lambda pair: pair[1])


LEAD_FIELD_CHOICES: dict[str, list[tuple[str, str]]] = {
    "country": _country_choices(),
    "timeline": [(str(v), str(label)) for v, label in Timeline.choices],
    "decision_role": [(str(v), str(label)) for v, label in DecisionRole.choices],
}
# Types a lead field may be shown as without changing what it stores.
TEXT_TYPES = frozenset({"text", "email", "tel", "url", "textarea"})
# Select fields a form may also ask as free text (forms saved before country was a select).
ALSO_AS_TEXT = frozenset({"country"})


class InvalidFieldSpecs(ValueError):
    """The stored field list is not usable; ``problems`` says what and where."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class FieldSpec:
    name: str
    label: str
    type: str
    required: bool
    help: str
    choices: tuple[tuple[str, str], ...]

    @property
    def is_custom(self) -> bool:
        return self.name.startswith(CUSTOM_PREFIX)

    @property
    def custom_key(self) -> str:
        return self.name.removeprefix(CUSTOM_PREFIX)

    @property
    def max_length(self) -> int | None:
        """The stored column's limit: longer input is refused, never truncated."""
        if self.type in {"number", "select", "checkbox"}:
            return None
        if self.is_custom:
            return TEXTAREA_MAX if self.type == "textarea" else CUSTOM_TEXT_MAX
        limit = getattr(Lead._meta.get_field(self.name), "max_length", None)
        return int(limit) if limit else TEXTAREA_MAX


def parse_field_specs(raw: Any) -> list[FieldSpec]:
    """Check a ``WebForm.fields`` value; raise ``InvalidFieldSpecs`` naming every problem."""
    if not isinstance(raw, list):
        raise InvalidFieldSpecs(["fields must be a list of objects"])
    if len(raw) > N_FIELDS_MAX:
        raise InvalidFieldSpecs([f"at most {N_FIELDS_MAX} fields"])
    problems: list[str] = []
    specs: list[FieldSpec] = []
    seen: set[str] = set()
    for position, item in enumerate(raw, start=1):
        where = f"field {position}"
        if not isinstance(item, dict):
            problems.append(f"{where}: must be an object")
            continue
        unknown = set(item) - {"name", "label", "type", "required", "help", "choices"}
        if unknown:
            problems.append(f"{where}: unknown keys {', '.join(sorted(map(str, unknown)))}")
        spec, errors = _parse_one(item, where)
        problems.extend(errors)
        if spec is None:
            continue
        if spec.name in seen:
            problems.append(f"{where}: {spec.name} appears twice")
        seen.add(spec.name)
        specs.append(spec)
    if problems:
        raise InvalidFieldSpecs(problems)
    return specs


def _parse_one(item: dict[str, Any], where: str) -> tuple[FieldSpec | None, list[str]]:
    errors: list[str] = []
    name = item.get("name")
    if not isinstance(name, str) or not name:
        return None, [f"{where}: name is required"]
    is_custom = name.startswith(CUSTOM_PREFIX)
    if is_custom and not CUSTOM_KEY_RE.match(name.removeprefix(CUSTOM_PREFIX)):
        errors.append(f"{where}: {name!r}: custom keys use a-z, 0-9, _ and - (max 60)")
    if not is_custom and name not in LEAD_FIELD_TYPES:
        errors.append(
            f"{where}: {name!r} is not a form field; use one of "
            f"{', '.join(LEAD_FIELD_TYPES)} or custom.<key>"
        )
    default_type = "text" if is_custom else LEAD_FIELD_TYPES.get(name, "text")
    field_type = item.get("type", default_type)
    if field_type not in FIELD_TYPES:
        errors.append(f"{where}: type must be one of {', '.join(FIELD_TYPES)}")
    elif (
        not is_custom
        and field_type != default_type
        and not (default_type in TEXT_TYPES and field_type in TEXT_TYPES)
        and not (name in ALSO_AS_TEXT and field_type == "text")
    ):
        errors.append(f"{where}: {name} must use type {default_type}")
    label = item.get("label", name.removeprefix(CUSTOM_PREFIX).replace("_", " ").capitalize())
    if not isinstance(label, str) or not label or len(label) > LABEL_MAX:
        errors.append(f"{where}: label must be text of 1 to {LABEL_MAX} characters")
    required = item.get("required", False)
    if not isinstance(required, bool):
        errors.append(f"{where}: required must be true or false")
    help_text = item.get("help", "")
    if not isinstance(help_text, str) or len(help_text) > HELP_MAX:
        errors.append(f"{where}: help must be text of at most {HELP_MAX} characters")
    choices = _parse_choices(name, field_type, item.get("choices"), where, errors)
    if errors:
        return None, errors
    return FieldSpec(name, label, field_type, required, help_text, choices), []


def _parse_choices(
    name: str, field_type: Any, raw: Any, where: str, errors: list[str]
) -> tuple[tuple[str, str], ...]:
    if field_type != "select":
        if raw:
            errors.append(f"{where}: choices are only for type select")
        return ()
    if name in LEAD_FIELD_CHOICES:
        allowed = dict(LEAD_FIELD_CHOICES[name])
        if raw is None:
            return tuple(LEAD_FIELD_CHOICES[name])
        if not isinstance(raw, list) or any(c not in allowed for c in raw):
            errors.append(f"{where}: choices for {name} must be among {', '.join(allowed)}")
            return ()
        return tuple((c, allowed[c]) for c in raw)
    if (
        not isinstance(raw, list)
        or not raw
        or any(not isinstance(c, str) or not c or len(c) > CHOICE_MAX for c in raw)
    ):
        errors.append(f"{where}: choices must be a non-empty list of texts")
        return ()
    return tuple((c, c) for c in raw)
