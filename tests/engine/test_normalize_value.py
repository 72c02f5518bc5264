"""Each scalar normaliser equals its column-wise twin in ``normalize`` on generated text."""

from __future__ import annotations

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leadsieve.engine import normalize, normalize_value

PIECES = [
    *"aAbBzZ éÉßﬁİıǅ\t\n\r\x00\x1c\x85\xa0\u2028\u200b\u180e-_.,'@+()0123456789/:#?ÅØ東",
    *("www.", "http://", "Inc", " inc.", "GmbH", "@example.com", "gmail.com", "+33 1 42 68 53 00"),
]
TEXT = st.lists(st.sampled_from(PIECES), max_size=12).map("".join) | st.text(max_size=20)
EXAMPLES = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def one(value: str) -> pd.Series:
    return pd.Series([value], dtype="str")


@EXAMPLES
@given(TEXT, TEXT)
def test_text_names_and_keys_equal_their_column_twins(a: str, b: str) -> None:
    assert normalize_value.clean_text(a) == normalize.clean_text(one(a)).iloc[0]
    multiline = normalize.clean_text(one(a), multiline=True).iloc[0]
    assert normalize_value.clean_text(a, multiline=True) == multiline
    assert normalize_value.normalize_name(a) == normalize.normalize_names(one(a)).iloc[0]
    assert normalize_value.fold(a) == normalize.fold(one(a)).iloc[0]
    assert normalize_value.name_key(a, b) == normalize.name_keys(one(a), one(b)).iloc[0]
    assert normalize_value.company_name_key(a) == normalize.company_name_keys(one(a)).iloc[0]
    assert normalize_value.upper(a) == one(a).str.upper().iloc[0]
    assert normalize_value.lower(a) == one(a).str.lower().iloc[0]


@EXAMPLES
@given(TEXT)
def test_emails_domains_and_phones_equal_their_column_twins(a: str) -> None:
    emails = normalize.normalize_emails(one(a)).iloc[0]
    expected = (emails["email"], emails["email_key"], emails["domain"], bool(emails["is_valid"]))
    assert normalize_value.normalize_email(a) == expected
    assert normalize_value.normalize_domain(a) == normalize.normalize_domains(one(a)).iloc[0]
    assert normalize_value.phone_key(a) == normalize.phone_keys(one(a)).iloc[0]
    phones = normalize.normalize_phones(one(a), "FR").iloc[0]
    assert normalize_value.normalize_phone(a, "FR") == (phones["phone"], bool(phones["is_valid"]))


def test_the_company_domain_is_the_websites_else_a_work_emails() -> None:
    for email_domain, website in [("acme.test", ""), ("gmail.com", ""), ("gmail.com", "a.io")]:
        expected = normalize.company_domains(one(email_domain), one(website)).iloc[0]
        assert normalize_value.company_domain(email_domain, website) == expected
    assert normalize_value.company_domain("gmail.com", "") == ""


def test_the_ascii_shortcuts_equal_the_arrow_kernels_on_every_ascii_character() -> None:
    import pyarrow.compute as pc

    from leadsieve.engine.normalize_value import _rstrip_dots, _strip, _title, lower, upper

    texts = [c for i in range(128) for c in (chr(i), f"a{chr(i)}b", f"{chr(i)}x {chr(i)}")]
    texts += ["o'neil mc-donald", "1st  place.", "...", " \x1c\x1dname\x1e\x1f ", ""]
    for text in texts:
        assert text.isascii()
        assert _strip(text) == pc.utf8_trim_whitespace(text).as_py(), repr(text)
        assert upper(text) == pc.utf8_upper(text).as_py(), repr(text)
        assert lower(text) == pc.utf8_lower(text).as_py(), repr(text)
        assert _title(text) == pc.utf8_title(text).as_py(), repr(text)
        assert _rstrip_dots(text) == pc.utf8_rtrim(text, characters=".").as_py(), repr(text)
