from __future__ import annotations

from django.apps import AppConfig

RESCORE_HOOK = "leadsieve.scoring.services.rescore_touched_leads"


class ScoringConfig(AppConfig):
    name = "leadsieve.scoring"
    label = "scoring"
    verbose_name = "Scoring"

    def ready(self) -> None:
        """Ask capture to call us with the ids of leads it touched, after each commit."""
        try:
            from leadsieve.leads import capture
        except ImportError:  # capture not installed yet: rescoring runs by command only
            return
        hooks = getattr(capture, "LEADS_TOUCHED_HOOKS", None)
        if hooks is not None and RESCORE_HOOK not in hooks:
            hooks.append(RESCORE_HOOK)
