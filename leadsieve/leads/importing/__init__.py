"""Importing leads and companies from CSV/XLSX files with a TOML column mapping."""

from __future__ import annotations

from leadsieve.leads.importing.mapping import LeadMapping, MappingError, load_mapping
from leadsieve.leads.importing.reading import ImportFileError
from leadsieve.leads.importing.run import ImportAborted, ImportSummary, import_leads

__all__ = [
    "ImportAborted",
    "ImportFileError",
    "ImportSummary",
    "LeadMapping",
    "MappingError",
    "import_leads",
    "load_mapping",
]
