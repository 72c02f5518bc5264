"""Demo cadences for ``leadsieve load-demo``: call-now and nurture, and their tasks.

The few booked meetings are ``stages.demo`` (booking moves the stage)."""

from __future__ import annotations

import random

from leadsieve.accounts.models import Team
from leadsieve.cadences.models import Cadence, EnrolmentRule
from leadsieve.cadences.services import enrol_due_leads, publish_cadence, run_due_steps
from leadsieve.routing.demo import last_working_morning

CALL_NOW_STEPS = [
    {"channel": "call", "delay_days": 0, "instruction": "Call now and book the appointment"},
    {
        "channel": "email",
        "delay_days": 1,
        "email_subject": "Following up on your request, {first_name}",
        "email_body": "Hello {first_name},\n\nWhen would suit you for a 30-minute call?",
    },
    {"channel": "call", "delay_days": 2, "instruction": "Second call; leave a voicemail"},
    {"channel": "social", "delay_days": 2, "instruction": "Connect and send a short note"},
    {"channel": "call", "delay_days": 3, "instruction": "Last call, then close or nurture"},
]
NURTURE_STEPS = [
    {
        "channel": "email",
        "delay_days": 0,
        "send_automatically": True,
        "email_subject": "A guide for {company}",
        "email_body": "Hello {first_name},\n\nHere is our buyer's guide.",
    },
    {
        "channel": "email",
        "delay_days": 20,
        "send_automatically": True,
        "email_subject": "Customer story",
        "email_body": "How a team like {company} did it.",
    },
    {"channel": "task", "delay_days": 40, "instruction": "Check in: has the timeline moved?"},
    {
        "channel": "email",
        "delay_days": 40,
        "send_automatically": True,
        "email_subject": "Still on your radar?",
        "email_body": "Hello {first_name}, any news?",
    },
]


def seed_demo(rng: random.Random) -> None:
    """Per team: the two cadences and their rules; then enrol, due tasks and a few meetings."""
    for team in Team.objects.all():
        if not Cadence.objects.filter(team=team, key="call-now").exists():
            publish_cadence(
                team=team,
                key="call-now",
                name="Call now, book the appointment",
                horizon="short",
                steps=CALL_NOW_STEPS,
            )
            publish_cadence(
                team=team,
                key="nurture",
                name="Nurture",
                horizon="long",
                steps=NURTURE_STEPS,
                exit_on=["reply", "meeting_booked", "disqualified", "do_not_contact"],
            )
            EnrolmentRule.objects.create(
                team=team, horizon="short", statuses=["mql", "sql"], cadence_key="call-now"
            )
            EnrolmentRule.objects.create(
                team=team, horizon="long", statuses=[], cadence_key="nurture", position=1
            )
    # Enrol as of the morning routing used, so the first steps are due now: the Today list
    # of every rep has work in it.
    enrol_due_leads(now=last_working_morning())
    run_due_steps()
