"""The lead list: filters, sorting, keyset pages, counts, htmx fragments, CSV, bulk actions."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from leadsieve.leads import queries
from leadsieve.leads.models import Lead, LeadChange, Source, Status
from leadsieve.segments.filters import LeadFilters
from leadsieve.workspace.queries import PAGE_SIZE, count_leads_for_user

XSS_NAME = "<img src=x onerror=alert(1)>"
XSS_COMPANY = '"><script>alert(1)</script>'


def _ids(html: str, leads: list[Any]) -> list[int]:
    """The leads of ``leads`` that the page links to, in page order."""
    positions = {}
    for lead in leads:
        at = html.find(f'href="/leads/{lead.pk}/"')
        if at >= 0:
            positions[lead.pk] = at
    return sorted(positions, key=positions.__getitem__)


def _walk(client: Client, url: str, leads: list[Any]) -> list[list[int]]:
    """Follow "Next page" until the last page; returns the lead ids of each page."""
    pages = []
    for _ in range(50):
        response = client.get(url)
        assert response.status_code == 200
        html = response.content.decode()
        pages.append(_ids(html, leads))
        next_url = response.context["page"].next_cursor
        if not next_url:
            return pages
        separator = "&" if "?" in url else "?"
        base = url.split("&cursor=")[0].split("?cursor=")[0]
        url = f"{base}{separator if '?' in base else '?'}cursor={next_url}"
    raise AssertionError("the pages never end")


# --- Failure paths first ---------------------------------------------------------------------


def test_it_names_the_bad_filter_instead_of_failing(
    client_for: Callable[[Any], Client], alice: Any
) -> None:
    response = client_for(alice).get("/leads/?rating_min=abc&created_from=2026-13-45&status=x")

    html = response.content.decode()
    assert response.status_code == 400
    assert "Rating from" in html
    assert "Created from" in html
    assert "Status" in html


def test_it_rejects_an_inverted_rating_range(
    client_for: Callable[[Any], Client], alice: Any
) -> None:
    response = client_for(alice).get("/leads/?rating_min=80&rating_max=20")

    assert response.status_code == 400
    assert "the lowest rating is above the highest" in response.content.decode()


def test_it_rejects_a_tampered_cursor_and_offers_the_first_page(
    client_for: Callable[[Any], Client], alice: Any
) -> None:
    response = client_for(alice).get("/leads/?cursor=eyJzIjoiLXJhdGluZyJ9:forged:sig")

    html = response.content.decode()
    assert response.status_code == 400
    assert "Page link" in html
    assert "damaged or was altered" in html


def test_it_rejects_a_cursor_from_another_sort_order(
    client_for: Callable[[Any], Client], alice: Any, north: Any, make_lead: Callable[..., Any]
) -> None:
    for rating in range(1, PAGE_SIZE + 3):
        make_lead(team=north, rating=rating)
    client = client_for(alice)
    cursor = client.get("/leads/?sort=-rating").context["page"].next_cursor

    response = client.get("/leads/", {"sort": "name", "cursor": cursor})

    assert response.status_code == 400
    assert "another sort order" in response.content.decode()


def test_it_reports_bad_filters_to_htmx_with_a_swappable_fragment(
    client_for: Callable[[Any], Client], alice: Any
) -> None:
    response = client_for(alice).get(
        "/leads/?rating_max=500", headers={"HX-Request": "true", "HX-Target": "results"}
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html
    assert "Rating to" in html


def test_it_refuses_a_bulk_status_change_without_a_reason(
    client_for: Callable[[Any], Client], alice: Any, north: Any, make_lead: Callable[..., Any]
) -> None:
    lead = make_lead(team=north)
    client = client_for(alice)

    response = client.post(
        reverse("leads:bulk"),
        {"lead": [lead.pk], "action": "status", "status": "disqualified", "next": "/leads/"},
        follow=True,
    )

    lead.refresh_from_db()
    assert lead.status == Status.NEW
    assert "say why you set the status by hand" in response.content.decode()


def test_it_ignores_an_offsite_next_after_a_bulk_action(
    client_for: Callable[[Any], Client], alice: Any, north: Any, make_lead: Callable[..., Any]
) -> None:
    lead = make_lead(team=north)

    response = client_for(alice).post(
        reverse("leads:bulk"),
        {
            "lead": [lead.pk],
            "action": "status",
            "status": "sql",
            "reason": "Asked for a demo",
            "next": "https://evil.test/",
        },
    )

    assert response["Location"] == "/leads/"


def test_it_refuses_to_assign_a_lead_to_someone_outside_the_team(
    client_for: Callable[[Any], Client],
    alice: Any,
    carol: Any,
    north: Any,
    make_lead: Callable[..., Any],
) -> None:
    lead = make_lead(team=north)

    client_for(alice).post(
        reverse("leads:bulk"),
        {"lead": [lead.pk], "action": "assign", "owner": carol.pk, "next": "/leads/"},
    )

    lead.refresh_from_db()
    assert lead.owner is None


# --- Escaping -------------------------------------------------------------------------------


def test_it_escapes_a_hostile_name_and_company_in_the_list(
    client_for: Callable[[Any], Client], alice: Any, north: Any, make_lead: Callable[..., Any]
) -> None:
    make_lead(first_name=XSS_NAME, last_name="", company_name=XSS_COMPANY, team=north)

    html = client_for(alice).get("/leads/").content.decode()

    assert XSS_NAME not in html
    assert XSS_COMPANY not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in html


# --- Filters, counts and sorting ------------------------------------------------------------


def test_it_filters_by_status_grade_horizon_owner_and_rating(
    client_for: Callable[[Any], Client],
    alice: Any,
    bob: Any,
    north: Any,
    make_lead: Callable[..., Any],
) -> None:
    hit = make_lead(
        first_name="Hit",
        team=north,
        owner=bob,
        status="sql",
        fit_grade="A",
        horizon="short",
        rating=80,
    )
    make_lead(
        first_name="Lowrated",
        team=north,
        owner=bob,
        status="sql",
        fit_grade="A",
        horizon="short",
        rating=20,
    )
    make_lead(
        first_name="Wrongstatus",
        team=north,
        owner=bob,
        status="mql",
        fit_grade="A",
        horizon="short",
        rating=80,
    )
    make_lead(
        first_name="Unowned", team=north, status="sql", fit_grade="A", horizon="short", rating=80
    )

    response = client_for(alice).get(
        "/leads/",
        {
            "status": "sql",
            "fit_grade": "A",
            "horizon": "short",
            "owner": bob.pk,
            "rating_min": 50,
            "rating_max": 100,
        },
    )

    assert [lead.pk for lead in response.context["page"].leads] == [hit.pk]
    assert response.context["n_leads"].n == 1


def test_it_searches_name_email_and_company(
    client_for: Callable[[Any], Client], alice: Any, north: Any, make_lead: Callable[..., Any]
) -> None:
    by_name = make_lead(first_name="Zebedee", team=north)
    by_email = make_lead(email="ops@zebra.test", team=north)
    by_company = make_lead(company_name="Zebracorp", team=north)
    make_lead(first_name="Other", team=north)

    response = client_for(alice).get("/leads/", {"q": "zeb"})

    found = {lead.pk for lead in response.context["page"].leads}
    assert found == {by_name.pk, by_email.pk, by_company.pk}


def test_it_filters_by_source_and_creation_date(
    client_for: Callable[[Any], Client], alice: Any, north: Any, make_lead: Callable[..., Any]
) -> None:
    webinar = Source.objects.create(name="Webinar")
    with time_machine.travel(dt.datetime(2026, 3, 10, 12, tzinfo=dt.UTC), tick=False):
        old = make_lead(team=north, source=webinar)
    with time_machine.travel(dt.datetime(2026, 6, 10, 12, tzinfo=dt.UTC), tick=False):
        recent = make_lead(team=north, source=webinar)
        make_lead(team=north)

    response = client_for(alice).get(
        "/leads/", {"source": webinar.pk, "created_from": "2026-06-01", "created_to": "2026-06-10"}
    )

    assert [lead.pk for lead in response.context["page"].leads] == [recent.pk]
    assert old.pk not in [lead.pk for lead in response.context["page"].leads]


def test_it_sorts_by_rating_with_unscored_leads_last(
    client_for: Callable[[Any], Client], alice: Any, north: Any, make_lead: Callable[..., Any]
) -> None:
    unscored = make_lead(team=north)
    low = make_lead(team=north, rating=10)
    high = make_lead(team=north, rating=90)
    client = client_for(alice)

    best_first = [lead.pk for lead in client.get("/leads/").context["page"].leads]
    worst_first = [lead.pk for lead in client.get("/leads/?sort=rating").context["page"].leads]

    assert best_first == [high.pk, low.pk, unscored.pk]
    assert worst_first == [low.pk, high.pk, unscored.pk]


def test_it_returns_only_the_results_fragment_to_htmx(
    client_for: Callable[[Any], Client], alice: Any, north: Any, make_lead: Callable[..., Any]
) -> None:
    make_lead(first_name="Frag", team=north)

    response = client_for(alice).get(
        "/leads/?sort=name", headers={"HX-Request": "true", "HX-Target": "results"}
    )

    html = response.content.decode()
    assert "<html" not in html
    assert "Frag" in html
    assert 'hx-swap-oob="true"' in html
    assert "HX-Request" in response["Vary"]


def test_it_counts_from_the_kept_counts_when_the_filters_allow_it(
    alice: Any, bob: Any, north: Any, south: Any, make_lead: Callable[..., Any]
) -> None:
    for _ in range(3):
        make_lead(team=north)
    make_lead(team=north, owner=bob, status="disqualified")
    make_lead(team=south)

    with CaptureQueriesContext(connection) as captured:
        every = count_leads_for_user(alice, LeadFilters())
    assert all("leads_lead" not in query["sql"] for query in captured.captured_queries)
    assert (every.n, every.is_estimate) == (4, False)
    assert count_leads_for_user(alice, LeadFilters(status="not_disqualified")).n == 3
    assert count_leads_for_user(alice, LeadFilters(owner="none")).n == 3
    assert count_leads_for_user(bob, LeadFilters()).n == 4  # own + the team's unassigned


def test_it_counts_exactly_within_the_budget_and_estimates_past_it(
    alice: Any, north: Any, make_lead: Callable[..., Any], client_for: Callable[[Any], Client]
) -> None:
    for n in range(40):
        make_lead(team=north, fit_grade="A" if n % 4 == 0 else "C")
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE leads_lead")
    filters = LeadFilters(fit_grade="A")

    exact = count_leads_for_user(alice, filters)
    estimate = count_leads_for_user(alice, filters, budget_s=0)

    assert (exact.n, exact.is_estimate) == (10, False)
    assert estimate.is_estimate
    if connection.vendor == "sqlite":
        assert estimate.n == 10  # the samples cover every id of a small table
    else:
        assert 1 <= estimate.n <= 40  # the planner's guess, from the table's statistics


def test_an_estimated_count_is_marked_on_the_page(
    alice: Any, client_for: Callable[[Any], Client], monkeypatch: pytest.MonkeyPatch
) -> None:
    from leadsieve.workspace import views
    from leadsieve.workspace.queries import LeadCount

    monkeypatch.setattr(views, "count_leads_for_user", lambda user, f: LeadCount(412_000, True))
    html = client_for(alice).get("/leads/?fit_grade=A").content.decode()
    assert "About <strong>412,000</strong> leads match" in html
    assert "data-count-estimate" in html


def test_a_slow_count_is_stopped_at_the_budget(
    alice: Any, north: Any, make_lead: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from leadsieve.workspace import queries

    for _ in range(5):
        make_lead(team=north, fit_grade="A")
    monkeypatch.setattr(queries, "SQLITE_PROGRESS_STEPS", 1)
    leads = Lead.objects.filter(fit_grade="A")
    if connection.vendor == "postgresql":  # a timeout of 1 ms on a slow query
        slow = leads.extra(where=["pg_sleep(0.05) IS NOT NULL"])
        assert queries._count_within(slow, 0.001) is None
    else:
        assert queries._count_within(leads, 1e-9) is None
    assert queries._count_within(leads, 10) == 5
    assert leads.count() == 5  # the connection works after the interruption


# --- Keyset pagination ----------------------------------------------------------------------


@pytest.mark.parametrize("sort", ["-rating", "rating", "-created", "-activity", "name", "-name"])
def test_it_pages_through_every_lead_once_whatever_the_sort(
    client_for: Callable[[Any], Client],
    alice: Any,
    north: Any,
    make_lead: Callable[..., Any],
    sort: str,
) -> None:
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    leads = []
    for n in range(2 * PAGE_SIZE + 7):
        leads.append(
            make_lead(
                team=north,
                first_name=f"F{n % 3}",
                last_name=f"Same{n % 4}",
                # ties and nulls on purpose: the id breaks ties, nulls come last.
                rating=None if n % 5 == 0 else (n % 7) + 1,
                created_at=start + dt.timedelta(hours=n % 6),
                last_activity_at=None if n % 4 == 0 else start + dt.timedelta(days=n % 9),
            )
        )

    pages = _walk(client_for(alice), f"/leads/?sort={sort}", leads)

    seen = [pk for page in pages for pk in page]
    assert len(pages) == 3
    assert [len(page) for page in pages] == [PAGE_SIZE, PAGE_SIZE, 7]
    assert sorted(seen) == sorted(lead.pk for lead in leads)
    assert len(set(seen)) == len(seen)


@pytest.mark.parametrize("sort", ["-rating", "rating", "created", "-activity", "name"])
def test_it_pages_a_reps_own_and_unassigned_leads_in_one_order_without_gaps(
    client_for: Callable[[Any], Client],
    bob: Any,
    dave: Any,
    north: Any,
    make_lead: Callable[..., Any],
    sort: str,
) -> None:
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    visible = []
    for n in range(2 * PAGE_SIZE + 3):
        visible.append(
            make_lead(
                team=north,
                owner=bob if n % 3 else None,
                rating=None if n % 7 == 0 else (n % 11) + 1,
                created_at=start + dt.timedelta(hours=n % 5),
                last_activity_at=None if n % 4 == 0 else start + dt.timedelta(days=n % 6),
            )
        )
    hidden = [make_lead(team=north, owner=dave, rating=50) for _ in range(10)]
    client = client_for(bob)

    pages = _walk(client, f"/leads/?sort={sort}", visible + hidden)

    seen = [pk for page in pages for pk in page]
    assert sorted(seen) == sorted(lead.pk for lead in visible)
    assert len(set(seen)) == len(seen)
    expected = [
        lead.pk for lead in queries.scope_leads_for_user(bob).order_by(*queries.order_for(sort))
    ]
    assert seen == expected


def test_it_keeps_the_filters_on_the_next_page(
    client_for: Callable[[Any], Client], alice: Any, north: Any, make_lead: Callable[..., Any]
) -> None:
    wanted = [make_lead(team=north, status="sql", rating=n % 50 + 1) for n in range(PAGE_SIZE + 5)]
    noise = [make_lead(team=north, status="mql", rating=n + 1) for n in range(30)]

    pages = _walk(client_for(alice), "/leads/?status=sql", wanted + noise)

    seen = [pk for page in pages for pk in page]
    assert sorted(seen) == sorted(lead.pk for lead in wanted)


# --- Query counts ---------------------------------------------------------------------------


def test_it_lists_a_full_page_in_a_fixed_number_of_queries(
    client_for: Callable[[Any], Client],
    alice: Any,
    bob: Any,
    north: Any,
    make_lead: Callable[..., Any],
    django_assert_max_num_queries: Any,
) -> None:
    source = Source.objects.create(name="Fair")
    for n in range(PAGE_SIZE + 10):
        make_lead(team=north, owner=bob if n % 2 else None, rating=n % 100 + 1, source=source)
    client = client_for(alice)

    with django_assert_max_num_queries(12):
        response = client.get("/leads/")

    assert len(response.context["page"].leads) == PAGE_SIZE


# --- CSV export -----------------------------------------------------------------------------


def test_it_neutralises_spreadsheet_formulas_in_the_export(
    client_for: Callable[[Any], Client], alice: Any, north: Any, make_lead: Callable[..., Any]
) -> None:
    make_lead(
        first_name='=HYPERLINK("http://evil.test")',
        last_name="+SUM(A1)",
        job_title="-2+3",
        company_name="@cmd",
        email="\tsneaky@x.test",
        city="\rcarriage",
        team=north,
    )

    response = client_for(alice).get("/leads/export.csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))

    assert response["Content-Type"].startswith("text/csv")
    header, row = rows[0], rows[1]
    record = dict(zip(header, row, strict=True))
    assert record["first_name"] == '\'=HYPERLINK("http://evil.test")'
    assert record["last_name"] == "'+SUM(A1)"
    assert record["job_title"] == "'-2+3"
    assert record["company"] == "'@cmd"
    assert record["email"] == "'\tsneaky@x.test"


def test_it_exports_the_current_filter_only(
    client_for: Callable[[Any], Client], alice: Any, north: Any, make_lead: Callable[..., Any]
) -> None:
    make_lead(first_name="Keepme", team=north, status="sql")
    make_lead(first_name="Dropme", team=north, status="new")

    body = b"".join(client_for(alice).get("/leads/export.csv?status=sql").streaming_content)

    assert b"Keepme" in body
    assert b"Dropme" not in body


# --- Bulk actions ---------------------------------------------------------------------------


def test_it_assigns_the_ticked_leads_and_writes_the_audit(
    client_for: Callable[[Any], Client],
    alice: Any,
    bob: Any,
    north: Any,
    make_lead: Callable[..., Any],
) -> None:
    from leadsieve.routing.models import Assignment, LeadDeadline, QueuedLead

    leads = [make_lead(team=north) for _ in range(3)]
    QueuedLead.objects.create(lead=leads[0], reason="no rep on duty", team=north)

    response = client_for(alice).post(
        reverse("leads:bulk"),
        {
            "lead": [lead.pk for lead in leads[:2]],
            "action": "assign",
            "owner": bob.pk,
            "next": "/leads/?status=new",
        },
    )

    assert response["Location"] == "/leads/?status=new"
    assert set(Lead.objects.filter(owner=bob)) == set(leads[:2])
    changes = LeadChange.objects.filter(action="assign")
    assert changes.count() == 2
    assert all(change.changes["owner"] == [None, bob.pk] for change in changes)
    assert all(change.user == alice for change in changes)
    # The one hand-assignment path (routing): assignment with its reason, deadline, queue left.
    assignments = Assignment.objects.filter(lead__in=leads[:2])
    assert {(a.rep_id, a.strategy, a.assigned_by_id) for a in assignments} == {
        (bob.pk, "manual", alice.pk)
    }
    assert LeadDeadline.objects.filter(lead__in=leads[:2], owner=bob).count() == 2
    assert not QueuedLead.objects.exists()


def test_it_changes_the_status_of_the_ticked_leads_by_hand(
    client_for: Callable[[Any], Client], alice: Any, north: Any, make_lead: Callable[..., Any]
) -> None:
    lead = make_lead(team=north)

    client_for(alice).post(
        reverse("leads:bulk"),
        {"lead": [lead.pk], "action": "status", "status": "working", "reason": "Called back"},
    )

    lead.refresh_from_db()
    assert lead.status == Status.WORKING
    assert lead.status_is_manual
    assert lead.status_reason == "Called back"
    change = LeadChange.objects.get(lead=lead)
    assert change.action == "status_override"
    assert change.changes["status"] == ["new", "working"]
    assert change.note == "Called back"
    assert change.user == alice


def test_it_offers_a_manager_only_the_team_as_new_owners(
    client_for: Callable[[Any], Client],
    alice: Any,
    bob: Any,
    carol: Any,
    north: Any,
    make_lead: Callable[..., Any],
) -> None:
    make_lead(team=north)

    html = client_for(alice).get("/leads/").content.decode()
    bulk_owner = html[html.index('id="bulk-owner"') :].split("</select>")[0]

    assert f'<option value="{bob.pk}">Bob</option>' in bulk_owner
    assert f'value="{carol.pk}"' not in bulk_owner


def test_it_names_what_is_missing_when_nothing_is_ticked(
    client_for: Callable[[Any], Client], alice: Any, bob: Any
) -> None:
    response = client_for(alice).post(
        reverse("leads:bulk"), {"action": "assign", "next": "/leads/"}, follow=True
    )

    html = response.content.decode()
    assert "Leads: tick at least one lead" in html
    assert "Owner: choose who gets the leads" in html
