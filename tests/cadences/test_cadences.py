from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.core import mail

from leadsieve.cadences.models import Cadence, Enrolment, Task, TaskStatus
from leadsieve.cadences.services import (
    CadenceError,
    complete_task,
    enrol_due_leads,
    publish_cadence,
    run_due_steps,
    skip_task,
)
from leadsieve.leads.models import Activity, ActivityKind, Lead, LeadChange
from leadsieve.ops.tick import run_tick
from leadsieve.routing.models import LeadDeadline
from tests.cadences.conftest import MONDAY_MORNING

pytestmark = pytest.mark.django_db


def test_it_rejects_a_step_with_an_unknown_channel(north: Any) -> None:
    with pytest.raises(CadenceError, match="step 2: channel must be one of"):
        publish_cadence(
            team=north,
            key="x",
            name="x",
            horizon="short",
            steps=[{"channel": "call"}, {"channel": "fax"}],
        )


def test_it_rejects_a_negative_delay(north: Any) -> None:
    with pytest.raises(CadenceError, match="step 1: delay_days"):
        publish_cadence(
            team=north,
            key="x",
            name="x",
            horizon="short",
            steps=[{"channel": "call", "delay_days": -1}],
        )


def test_publishing_again_makes_a_new_current_version(north: Any, call_now: Any) -> None:
    again = publish_cadence(
        team=north, key="call-now", name="Call now v2", horizon="short", steps=[{"channel": "call"}]
    )
    assert again.version == 2
    assert list(Cadence.objects.filter(key="call-now", is_current=True)) == [again]


@time_machine.travel(MONDAY_MORNING, tick=False)
def test_a_do_not_contact_lead_is_never_enrolled(make_lead: Any, dan: Any, call_now: Any) -> None:
    make_lead(owner=dan, team=dan.team, horizon="short", status="sql", do_not_contact=True)
    assert enrol_due_leads() == 0


@time_machine.travel(MONDAY_MORNING, tick=False)
def test_a_short_range_qualified_lead_gets_a_call_task_now(
    make_lead: Any, dan: Any, call_now: Any
) -> None:
    lead = make_lead(owner=dan, team=dan.team, horizon="short", status="sql")
    make_lead(owner=dan, team=dan.team, horizon="short", status="new")
    assert enrol_due_leads() == 1
    counts = run_due_steps()
    assert counts["tasks"] == 1
    task = Task.objects.get(lead=lead)
    assert task.owner == dan and task.channel == "call" and task.position == 1
    assert "Call and book the meeting" in task.title
    enrolment = Enrolment.objects.get(lead=lead)
    assert enrolment.next_position == 2
    assert enrolment.next_due_at == datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


@time_machine.travel(MONDAY_MORNING, tick=False)
def test_running_the_tick_twice_does_nothing_twice(
    make_lead: Any, dan: Any, call_now: Any, north_rule: Any
) -> None:
    lead = make_lead(horizon="short", status="sql", rating=80)
    first = run_tick()
    assert first["assigned"] == 1 and first["enrolled"] == 1 and first["steps_tasks"] == 1
    second = run_tick()
    assert second["assigned"] == 0 and second["enrolled"] == 0 and "steps_tasks" not in second
    assert Task.objects.filter(lead=lead).count() == 1
    assert LeadChange.objects.filter(lead=lead, action="enrol").count() == 1


@time_machine.travel(MONDAY_MORNING, tick=False)
def test_a_call_step_without_consent_is_skipped_with_the_reason(
    make_lead: Any, dan: Any, call_now: Any
) -> None:
    lead = make_lead(owner=dan, team=dan.team, horizon="short", status="sql", consent=False)
    enrol_due_leads()
    run_due_steps()
    task = Task.objects.get(lead=lead)
    assert task.status == TaskStatus.SKIPPED and task.skip_reason == "no consent to be contacted"


@time_machine.travel(MONDAY_MORNING, tick=False)
def test_a_call_cannot_be_logged_after_the_lead_withdrew_consent(
    make_lead: Any, dan: Any, call_now: Any
) -> None:
    lead = make_lead(owner=dan, team=dan.team, horizon="short", status="sql")
    enrol_due_leads()
    run_due_steps()
    task = Task.objects.get(lead=lead, status=TaskStatus.OPEN)
    Lead.objects.filter(pk=lead.pk).update(consent=False)
    with pytest.raises(CadenceError, match="has not agreed to be contacted"):
        complete_task(task, user=dan)
    assert Task.objects.get(pk=task.pk).status == TaskStatus.OPEN


@time_machine.travel(MONDAY_MORNING, tick=False)
def test_an_email_step_without_consent_is_skipped_with_the_reason(
    make_lead: Any, dan: Any, nurture: Any
) -> None:
    lead = make_lead(owner=dan, team=dan.team, horizon="long", consent=False)
    enrol_due_leads()
    run_due_steps()
    task = Task.objects.get(lead=lead)
    assert task.status == TaskStatus.SKIPPED and task.skip_reason == "no consent to be contacted"
    assert mail.outbox == []


@time_machine.travel(MONDAY_MORNING, tick=False)
def test_an_automatic_email_step_sends_and_logs_the_touch(
    make_lead: Any, dan: Any, nurture: Any, django_capture_on_commit_callbacks: Any
) -> None:
    lead = make_lead(owner=dan, team=dan.team, horizon="long", consent=True, company_name="Acme")
    enrol_due_leads()
    with django_capture_on_commit_callbacks(execute=True):
        assert run_due_steps()["emails"] == 1
    assert mail.outbox[0].subject == "Hello Lee" and mail.outbox[0].body == "A guide for Acme."
    assert Activity.objects.filter(lead=lead, kind=ActivityKind.EMAIL_SENT).count() == 1


