"""Import the team's own company data (firmographics) that capture attaches to leads.

Companies are matched by domain (normalised like capture does: "https://www.Acme.com" →
"acme.com"), else by folded name. A later lead from ``ada@acme.com`` is attached to the
company row loaded here, so fit criteria can read its industry, size and revenue band.
"""

from __future__ import annotations

import csv
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import phonenumbers

from leadsieve.engine.normalize import clean_text, normalize_domains
from leadsieve.leads.capture import FieldError
from leadsieve.leads.importing.mapping import CUSTOM_PREFIX, MappingError
from leadsieve.leads.importing.reading import iter_chunks, open_lead_file
from leadsieve.leads.models import RevenueBand
from leadsieve.leads.services.companies import upsert_companies

COMPANY_TARGETS = frozenset({"domain", "name", "industry", "size", "country", "revenue_band"})
TEXT_LIMITS = {"name": 200, "industry": 120}
CHUNK_SIZE = 5_000


@dataclass
class CompanySummary:
    rows: int = 0
    created: int = 0
    updated: int = 0
    rejected: int = 0
    errors: list[FieldError] = field(default_factory=list)
    rejected_path: Path | None = None

    def describe(self) -> str:
        text = (
            f"{self.rows} rows: {self.created} companies created, {self.updated} updated, "
            f"{self.rejected} rejected"
        )
        return text + (
            f" (see {self.rejected_path})" if self.rejected and self.rejected_path else ""
        )


def load_company_mapping(path: Path) -> dict[str, str]:
    """``[columns]`` of the mapping: file column → domain, name, industry, size, country,
    revenue_band or custom.<key>."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise MappingError(f"mapping file {path} does not exist") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise MappingError(f"mapping file {path} is not valid TOML: {error}") from None
    columns = data.get("columns")
    if not isinstance(columns, dict) or not columns:
        raise MappingError("[columns] is required: map file columns to company fields")
    for column, target in columns.items():
        if not isinstance(target, str) or not (
            target in COMPANY_TARGETS or target.startswith(CUSTOM_PREFIX)
        ):
            raise MappingError(
                f"[columns] {column!r} = {target!r}: use one of "
                f"{', '.join(sorted(COMPANY_TARGETS))} or custom.<key>"
            )
    if not {"domain", "name"} & set(columns.values()):
        raise MappingError("[columns] must map a domain or a name column to match companies")
    return {str(k): str(v) for k, v in columns.items()}


def import_companies(
    path: Path,
    columns: dict[str, str],
    *,
    encoding: str | None = None,
    delimiter: str | None = None,
    rejected_path: Path | None = None,
) -> CompanySummary:
    """Create or update companies from ``path``; bad rows are skipped and written to the
    rejected file. Raises ``ImportFileError`` when the file cannot be read at all."""
    from leadsieve.leads.importing.reading import ImportFileError

    company_file = open_lead_file(path, encoding=encoding, delimiter=delimiter)
    missing = sorted(set(columns) - set(company_file.header))
    if missing:
        raise ImportFileError(
            f"{path}: mapped column(s) missing from the file: {', '.join(map(repr, missing))}"
        )
    summary = CompanySummary(
        rejected_path=rejected_path or path.with_name(f"{path.stem}.rejected.csv")
    )
    rejected_rows: list[tuple[Any, ...]] = []
    for chunk in iter_chunks(company_file, CHUNK_SIZE):
        frame = pd.DataFrame(chunk.rows, columns=company_file.header, dtype="str")
        clean, errors = _clean(frame, columns, chunk.numbers)
        for number, reason in chunk.bad.items():
            errors.append(FieldError("row", reason, number))
        bad = {e.row for e in errors}
        keep = [i for i, n in enumerate(chunk.numbers) if n not in bad]
        created, updated = upsert_companies(clean.iloc[keep])
        summary.rows += len(chunk.numbers)
        summary.created += created
        summary.updated += updated
        summary.rejected += len(bad)
        summary.errors.extend(errors[: max(0, 20 - len(summary.errors))])
        rejected_rows += [(e.row, e.column or "", e.field, e.message) for e in errors]
    if rejected_rows and summary.rejected_path is not None:
        with summary.rejected_path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(("row", "column", "field", "reason"))
            rejected_rows.sort(key=_row_number)
            writer.writerows(rejected_rows)
    else:
        summary.rejected_path = None
    return summary


def _row_number(row: tuple[Any, ...]) -> int:
    return int(row[0] or 0)


def _clean(
    frame: pd.DataFrame, columns: dict[str, str], numbers: list[int]
) -> tuple[pd.DataFrame, list[FieldError]]:
    errors: list[FieldError] = []
    clean = pd.DataFrame(index=frame.index)
    custom: dict[str, pd.Series] = {}
    column_of = {target: column for column, target in columns.items()}

    def fail(mask: pd.Series, target: str, message: str) -> None:
        for i in mask.to_numpy().nonzero()[0]:
            errors.append(FieldError(target, message, numbers[i], column_of.get(target)))

    for column, target in columns.items():
        text = clean_text(frame[column])
        if target.startswith(CUSTOM_PREFIX):
            custom[target[len(CUSTOM_PREFIX) :]] = text
        else:
            clean[target] = text
    if "domain" in clean:
        domains = normalize_domains(clean["domain"])
        fail((clean["domain"] != "") & (domains == ""), "domain", "Not a domain, like acme.com.")
        clean["domain"] = domains
    for target, limit in TEXT_LIMITS.items():
        if target in clean:
            fail(clean[target].str.len() > limit, target, f"Too long: at most {limit} characters.")
    if "size" in clean:
        size = pd.to_numeric(clean["size"].str.replace(",", "", regex=False), errors="coerce")
        fail((clean["size"] != "") & ~(size >= 0), "size", "Enter a number of employees.")
        clean["size"] = [None if pd.isna(v) or v < 0 else int(v) for v in size]
    if "country" in clean:
        country = clean["country"].str.upper()
        fail(
            (country != "") & ~country.isin(list(phonenumbers.SUPPORTED_REGIONS)),
            "country",
            "Use a two-letter ISO 3166 country code.",
        )
        clean["country"] = country
    if "revenue_band" in clean:
        lookup = {str(v).lower(): str(v) for v in RevenueBand.values}
        lookup.update({str(label).lower(): str(v) for v, label in RevenueBand.choices})
        lookup[""] = ""
        band = clean["revenue_band"].str.lower().map(lookup)
        fail(band.isna(), "revenue_band", f"Use one of {', '.join(RevenueBand.values)}.")
        clean["revenue_band"] = band.fillna("")
    if "domain" not in clean:
        clean["domain"] = ""
    fail(
        (clean["domain"] == "") & (clean.get("name", pd.Series("", index=clean.index)) == ""),
        "domain",
        "A company needs a domain or a name.",
    )
    if custom:
        clean["custom"] = [
            {k: v for k, v in zip(custom, values, strict=True) if v}
            for values in zip(*(s.tolist() for s in custom.values()), strict=True)
        ]
    return clean, errors
