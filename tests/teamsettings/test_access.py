"""Who may open and change team settings: anonymous → sign-in, rep → 403, another team's
manager → 404 (nothing learnt, nothing changed), the team's manager and admins → allowed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from leadsieve.cadences.models import Cadence
from leadsieve.cadences.services import publish_cadence
from leadsieve.routing.models import Absence, AssignmentRule, DeadlinePolicy, Holiday, RepProfile
from leadsieve.routing.services import save_rule

pytestmark = pytest.mark.django_db


@pytest.fixture
def north_objects(north: Any, bob: Any) -> dict[str, Any]:
    rule = save_rule(name="Everything", team=north, conditions=[])
    absence = Absence.objects.create(user=bob, starts_on="2030-01-02", ends_on="2030-01-03")
    holiday = Holiday.objects.create(team=north, day="2030-01-01", name="New year")
    cadence = publish_cadence(
        team=north, key="call-now", name="Call now", horizon="short", steps=[{"channel": "call"}]
    )
    return {"rule": rule, "absence": absence, "holiday": holiday, "cadence": cadence}


def _gets(team_id: int, objects: dict[str, Any], member_id: int) -> list[str]:
    base = f"/team/{team_id}"
    return [
        f"{base}/",
        f"{base}/report/",
        f"{base}/rules/new/",
        f"{base}/rules/{objects['rule'].pk}/",
        f"{base}/reps/{member_id}/",
        f"{base}/deadlines/short/",
        f"{base}/cadences/new/",
        f"{base}/cadences/{objects['cadence'].pk}/",
    ]


def _posts(
    team_id: int, objects: dict[str, Any], member_id: int
) -> list[tuple[str, dict[str, Any]]]:
    base = f"/team/{team_id}"
    return [
        (f"{base}/rules/new/", {"name": "Stolen", "position": 0, "strategy": "round_robin"}),
        (
            f"{base}/rules/{objects['rule'].pk}/",
            {"name": "Stolen", "position": 0, "strategy": "round_robin"},
        ),
        (
            f"{base}/reps/{member_id}/",
            {
                "max_new_per_day": 0,
                "max_open": 0,
                "weight": 1,
                "work_days": [0],
                "work_start": "09:00",
                "work_end": "10:00",
            },
        ),
        (
            f"{base}/absences/",
            {"member": member_id, "starts_on": "2030-02-01", "ends_on": "2030-02-02"},
        ),
        (f"{base}/absences/{objects['absence'].pk}/remove/", {}),
        (f"{base}/holidays/", {"day": "2030-03-01", "name": "Stolen"}),
        (f"{base}/holidays/{objects['holiday'].pk}/remove/", {}),
        (
            f"{base}/deadlines/short/",
            {
                "first_response_hours": 1,
                "next_touch_days": 1,
                "at_risk_percent": 50,
                "escalate_after_hours": 1,
                "reassign_after_hours": 1,
            },
        ),
        (f"{base}/cadences/{objects['cadence'].pk}/", {"name": "Stolen", "horizon": "short"}),
        (f"{base}/cadences/new/", {"key": "stolen", "name": "Stolen", "horizon": "short"}),
    ]


def _state() -> tuple[Any, ...]:
    """Everything a refused POST might have changed."""
    return (
        list(AssignmentRule.objects.values_list("name", "position")),
        list(RepProfile.objects.values_list("user_id", "max_new_per_day")),
        Absence.objects.count(),
        Holiday.objects.count(),
        DeadlinePolicy.objects.count(),
        list(AssignmentRule.objects.values_list("name", flat=True)),
    )


def test_anonymous_visitors_are_sent_to_sign_in(
    north: Any, bob: Any, north_objects: dict[str, Any]
) -> None:
    client = Client()
    for url in ["/team/", *_gets(north.pk, north_objects, bob.pk)]:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/accounts/login/"), url
    before = _state()
    for url, data in _posts(north.pk, north_objects, bob.pk):
        response = client.post(url, data)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/accounts/login/"), url
    assert _state() == before


def test_a_rep_is_refused_every_page_and_change_of_their_own_team(
    client_for: Callable[[Any], Client], north: Any, bob: Any, north_objects: dict[str, Any]
) -> None:
    client = client_for(bob)
    for url in ["/team/", *_gets(north.pk, north_objects, bob.pk)]:
        assert client.get(url).status_code == 403, url
    before = _state()
    for url, data in _posts(north.pk, north_objects, bob.pk):
        assert client.post(url, data).status_code == 403, url
    assert _state() == before


def test_a_rep_sees_no_team_entry_in_the_navigation(
    client_for: Callable[[Any], Client], bob: Any
) -> None:
    assert b'href="/team/"' not in client_for(bob).get("/").content


def test_the_manager_of_another_team_gets_404_and_changes_nothing(
    client_for: Callable[[Any], Client],
    north: Any,
    bob: Any,
    sam: Any,
    north_objects: dict[str, Any],
) -> None:
    client = client_for(sam)
    for url in _gets(north.pk, north_objects, bob.pk):
        assert client.get(url).status_code == 404, url
    before = _state()
    for url, data in _posts(north.pk, north_objects, bob.pk):
        assert client.post(url, data).status_code == 404, url
    assert _state() == before
    assert Cadence.objects.count() == 1


def test_a_manager_cannot_reach_north_objects_through_his_own_team_url(
    client_for: Callable[[Any], Client],
    south: Any,
    bob: Any,
    sam: Any,
    north_objects: dict[str, Any],
) -> None:
    client = client_for(sam)
    for url in _gets(south.pk, north_objects, bob.pk)[3:]:
        if url.endswith(("/rules/new/", "/deadlines/short/", "/cadences/new/")):
            continue
        assert client.get(url).status_code == 404, url
    before = _state()
    for url, data in _posts(south.pk, north_objects, bob.pk):
        if url.endswith(("/rules/new/", "/holidays/", "/deadlines/short/", "/cadences/new/")):
            continue
        response = client.post(url, data)
        # North's rep is not a choice on South's absence form (400), anything else is a 404.
        assert response.status_code in (400, 404), url
    assert _state() == before


def test_the_manager_and_an_admin_open_every_page(
    client_for: Callable[[Any], Client],
    north: Any,
    alice: Any,
    admin_user: Any,
    bob: Any,
    north_objects: dict[str, Any],
) -> None:
    for user in (alice, admin_user):
        client = client_for(user)
        for url in _gets(north.pk, north_objects, bob.pk):
            # The consistency report moved to /insights/ (#18): its old address redirects.
            assert client.get(url, follow=True).status_code == 200, (user, url)
        home = client.get("/team/")
        assert home.status_code == 302 and home["Location"] == f"/team/{north.pk}/"


def test_an_admin_picks_any_team(
    client_for: Callable[[Any], Client], north: Any, south: Any, admin_user: Any
) -> None:
    client = client_for(admin_user)
    response = client.get("/team/", {"team": south.pk})
    assert response["Location"] == f"/team/{south.pk}/"
    response = client.get("/team/", {"team": south.pk, "page": "report"})
    assert response["Location"] == f"/team/{south.pk}/report/"
    page = client.get(f"/team/{south.pk}/")
    assert b'name="team"' in page.content and b"North" in page.content


def test_a_manager_without_a_team_is_told_so(
    client_for: Callable[[Any], Client], make_user: Callable[..., Any]
) -> None:
    lonely = make_user("lonely", role="manager")
    response = client_for(lonely).get("/team/")
    assert response.status_code == 200
    assert b"You are not on a team" in response.content


def test_the_manager_changes_his_own_team(
    client_for: Callable[[Any], Client],
    north: Any,
    alice: Any,
    bob: Any,
    north_objects: dict[str, Any],
) -> None:
    client = client_for(alice)
    response = client.post(f"/team/{north.pk}/holidays/{north_objects['holiday'].pk}/remove/")
    assert response.status_code == 302
    assert not Holiday.objects.filter(pk=north_objects["holiday"].pk).exists()


def test_posts_need_a_csrf_token(north: Any, alice: Any, bob: Any) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    response = client.post(f"/team/{north.pk}/holidays/", {"day": "2030-03-01"})
    assert response.status_code == 403
    assert not Holiday.objects.exists()
