"""``leadsieve recover-tasks --host``: the running tasks of a worker host lost for good.

Nothing on another host can tell whether a worker there is dead, so the tick leaves them
running; the operator names the lost host and only its tasks go back to the queue.
"""

from __future__ import annotations

import json
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def database_tasks(settings: Any) -> None:
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


def _running(worker_ids: list[str]) -> Any:
    from django_tasks_db.models import DBTaskResult

    from leadsieve.scoring.tasks import rescore_leads_task

    result = rescore_leads_task.enqueue(lead_ids=[1])
    DBTaskResult.objects.filter(id=result.id).update(
        status="RUNNING", started_at=timezone.now(), worker_ids=worker_ids
    )
    return result.id


def test_it_refuses_a_worker_id_instead_of_a_host() -> None:
    with pytest.raises(CommandError, match="host name"):
        call_command("recover_tasks", host="lost.example:123:456")


def test_it_requeues_only_the_lost_hosts_tasks_and_fails_those_out_of_attempts() -> None:
    from django_tasks_db.models import DBTaskResult

    from leadsieve.background import MAX_ATTEMPTS, WORKER_STOPPED_CLASS

    lost = _running(["lost.example:4242:99"])
    lost_again = _running(["lost.example:1:1"] * MAX_ATTEMPTS)
    other = _running(["alive.example:4242:99"])
    retried_elsewhere = _running(["lost.example:1:1", "alive.example:7:7"])
    out = StringIO()
    call_command("recover_tasks", host="lost.example", stdout=out)

    assert json.loads(out.getvalue()) == {"failed": 1, "requeued": 1}
    status = {str(i): s for i, s in DBTaskResult.objects.values_list("id", "status")}
    assert status[lost] == "READY"
    assert status[lost_again] == "FAILED"
    assert DBTaskResult.objects.get(id=lost_again).exception_class_path == WORKER_STOPPED_CLASS
    assert status[other] == status[retried_elsewhere] == "RUNNING"
