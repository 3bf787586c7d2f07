"""Text hygiene (domain/text.py): what text may enter names, descriptions and emails."""

from __future__ import annotations

import subprocess
import sys
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from psa_billing.domain.errors import InvalidTextError
from psa_billing.domain.text import clean_email, clean_text, first_bad_character, printable


@pytest.mark.parametrize(
    ("char", "what"),
    [
        ("\x00", "control"),
        ("\x07", "control"),
        ("\x1b", "control"),
        ("\x7f", "control"),
        ("\x85", "control"),
        ("\u202e", "bidirectional"),
        ("\u202a", "bidirectional"),
        ("\u2066", "bidirectional"),
        ("\u2069", "bidirectional"),
        ("\u200f", "bidirectional"),
        ("\u061c", "bidirectional"),
        ("\u2028", "separator"),
        ("\u2029", "separator"),
        ("\ufeff", "separator"),
        ("\ud800", "surrogate"),
        ("\uffff", "non-character"),
        ("\U0001fffe", "non-character"),
    ],
)
def test_control_bidi_and_invisible_characters_are_refused_by_code_point(
    char: str, what: str
) -> None:
    with pytest.raises(InvalidTextError) as caught:
        clean_text(f"Acme{char} Ltd", max_length=200)

    reason = str(caught.value)
    assert what in reason
    assert f"U+{ord(char):04X}" in reason
    assert "position 5" in reason


def test_single_line_text_refuses_line_breaks_and_tabs() -> None:
    for char in ("\n", "\r", "\t"):
        with pytest.raises(InvalidTextError, match="control character"):
            clean_text(f"Printer{char}offline", max_length=300)


def test_multiline_text_allows_tab_line_feed_and_crlf_but_not_a_lone_cr() -> None:
    note = "Replaced toner\n\tand drum\r\nTested OK"
    assert clean_text(note, max_length=1000, multiline=True) == note
    with pytest.raises(InvalidTextError, match="U\\+000D"):
        clean_text("overwrite\rthis", max_length=1000, multiline=True)
    with pytest.raises(InvalidTextError, match="U\\+0000"):
        clean_text("a\x00b", max_length=1000, multiline=True)


def test_text_longer_than_its_field_is_refused_with_both_lengths() -> None:
    with pytest.raises(InvalidTextError, match="5000 characters long; at most 200"):
        clean_text("x" * 5000, max_length=200)
    assert clean_text("x" * 200, max_length=200) == "x" * 200


def test_required_text_must_not_be_empty_or_only_white_space() -> None:
    for blank in ("", "   ", "\u3000"):
        with pytest.raises(InvalidTextError, match="empty"):
            clean_text(blank, max_length=200)
    assert clean_text("", max_length=200, required=False) == ""


def test_text_is_kept_exactly_as_given() -> None:
    # No trimming or normalisation: decomposed "é" stays decomposed.
    name = " Sia\u0302n Pryce Opticians Ltd · 東京 "
    assert clean_text(name, max_length=200) == name


def test_non_text_is_refused() -> None:
    with pytest.raises(InvalidTextError, match="must be text"):
        clean_text(42, max_length=200)


@pytest.mark.parametrize(
    "address",
    ["ap@acme.example", "first.last+billing@sub.acme.co.uk", "o'brien@acme.example"],
)
def test_plain_email_addresses_are_accepted_as_written(address: str) -> None:
    assert clean_email(address) == address


@pytest.mark.parametrize(
    ("address", "why"),
    [
        ("ap@acme.example\r\nBcc: victim@example.com", "control character"),
        ("ap@acme.example\n", "control character"),
        ("=?utf-8?q?ap?=@acme.example", "encoded word"),
        ("Accounts <ap@acme.example>", "not an email address"),
        ('"ap"@acme.example', "not an email address"),
        ("ap@[192.0.2.1]", "not an email address"),
        ("ap@localhost", "not an email address"),
        ("ap@", "not an email address"),
        ("@acme.example", "not an email address"),
        ("ap@@acme.example", "not an email address"),
        ("accounts", "not an email address"),
        ("zoë@acme.example", "ASCII"),
        ("ap@bücher.example", "xn--"),
        ("ap\u202e@acme.example", "bidirectional"),
        ("a" * 250 + "@acme.example", "at most 254"),
    ],
)
def test_email_addresses_that_could_forge_headers_or_bounce_are_refused(
    address: str, why: str
) -> None:
    with pytest.raises(InvalidTextError, match=why):
        clean_email(address)


def test_punycode_domains_are_accepted() -> None:
    assert clean_email("ap@xn--bcher-kva.example") == "ap@xn--bcher-kva.example"


def test_printable_escapes_what_would_spoof_an_error_message_and_cuts_it_short() -> None:
    assert printable("evil\u202etxt.exe\x00") == "evil\\u202etxt.exe\\x00"
    assert printable("x" * 100, 10) == "x" * 10 + "..."


@given(st.text(max_size=50))
def test_accepted_text_never_holds_a_refused_character(value: str) -> None:
    try:
        accepted = clean_text(value, max_length=50, required=False)
    except InvalidTextError:
        assert first_bad_character(value) is not None
        return
    assert not any(unicodedata.category(ch) in ("Cc", "Cs") for ch in accepted)
    assert not set(accepted) & set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
    assert accepted.encode("utf-8").decode("utf-8") == accepted  # storable as UTF-8


def test_loading_the_domain_does_not_import_email_validator_or_babel() -> None:
    # Every function loads adjustments and org settings; the two libraries are imported
    # on first use, so a cold start that never checks an address does not pay for them.
    code = (
        "import sys, psa_billing.domain.adjustments, psa_billing.domain.org; "
        "print(sorted(m for m in ('email_validator', 'babel') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
