"""Demo data for duplicates and merges: pairs to review, and a merge that was undone.

Made through capture itself, as a real team would meet them: a lead typed in again with
another email (same name at the same company: a likely duplicate to review), and a lead
sent again with the same email (merged on capture) that a manager then took apart.
"""

from __future__ import annotations

import random

from django.db import transaction

from leadsieve.accounts.models import Role, User
from leadsieve.leads.models import Channel, Lead, MergeRecord
from leadsieve.leads.services.merging import unmerge
from leadsieve.pipeline import receive_lead

N_PAIRS = 3
VIA = "demo"


@transaction.atomic
def seed_demo(rng: random.Random) -> None:
    """Three likely duplicates to review and one capture merge undone; idempotent.

    They arrive as any lead does, through the pipeline (scored and routed).
    """
    if MergeRecord.objects.filter(via=VIA).exists():
        return
    leads = list(
        Lead.objects.filter(merged_into__isnull=True)
        .exclude(company_name="")
        .exclude(email="")
        .order_by("id")[:200]
    )
    if len(leads) < N_PAIRS + 1:
        return
    picked = rng.sample(leads, N_PAIRS + 1)
    for lead in picked[:N_PAIRS]:
        # The same person at the same company, from another address: not merged, flagged.
        receive_lead(
            {
                "first_name": lead.first_name,
                "last_name": lead.last_name,
                "company_name": lead.company_name,
                "email": f"{lead.first_name}.{lead.last_name}@gmail.example".lower(),
                "job_title": lead.job_title,
            },
            channel=Channel.MANUAL,
            via=VIA,
            team=lead.team,
        )
    again = picked[N_PAIRS]
    outcome = receive_lead(
        {"email": again.email, "first_name": again.first_name, "city": "Lyon"},
        channel=Channel.MANUAL,
        via=VIA,
        team=again.team,
    )
    record = MergeRecord.objects.filter(survivor=outcome.lead, via=VIA).order_by("-id").first()
    if record is not None:  # the manager took the capture back apart: the lead shows both
        manager = User.objects.filter(role=Role.MANAGER, team=again.team).first()
        unmerge(record, user=manager, via=VIA)
