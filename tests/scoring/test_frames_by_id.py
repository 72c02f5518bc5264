"""Frames read by id: runs of consecutive ids (a bulk capture's new leads) are read as ranges,
other id sets as ``IN`` lists; both read exactly the leads and activities asked for."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

pytestmark = pytest.mark.django_db


@pytest.fixture
def lead_ids(make_lead: Callable[..., Any]) -> list[int]:
    from leadsieve.leads.models import Activity

    ids = [make_lead().pk for _ in range(40)]
    for pk in ids[::3]:
        Activity.objects.create(lead_id=pk, kind="capture", channel="api")
    return ids


@pytest.mark.parametrize(
    "pick",
    [
        lambda ids: ids,  # one run
        lambda ids: ids[:10] + ids[20:35],  # two runs
        lambda ids: ids[::2],  # no two consecutive
        lambda ids: ids[:1],
        lambda ids: ids[:3] + ids[5:8] + ids[10:13] + ids[15:18] + ids[20:23],  # short runs
    ],
)
def test_leads_and_activities_read_by_id_are_exactly_those_asked_for(
    lead_ids: list[int], pick: Callable[[list[int]], list[int]]
) -> None:
    from leadsieve.leads.models import Activity, Lead
    from leadsieve.scoring.frames import _among, activity_columns, lead_columns

    wanted = pick(lead_ids)
    ids = np.asarray(sorted(wanted), dtype=np.int64)
    assert sorted(Lead.objects.filter(_among("id", ids)).values_list("id", flat=True)) == wanted
    assert lead_columns(wanted)["id"].tolist() == wanted
    expected = sorted(Activity.objects.filter(lead_id__in=wanted).values_list("lead_id", flat=True))
    assert sorted(activity_columns(wanted)["lead_id"].tolist()) == expected


def test_a_run_of_consecutive_ids_is_read_as_a_range(lead_ids: list[int]) -> None:
    from leadsieve.scoring.frames import _among

    condition = str(_among("id", np.asarray(lead_ids, dtype=np.int64)))
    assert "id__gte" in condition and "id__in" not in condition
    scattered = str(_among("id", np.asarray(lead_ids[::2], dtype=np.int64)))
    assert "id__in" in scattered
