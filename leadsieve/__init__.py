"""LeadSieve: self-hosted lead qualification and lead management."""

from __future__ import annotations

__version__ = "0.1.0"