@time_machine.travel(MONDAY_MORNING, tick=False)
def test_the_contact_cap_stops_extra_emails(
    make_lead: Any, dan: Any, nurture: Any, settings: Any
) -> None:
    settings.LEADSIEVE_CONTACT_CAP = 1
    lead = make_lead(owner=dan, team=dan.team, horizon="long", consent=True)
    Activity.objects.create(lead=lead, kind=ActivityKind.EMAIL_SENT)
    enrol_due_leads()
    run_due_steps()
    task = Task.objects.get(lead=lead)
    assert task.status == TaskStatus.SKIPPED and task.skip_reason.startswith("contact cap: 1")


@time_machine.travel(MONDAY_MORNING, tick=False)
def test_do_not_contact_set_later_exits_the_cadence(
    make_lead: Any, dan: Any, call_now: Any
) -> None:
    lead = make_lead(owner=dan, team=dan.team, horizon="short", status="sql")
    enrol_due_leads()
    Lead.objects.filter(pk=lead.pk).update(do_not_contact=True)
    assert run_due_steps()["exited"] == 1
    enrolment = Enrolment.objects.get(lead=lead)
    assert enrolment.status == "exited" and enrolment.exit_reason == "Do not contact"
    assert not Task.objects.filter(lead=lead).exists()


@time_machine.travel(MONDAY_MORNING, tick=False)
def test_a_reply_ends_nurture(make_lead: Any, dan: Any, nurture: Any) -> None:
    lead = make_lead(owner=dan, team=dan.team, horizon="long", consent=True)
    enrol_due_leads()
    run_due_steps()
    Activity.objects.create(lead=lead, kind=ActivityKind.EMAIL_REPLIED)
    later = MONDAY_MORNING + timedelta(days=40)
    with time_machine.travel(later, tick=False):
        assert run_due_steps()["exited"] == 1
    assert Enrolment.objects.get(lead=lead).exit_reason == "The lead replied"


@time_machine.travel(MONDAY_MORNING, tick=False)
def test_a_long_range_lead_whose_interest_jumps_is_resurfaced(
    make_lead: Any, dan: Any, nurture: Any, call_now: Any
) -> None:
    lead = make_lead(owner=dan, team=dan.team, horizon="long", status="working")
    run_tick()
    assert Enrolment.objects.get(lead=lead, status="active").cadence == nurture
    Lead.objects.filter(pk=lead.pk).update(horizon="short")
    later = MONDAY_MORNING + timedelta(hours=3)
    with time_machine.travel(later, tick=False):
        report = run_tick()
    assert report["resurfaced"] == 1
    active = Enrolment.objects.get(lead=lead, status="active")
    assert active.cadence == call_now
    deadline = LeadDeadline.objects.get(lead=lead)
    assert deadline.started_at == later
    assert deadline.first_response_due == later + timedelta(hours=2)
    assert Task.objects.filter(lead=lead, channel="call", status="open").count() == 1
    assert LeadChange.objects.filter(lead=lead, action="resurface").count() == 1


@time_machine.travel(MONDAY_MORNING, tick=False)
def test_completing_a_task_logs_the_activity_and_cannot_happen_twice(
    make_lead: Any, dan: Any, call_now: Any
) -> None:
    make_lead(owner=dan, team=dan.team, horizon="short", status="sql")
    enrol_due_leads()
    run_due_steps()
    task = Task.objects.get()
    activity = complete_task(task, user=dan, note="Left a voicemail")
    assert activity.kind == ActivityKind.CALL and activity.subject == "Left a voicemail"
    with pytest.raises(CadenceError, match="already done"):
        complete_task(task, user=dan)


@time_machine.travel(MONDAY_MORNING, tick=False)
def test_skipping_a_task_needs_a_reason(make_lead: Any, dan: Any, call_now: Any) -> None:
    make_lead(owner=dan, team=dan.team, horizon="short", status="sql")
    enrol_due_leads()
    run_due_steps()
    task = Task.objects.get()
    with pytest.raises(CadenceError, match="reason is required"):
        skip_task(task, user=dan, reason=" ")
    assert skip_task(task, user=dan, reason="wrong number").status == TaskStatus.SKIPPED


@time_machine.travel(MONDAY_MORNING, tick=False)
def test_a_crash_mid_tick_keeps_finished_chunks_and_the_rerun_completes_the_rest(
    make_lead: Any, dan: Any, call_now: Any, monkeypatch: Any
) -> None:
    from leadsieve.cadences import services

    for _ in range(5):
        make_lead(owner=dan, team=dan.team, horizon="short", status="sql")
    enrol_due_leads()
    monkeypatch.setattr(services, "STEP_CHUNK", 2)
    real_run_chunk = services._run_chunk
    calls = {"n": 0}

    def crash_on_second_chunk(*args: Any, **kwargs: Any) -> None:
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("worker killed")
        real_run_chunk(*args, **kwargs)

    monkeypatch.setattr(services, "_run_chunk", crash_on_second_chunk)
    with pytest.raises(RuntimeError, match="worker killed"):
        run_due_steps()
    assert Task.objects.count() == 2
    monkeypatch.setattr(services, "_run_chunk", real_run_chunk)
    assert run_due_steps()["tasks"] == 3
    assert Task.objects.count() == 5
    assert set(Enrolment.objects.values_list("next_position", flat=True)) == {2}
