from __future__ import annotations

import json
from io import StringIO
from typing import Any

import pytest
import time_machine
from django.core.management import CommandError, call_command

from tests.cadences.conftest import MONDAY_MORNING

pytestmark = pytest.mark.django_db


def test_assign_leads_names_ids_it_cannot_find() -> None:
    with pytest.raises(CommandError, match=r"no unowned open lead among ids \[404\]"):
        call_command("assign_leads", "404")


@time_machine.travel(MONDAY_MORNING, tick=False)
def test_assign_leads_prints_what_it_placed_and_why_not(make_lead: Any) -> None:
    make_lead()
    out = StringIO()
    call_command("assign_leads", stdout=out)
    summary = json.loads(out.getvalue())
    assert summary["assigned"] == 0 and summary["queued"] == 1
    assert summary["queued_reasons"] == {"no assignment rule matches this lead": 1}


@time_machine.travel(MONDAY_MORNING, tick=False)
def test_tick_prints_its_counts_and_can_run_twice(
    make_lead: Any, dan: Any, north_rule: Any
) -> None:
    make_lead(rating=10)
    first, second = StringIO(), StringIO()
    call_command("tick", stdout=first)
    call_command("tick", stdout=second)
    assert json.loads(first.getvalue())["assigned"] == 1
    assert json.loads(second.getvalue())["assigned"] == 0


def test_tick_can_hand_its_work_to_the_worker() -> None:
    out = StringIO()
    call_command("tick", "--enqueue", stdout=out)
    assert out.getvalue().startswith("enqueued tick ")
