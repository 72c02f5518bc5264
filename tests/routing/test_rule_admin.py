from __future__ import annotations

from typing import Any

from django.test import Client

from leadsieve.routing.models import AssignmentRule


def _post_rule(client: Client, team: Any, conditions: str) -> Any:
    return client.post(
        "/admin/routing/assignmentrule/add/",
        {
            "name": "Big accounts",
            "position": 0,
            "is_active": "on",
            "conditions": conditions,
            "team": team.pk,
            "strategy": "round_robin",
        },
    )


def test_the_admin_refuses_a_rule_routing_could_not_apply(admin_user: Any, north: Any) -> None:
    client = Client()
    client.force_login(admin_user)

    response = _post_rule(client, north, '[{"field": "company__size", "op": "like", "value": 1}]')

    assert response.status_code == 200
    assert "condition 1" in response.content.decode()
    assert not AssignmentRule.objects.exists()


def test_the_admin_saves_a_rule_with_valid_conditions(admin_user: Any, north: Any) -> None:
    client = Client()
    client.force_login(admin_user)

    response = _post_rule(client, north, '[{"field": "country", "op": "eq", "value": "FR"}]')

    assert response.status_code == 302, response.content.decode()[:2000]
    assert AssignmentRule.objects.get().conditions[0]["field"] == "country"
