from __future__ import annotations

import pandas as pd
import pytest

from leadsieve.leads.models import Activity, Channel, Lead, MergeRecord
from leadsieve.leads.services import CaptureRejected, capture_leads

pytestmark = pytest.mark.django_db


def batch(rows: object, **options: object) -> object:
    return capture_leads(rows, channel=Channel.API, via="api:bulk", **options)  # type: ignore[arg-type]


def test_fail_mode_saves_nothing_and_numbers_every_bad_row() -> None:
    rows = [{"email": "ok@acme.test"}, {"email": "bad"}, {"phone": "nope"}, "not an object"]
    with pytest.raises(CaptureRejected) as raised:
        batch(rows, on_invalid="fail")
    assert [(e.row, e.field) for e in raised.value.errors] == [
        (2, "email"),
        (3, "phone"),
        (4, "lead"),
    ]
    assert Lead.objects.count() == 0 and Activity.objects.count() == 0


def test_skip_mode_saves_the_good_rows_and_reports_the_others() -> None:
    outcome = batch([{"email": "ok@acme.test"}, {"email": "bad"}, {"first_name": "Solo"}])
    assert [bool(r.errors) for r in outcome.results] == [False, True, False]
    assert (outcome.n_created, outcome.n_merged, outcome.n_rejected) == (2, 0, 1)
    assert outcome.results[1].errors[0].row == 2
    assert Lead.objects.count() == 2


def test_later_rows_merge_into_the_lead_an_earlier_row_created() -> None:
    outcome = batch(
        [
            {"email": "ada@acme.test", "first_name": "Ada"},
            {"email": "ADA@acme.test", "phone": "+1 415 555 0100"},
            {"phone": "(415) 555-0100", "city": "London"},
        ]
    )
    first, second, third = outcome.results
    assert first.created and not second.created and not third.created
    assert second.lead_id == third.lead_id == first.lead_id
    lead = Lead.objects.get()
    assert (lead.phone, lead.city) == ("+14155550100", "London")
    assert MergeRecord.objects.count() == 2
    assert Activity.objects.filter(lead=lead).count() == 3


def test_a_dataframe_of_five_hundred_leads_is_one_call() -> None:
    frame = pd.DataFrame(
        {
            "email": [f"person{i}@company{i % 50}.test" for i in range(500)],
            "first_name": ["Lee"] * 500,
            "last_name": [f"Tester{i}" for i in range(500)],
        }
    )
    outcome = batch(frame)
    assert outcome.n_created == 500
    assert Lead.objects.count() == 500
    assert Lead.objects.exclude(company=None).count() == 500


def test_same_name_at_the_same_company_is_queued_against_the_first_leads_only() -> None:
    from leadsieve.leads.models import DuplicateCandidate
    from leadsieve.leads.services.likely_duplicates import DUPLICATES_PER_LEAD

    def ada(n: int, domain: str = "acme.test", company: str = "Acme") -> dict[str, str]:
        return {
            "email": f"ada{n}@{domain}",
            "first_name": "Ada",
            "last_name": "Lovelace",
            "company_name": company,
        }

    stored = capture_leads([ada(0), ada(1)], channel=Channel.API, via="test").lead_ids
    rows = [ada(n) for n in range(2, 8)]
    rows.append(ada(8, "acme-corp.test", "ACME Inc."))  # its own company, named like Acme
    rows.append(ada(9, "other.test", "Other"))  # another company: no candidate
    rows.append({**ada(10), "first_name": "Grace"})  # another name: no candidate
    new = capture_leads(rows, channel=Channel.API, via="test").lead_ids
    pairs = sorted(DuplicateCandidate.objects.values_list("lead_id", "duplicate_of_id"))
    first_five = [*stored, *new[:3]]
    assert len(first_five) == DUPLICATES_PER_LEAD
    expected = [(stored[1], stored[0])]  # the second stored lead, when it was captured
    for position, lead_id in enumerate(new[:6]):
        expected += [(lead_id, pk) for pk in first_five[: min(5, 2 + position)]]
    expected += [(new[6], pk) for pk in first_five]  # the first five, not the sixth
    assert pairs == sorted(expected)
    assert not DuplicateCandidate.objects.filter(lead_id__in=new[7:]).exists()
    acme = Lead.objects.get(pk=stored[0]).company_id
    by_name = Lead.objects.get(pk=new[6])
    assert by_name.company_id is not None and by_name.company_id != acme
    assert (
        list(
            DuplicateCandidate.objects.filter(lead_id=new[6]).values_list(
                "duplicate_of_id", flat=True
            )
        )
        == first_five
    )


def test_a_merge_records_the_company_as_an_id_when_other_rows_have_none() -> None:
    """A batch where some rows have no company: the ids stay integers (not 2.0) in the
    merge record an unmerge recreates the lead from."""
    batch([{"email": "ada@acme.test"}])
    batch([{"email": "ADA@acme.test", "first_name": "Ada"}, {"phone": "+1 415 555 0100"}])
    record = MergeRecord.objects.get()
    company_id = record.incoming["company_id"]
    assert (
        type(company_id) is int
        and company_id == Lead.objects.get(email_key="ada@acme.test").company_id
    )
