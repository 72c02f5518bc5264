"""Every date a person types or a file brings sits in its window (issue #16, finding 3;
``leadsieve/leads/date_windows.py``): history from 1970 to a day ahead, the calendar from
1970 to 2099. Outside, a form error or a rejected row names the field; nothing is stored.
"""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from tests.leads.importing import run

pytestmark = pytest.mark.django_db

TOO_EARLY = "1969-12-31"
TOO_LATE = "2100-01-01"


def _client(user: Any) -> Client:
    client = Client(raise_request_exception=False)
    client.force_login(user)
    return client


def test_an_import_refuses_created_and_closed_dates_outside_history(tmp_path: Path) -> None:
    from leadsieve.leads.models import Lead

    mapping = tmp_path / "mapping.toml"
    mapping.write_text(
        '[columns]\n"E-mail" = "email"\n"Created" = "created_at"\n"Closed" = "closed_at"\n'
        '"Result" = "outcome"\n',
        encoding="utf-8",
    )
    ahead = (dt.datetime.now(dt.UTC) + dt.timedelta(days=3)).date().isoformat()
    rows = [
        ["E-mail", "Created", "Closed", "Result"],
        ["ok@example.org", "2021-03-04T10:00:00Z", "2021-05-01", "won"],
        ["early@example.org", "1900-01-01", "", "open"],
        ["late@example.org", "2021-03-04", ahead, "lost"],
    ]
    path = tmp_path / "leads.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(rows)
    output = run(path, mapping)
    assert "1 leads created" in output and "2 rejected" in output
    rejected = list(csv.DictReader((tmp_path / "leads.rejected.csv").open(encoding="utf-8")))
    assert {(r["row"], r["column"]) for r in rejected} == {("2", "Created"), ("3", "Closed")}
    assert all("1970" in r["reason"] for r in rejected)
    assert list(Lead.objects.values_list("email", flat=True)) == ["ok@example.org"]


@pytest.mark.parametrize("when", ["1969-12-31T23:00", "0001-01-01T00:00"])
def test_logging_an_activity_before_1970_is_a_form_error(
    bob: Any, make_lead: Any, when: str
) -> None:
    from leadsieve.leads.models import Activity

    lead = make_lead(owner=bob, team=bob.team)
    response = _client(bob).post(
        reverse("leads:log_activity", args=[lead.pk]), {"kind": "call", "occurred_at": when}
    )
    assert response.status_code in (200, 400)
    assert not Activity.objects.filter(lead=lead).exists()


@pytest.mark.parametrize("day", [TOO_EARLY, TOO_LATE, "9999-12-31"])
def test_workspace_and_team_forms_refuse_dates_outside_1970_to_2099(alice: Any, day: str) -> None:
    from leadsieve.accounts.models import User
    from leadsieve.scoring.forms import BacktestForm
    from leadsieve.segments.filters import LeadFilterForm
    from leadsieve.teamsettings.forms import AbsenceForm, HolidayForm
    from leadsieve.workspace.forms import AppointmentForm, TaskForm

    members = User.objects.all()
    forms = {
        "due_at": TaskForm({"title": "Call", "channel": "call", "due_at": f"{day}T10:00"}),
        "date": AppointmentForm({"date": day, "time": "10:00", "duration": "30"}),
        "starts_on": AbsenceForm(
            {"member": alice.pk, "starts_on": day, "ends_on": day}, members=members
        ),
        "day": HolidayForm({"day": day}),
        "date_to": BacktestForm({"date_from": "2024-01-01", "date_to": day}),
        "created_to": LeadFilterForm({"created_to": day}, owners=[], user=alice),
        "activity_from": LeadFilterForm({"activity_from": day}, owners=[], user=alice),
    }
    for field, form in forms.items():
        assert not form.is_valid(), field
        assert field in form.errors, (field, form.errors)
    if day == TOO_EARLY:
        assert "1970" in str(forms["day"].errors["day"])


def test_the_same_forms_take_dates_inside_the_window(alice: Any) -> None:
    from leadsieve.accounts.models import User
    from leadsieve.segments.filters import LeadFilterForm
    from leadsieve.teamsettings.forms import AbsenceForm, HolidayForm
    from leadsieve.workspace.forms import TaskForm

    assert TaskForm({"title": "Call", "channel": "call", "due_at": "2099-12-31T10:00"}).is_valid()
    assert HolidayForm({"day": "1970-01-01"}).is_valid()
    absence = {"member": alice.pk, "starts_on": "2027-01-04", "ends_on": "2027-01-08"}
    assert AbsenceForm(absence, members=User.objects.all()).is_valid()
    listed = {"created_from": "1970-01-01", "created_to": "2099-12-31"}
    assert LeadFilterForm(listed, owners=[], user=alice).is_valid()


def test_the_lead_list_answers_a_form_error_for_a_date_outside_the_window(alice: Any) -> None:
    response = _client(alice).get(reverse("leads:list"), {"created_from": TOO_EARLY})
    assert response.status_code == 400
    assert "created_from" in response.context["form"].errors
