from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd

from leadsieve.engine import normalize


def series(*values: object) -> pd.Series:
    return pd.Series(list(values), dtype=object)


def test_it_flags_invalid_emails_and_keeps_blanks_valid() -> None:
    result = normalize.normalize_emails(
        series("bad@", "no-at-sign", "a b@c.test", "x@-bad-.test", None, np.nan, "")
    )
    assert result["is_valid"].tolist() == [False, False, False, False, True, True, True]
    assert result["email_key"].tolist() == [""] * 7


def test_it_trims_emails_and_lower_cases_the_domain_and_key() -> None:
    result = normalize.normalize_emails(series("  Ada.Lovelace@Example.COM "))
    assert result.loc[0, "email"] == "Ada.Lovelace@example.com"
    assert result.loc[0, "email_key"] == "ada.lovelace@example.com"
    assert result.loc[0, "domain"] == "example.com"


def test_it_rejects_garbage_and_impossible_phone_numbers() -> None:
    result = normalize.normalize_phones(series("call me", "12", "+999 123", "555"), "US")
    assert result["is_valid"].tolist() == [False, False, False, False]
    assert result["phone"].tolist() == ["", "", "", ""]


def test_it_formats_national_and_international_phones_as_e164() -> None:
    result = normalize.normalize_phones(
        series("(415) 555-0100", "415.555.0100", "+1 415 555 0100", "+33 1 42 68 53 00", None),
        "US",
    )
    assert result["phone"].tolist() == ["+14155550100"] * 3 + ["+33142685300", ""]
    assert result["is_valid"].all()


def test_it_reads_national_numbers_in_the_default_region() -> None:
    result = normalize.normalize_phones(series("01 42 68 53 00"), "FR")
    assert result.loc[0, "phone"] == "+33142685300"


def test_it_parses_phones_in_a_process_pool_the_same_way() -> None:
    values = series(*[f"+1 415 555 {i:04d}" for i in range(200)], "garbage")
    pooled = normalize._parse_in_pool(values.tolist(), "US", 2)
    assert pooled == normalize.parse_phones(values.tolist(), "US")


def test_it_capitalises_shouted_and_lower_case_names_only() -> None:
    names = normalize.normalize_names(
        series("  JOHN   SMITH ", "o'neil", "McDonald", "van der Berg", None)
    )
    assert names.tolist() == ["John Smith", "O'Neil", "McDonald", "van der Berg", ""]


def test_name_keys_fold_accents_case_and_spaces() -> None:
    keys = normalize.name_keys(series("Élodie ", "", "ANNA"), series("DUPONT", "", None))
    assert keys.tolist() == ["elodie dupont", "", "anna"]


def test_it_reduces_websites_to_host_names_and_drops_non_hosts() -> None:
    domains = normalize.normalize_domains(
        series(
            "https://WWW.Acme.com/path?q=1",
            "acme.co.uk",
            "http://u:p@foo.io:8080",
            "localhost",
            "<script>",
            None,
        )
    )
    assert domains.tolist() == ["acme.com", "acme.co.uk", "foo.io", "", "", ""]


def test_free_mail_domains_are_not_company_domains() -> None:
    result = normalize.company_domains(
        series("gmail.com", "acme.test", "acme.test"), series("", "", "other.test")
    )
    assert result.tolist() == ["", "acme.test", "other.test"]
    assert normalize.is_free_mail(series("gmail.com", "acme.test")).tolist() == [True, False]


def test_company_name_keys_ignore_legal_forms_and_punctuation() -> None:
    keys = normalize.company_name_keys(series("ACME, Inc.", "Acme", "Société Générale S.A."))
    assert keys.tolist() == ["acme", "acme", "societe generale s a"]


def test_clean_text_strips_control_characters_but_keeps_markup() -> None:
    cleaned = normalize.clean_text(series("<b>x</b>\x00\x07 y\nz"))
    assert cleaned.tolist() == ["<b>x</b> y z"]
    assert normalize.clean_text(series("a\nb\x1b"), multiline=True).tolist() == ["a\nb"]


def test_the_module_does_not_import_django() -> None:
    code = "import sys, leadsieve.engine.normalize; print('django' in sys.modules)"
    output = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert output.stdout.strip() == "False"


def test_normalize_phones_parses_only_what_it_is_not_given() -> None:
    # A deliberately wrong entry proves the given lookup is used, not re-parsed.
    result = normalize.normalize_phones(
        series("415 555 0100", "+33 1 42 68 53 00"), "US", parsed={"4155550100": "+1999"}
    )
    assert result["phone"].tolist() == ["+1999", "+33142685300"]


def test_spaces_and_line_breaks_match_python_whitespace_on_the_fast_engine() -> None:
    # The patterns are written for pyarrow's RE2; they must mean what Python's \s means.
    characters = [chr(c) for c in range(1, 0x3100)]
    text = pd.Series([f"a{c}b" for c in characters], dtype="str")
    spaced = text.str.contains(normalize.SPACES, regex=True).tolist()
    assert spaced == [c.isspace() for c in characters]
    breaks = text.str.contains(normalize.LINE_BREAKS, regex=True).tolist()
    assert breaks == [c in "\t\r\n\u2028\u2029" for c in characters]
