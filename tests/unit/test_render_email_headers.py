"""Email headers are safe by construction (issue "Nothing lost, nothing poisoned", item 4):
whatever a customer or an MSP typed as a name or a subject, the finished message has
exactly the intended From, To and Reply-To addresses and no other recipient."""

from __future__ import annotations

import email
from dataclasses import replace
from datetime import date
from email import policy
from email.message import EmailMessage

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from psa_billing.domain.errors import BillingError, UnsafeHeaderError
from psa_billing.render.email import build_statement_email, build_void_notice_email, one_line
from psa_billing.render.view import OrgView, StatementView
from tests.unit.test_statement_email import PDF, SENDER, make_view

ENCODED_COMMA = "=?utf-8?b?YWNjb3VudHNAYXR0YWNrZXIuZXhhbXBsZSw=?="  # "accounts@attacker.example,"
ATTACKS = [
    ENCODED_COMMA,
    f'"{ENCODED_COMMA}"',
    f"A very long customer name that the stdlib would fold {ENCODED_COMMA} " * 3,
    "Evil\r\n=?utf-8?q?x?= <evil@attacker.example>,\r\n group: a@b.example;",
    "Acme: evil@attacker.example, other@attacker.example;",
    "Acme <evil@attacker.example>",
    '"Quoted, Name" <evil@attacker.example>',
    "=?utf-8?q?=0D=0ABcc:_victim@example.com?=",
    "\x00\x1b[31m\u2028\u2029\u0085",
    "日本語の長い会社名株式会社ケストレル" * 6,
    "",
]


def reads_as(display_name: str, name: str) -> bool:
    """The name as written (the stdlib may add a space where an encoded word was folded)."""
    return display_name.replace(" ", "") == one_line(name).replace(" ", "")


def parse(raw: bytes) -> EmailMessage:
    msg = email.message_from_bytes(raw, policy=policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


def addresses(msg: EmailMessage, field: str) -> list[str]:
    return [a.addr_spec for h in msg.get_all(field) or [] for a in h.addresses]


def assert_exact_recipients(raw: bytes, view: StatementView) -> EmailMessage:
    msg = parse(raw)
    assert addresses(msg, "From") == [SENDER]
    assert addresses(msg, "To") == [view.billing_email]
    assert addresses(msg, "Reply-To") == ([view.org.email] if view.org.email else [])
    for field in ("Cc", "Bcc", "Sender"):
        assert msg.get_all(field) is None
    for field in ("From", "To"):
        (header,) = msg.get_all(field) or []
        assert len(header.groups) == 1 and header.groups[0].display_name is None
    return msg


@pytest.mark.parametrize("name", ATTACKS)
def test_customer_name_never_adds_a_recipient(name: str) -> None:
    view = make_view(customer_name=name)
    msg = assert_exact_recipients(build_statement_email(view, **ARGS), view)
    (to,) = msg["To"].addresses
    assert reads_as(to.display_name, name)  # read back as written, nothing parsed


@pytest.mark.parametrize("name", ATTACKS)
def test_organisation_name_never_turns_from_or_reply_to_into_a_group(name: str) -> None:
    view = make_view(org=OrgView(name, (), "help@acme.example"))
    msg = assert_exact_recipients(build_statement_email(view, **ARGS), view)
    assert reads_as(msg["From"].addresses[0].display_name, name)
    assert reads_as(msg["Reply-To"].addresses[0].display_name, name)


def test_the_encoded_comma_attack_of_the_issue_reads_back_as_a_name() -> None:
    raw = build_statement_email(make_view(customer_name=ENCODED_COMMA), **ARGS)
    to_line = next(ln for ln in raw.split(b"\r\n\r\n")[0].split(b"\r\n") if ln.startswith(b"To:"))
    assert b"attacker" not in to_line  # the name is only ever encoded
    assert reads_as(parse(raw)["To"].addresses[0].display_name, ENCODED_COMMA)


def test_unsafe_header_error_is_a_billing_error() -> None:
    assert issubclass(UnsafeHeaderError, BillingError)


ARGS: dict[str, object] = {"sender": SENDER, "pdf": PDF, "pdf_filename": "S-1.pdf"}
names = st.text(max_size=200) | st.sampled_from(ATTACKS)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(customer=names, org=names, number=names)
def test_any_names_and_subjects_give_exactly_the_intended_addresses(
    customer: str, org: str, number: str
) -> None:
    view = make_view(
        customer_name=customer, org=OrgView(org, ("1 High St",), "help@acme.example"), number=number
    )
    msg = assert_exact_recipients(build_statement_email(view, **ARGS), view)
    assert reads_as(msg["To"].addresses[0].display_name, customer)
    assert str(msg["Subject"]) == one_line(
        f"Statement {number} for October 2026 from {one_line(org)}"
    )


@settings(max_examples=60, deadline=None)
@given(customer=names, org=names)
def test_void_notices_are_built_the_same_safe_way(customer: str, org: str) -> None:
    view = make_view(
        customer_name=customer, org=OrgView(org, (), "help@acme.example"), void_on=date(2026, 11, 9)
    )
    assert_exact_recipients(build_void_notice_email(view, sender=SENDER), view)


def test_every_header_line_is_ascii_and_short() -> None:
    view = replace(make_view(), customer_name="Ünïcödé " * 40, org=OrgView("Ørg " * 40, (), ""))
    raw = build_statement_email(view, **ARGS)
    head = raw.split(b"\r\n\r\n")[0]
    assert head.isascii()
    assert max(len(line) for line in head.split(b"\r\n")) <= 78
