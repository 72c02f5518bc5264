"""Demo history and spend, so every insights page shows plausible figures.

The demo loader writes leads with their outcome but little history. Here each demo lead gets
the steps a real one would have left behind, between its capture and its close: status moves
to MQL and SQL (``LeadChange``), a move to the appointment stage and a meeting held
(``StageChange``, ``Appointment``), and its disqualification. How far a lost lead got depends
on its source: "Outbound email" is cheap and rarely qualifies, "Partner referrals" costs
the most per lead and closes best. Then the spend: a month per source and team, at the
source's cost per lead. Idempotent: nothing is written when demo spend exists.
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from collections import defaultdict
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from leadsieve.cadences.models import Appointment, AppointmentOutcome
from leadsieve.insights.milestones import rebuild_milestones
from leadsieve.insights.models import Spend
from leadsieve.leads.models import Lead, LeadChange, Outcome, Status
from leadsieve.stages.models import Stage, StageChange

DEMO_VIA = "demo"
# Spend per lead captured, by source (the demo's sources; others get DEFAULT_COST).
COST_PER_LEAD = {
    "Website": 180,
    "Paid search": 450,
    "LinkedIn ads": 950,
    "Webinars": 600,
    "Partner referrals": 2600,
    "Trade show": 1500,
    "Outbound calls": 700,
    "Outbound email": 40,
}
DEFAULT_COST = 500
# For a lead that did not close as won: chance to reach MQL, then each next step.
QUALIFY = {"Outbound email": 0.12, "Partner referrals": 0.75, "Paid search": 0.3}
DEFAULT_QUALIFY = 0.45
NEXT_STEP = 0.6


def _moments(rng: random.Random, start: dt.datetime, end: dt.datetime, n: int) -> list[dt.datetime]:
    """``n`` ordered moments between ``start`` and ``end``, early steps sooner."""
    span = max((end - start).total_seconds(), 3600.0)
    shares = sorted(rng.uniform(0.02, 0.95) ** 1.6 for _ in range(n))
    return [start + dt.timedelta(seconds=span * share) for share in shares]


@transaction.atomic
def seed_demo(rng: random.Random) -> None:
    if Spend.objects.exists():
        return
    now = timezone.now()
    stages = {stage.slug: stage for stage in Stage.objects.all()}
    appointment_stage = stages.get("appointment")
    changes: list[LeadChange] = []
    moves: list[StageChange] = []
    meetings: list[Appointment] = []
    leads = Lead.objects.filter(merged_into__isnull=True).select_related("source")
    counts: dict[tuple[int, int | None, dt.date], int] = defaultdict(int)
    for lead in leads.iterator(chunk_size=2000):
        if lead.source_id is not None:
            counts[(lead.source_id, lead.team_id, lead.created_at.date().replace(day=1))] += 1
        _history(rng, lead, now, appointment_stage, changes, moves, meetings)
    LeadChange.objects.bulk_create(changes, batch_size=2000)
    StageChange.objects.bulk_create(moves, batch_size=2000)
    Appointment.objects.bulk_create(meetings, batch_size=2000)
    _spend(rng, counts)
    rebuild_milestones()


def _history(
    rng: random.Random,
    lead: Lead,
    now: dt.datetime,
    appointment_stage: Stage | None,
    changes: list[LeadChange],
    moves: list[StageChange],
    meetings: list[Appointment],
) -> None:
    source = lead.source.name if lead.source else ""
    end = lead.closed_at or min(now, lead.created_at + dt.timedelta(days=60))
    if lead.outcome == Outcome.WON:
        steps = 4
    elif lead.status == Status.SQL:
        steps = 2
    elif lead.status == Status.MQL:
        steps = 1
    elif rng.random() < QUALIFY.get(source, DEFAULT_QUALIFY):
        steps = 1
        while steps < 4 and rng.random() < NEXT_STEP:
            steps += 1
        if lead.outcome == Outcome.OPEN and lead.status != Status.DISQUALIFIED:
            steps = min(steps, 2)
    else:
        steps = 0
    moments = _moments(rng, lead.created_at, end, max(steps, 1))
    statuses = [Status.MQL, Status.SQL][: min(steps, 2)]
    previous = Status.NEW
    for status, moment in zip(statuses, moments, strict=False):
        changes.append(
            LeadChange(
                lead=lead,
                changed_at=moment,
                via=DEMO_VIA,
                action="status_scored",
                changes={"status": [previous, status]},
            )
        )
        previous = status
    if steps >= 3 and appointment_stage is not None:
        moves.append(
            StageChange(
                lead=lead,
                to_stage=appointment_stage,
                changed_at=moments[2],
                user_id=lead.owner_id,
                reason="appointment booked",
            )
        )
    if steps >= 4 and lead.owner_id is not None:
        meetings.append(
            Appointment(
                lead=lead,
                owner_id=lead.owner_id,
                uid=f"{uuid.UUID(int=rng.getrandbits(128))}@leadsieve-demo",
                title=f"Meeting with {lead.display_name()}",
                starts_at=moments[3],
                outcome=AppointmentOutcome.HELD,
                created_at=moments[2],
                updated_at=moments[3],
            )
        )
    if lead.status == Status.DISQUALIFIED:
        changes.append(
            LeadChange(
                lead=lead,
                changed_at=moments[-1],
                via=DEMO_VIA,
                action="status_scored",
                changes={"status": [previous, Status.DISQUALIFIED]},
                note=lead.status_reason[:300],
            )
        )


def _spend(rng: random.Random, counts: dict[tuple[int, int | None, dt.date], int]) -> None:
    from leadsieve.leads.models import Source

    names = dict(Source.objects.values_list("id", "name"))
    rows: list[Spend] = []
    for (source_id, team_id, month), n in sorted(counts.items(), key=lambda item: str(item[0])):
        per_lead = COST_PER_LEAD.get(names.get(source_id, ""), DEFAULT_COST)
        amount = Decimal(per_lead * n * rng.uniform(0.85, 1.15)).quantize(Decimal("0.01"))
        rows.append(
            Spend(month=month, source_id=source_id, team_id=team_id, amount=amount, note="demo")
        )
    Spend.objects.bulk_create(rows, batch_size=1000)
