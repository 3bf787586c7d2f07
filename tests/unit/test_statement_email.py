"""The statement email (billing-rules.md "Delivery"): subject, bodies, the PDF attached,
and no way for customer- or MSP-supplied text to inject a header."""

from __future__ import annotations

import email
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal
from email import policy
from email.message import EmailMessage

import pytest

from psa_billing.domain.errors import BillingError
from psa_billing.domain.model import Period
from psa_billing.render.email import UnsafeHeaderError, build_statement_email
from psa_billing.render.view import LineView, OrgView, StatementView

PDF = b"%PDF-1.4\n% fake statement bytes \x00\xff\n%%EOF\n"
SENDER = "statements@acme.example"
HEADERS = {
    "From",
    "To",
    "Reply-To",
    "Subject",
    "Date",
    "Message-ID",
    "MIME-Version",
    "Content-Type",
}


def make_view(**changes: object) -> StatementView:
    lines = (
        LineView(
            "l1", "devices", "Managed devices", Decimal(42), Decimal("4.50"), Decimal("189.00")
        ),
        LineView(
            "l2",
            "ticket_time",
            "Ticket #7 <b>VPN</b>",
            Decimal("1.5"),
            Decimal("90.00"),
            Decimal("135.00"),
            minutes=90,
        ),
    )
    view = StatementView(
        statement_id="st-1",
        number="S-2026-10-0001",
        org=OrgView("Acme IT Ltd", ("1 High Street", "London"), "help@acme.example"),
        customer_id="c-1",
        customer_name="Müller & Søn GmbH",
        billing_email="ap@customer.example",
        period=Period(2026, 10),
        issue_date=date(2026, 11, 1),
        currency="GBP",
        lines=lines,
        subtotal=Decimal("324.00"),
        tax_percent=Decimal("20"),
        tax=Decimal("64.80"),
        total=Decimal("388.80"),
        due_date=date(2026, 11, 15),
    )
    return replace(view, **changes)  # type: ignore[arg-type]


def build(view: StatementView, **kwargs: object) -> bytes:
    args: dict[str, object] = {"sender": SENDER, "pdf": PDF, "pdf_filename": "S-2026-10-0001.pdf"}
    args.update(kwargs)
    return build_statement_email(view, **args)  # type: ignore[arg-type]


def parse(raw: bytes) -> EmailMessage:
    msg = email.message_from_bytes(raw, policy=policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


def body(msg: EmailMessage, subtype: str) -> str:
    part = msg.get_body(preferencelist=(subtype,))
    assert part is not None
    content = part.get_content()
    assert isinstance(content, str)
    return content


def test_subject_names_the_number_the_period_and_the_msp() -> None:
    assert parse(build(make_view()))["Subject"] == (
        "Statement S-2026-10-0001 for October 2026 from Acme IT Ltd"
    )


def test_first_send_of_an_adjusted_statement_does_not_say_revised() -> None:
    msg = parse(build(make_view(revision=2)))
    assert msg["Subject"].startswith("Statement ")
    assert "Revised" not in body(msg, "plain") and "Updated" not in body(msg, "plain")


def test_a_revision_after_an_earlier_send_says_what_it_replaces() -> None:
    view = make_view(
        revision=1, previous_sent_on=date(2026, 11, 2), previous_total=Decimal("400.80")
    )
    msg = parse(build(view))
    assert msg["Subject"] == "Revised statement S-2026-10-0001 for October 2026 from Acme IT Ltd"
    text = body(msg, "plain")
    assert (
        "Revised statement — replaces the one sent on 2 November 2026 (total GBP\xa0400.80); "
        "this revision's total GBP\xa0388.80." in text
    )
    assert "Revised statement — replaces" in body(msg, "html")


def test_addresses_and_display_names() -> None:
    msg = parse(build(make_view()))
    (sender,) = msg["From"].addresses
    (to,) = msg["To"].addresses
    assert (sender.display_name, sender.addr_spec) == ("Acme IT Ltd", SENDER)
    assert (to.display_name, to.addr_spec) == ("Müller & Søn GmbH", "ap@customer.example")
    assert msg["Reply-To"].addresses[0].addr_spec == "help@acme.example"
    assert msg["Message-ID"].startswith("<") and msg["Message-ID"].endswith("@acme.example>")
    assert msg["Date"] == "Sun, 01 Nov 2026 00:00:00 +0000"


def test_names_with_commas_and_quotes_stay_one_address() -> None:
    view = make_view(customer_name='Smith, "Jones" & Co', org=OrgView('Acme, "IT"', (), ""))
    msg = parse(build(view))
    (to,) = msg["To"].addresses
    (sender,) = msg["From"].addresses
    assert to.display_name == 'Smith, "Jones" & Co'
    assert sender.display_name == 'Acme, "IT"'


def test_multipart_alternative_with_the_pdf_attached() -> None:
    raw = build(make_view(), pdf_filename="S-2026-10-0001.pdf")
    msg = parse(raw)

    assert msg.get_content_type() == "multipart/mixed"
    parts = list(msg.iter_parts())
    assert [p.get_content_type() for p in parts] == ["multipart/alternative", "application/pdf"]
    assert [p.get_content_type() for p in parts[0].iter_parts()] == ["text/plain", "text/html"]
    (attachment,) = list(msg.iter_attachments())
    assert attachment.get_filename() == "S-2026-10-0001.pdf"
    assert attachment.get_content() == PDF
    assert b"\r\n" in raw and b"\n" not in raw.replace(b"\r\n", b"")  # SMTP line ends


def test_text_part_summarises_the_statement() -> None:
    text = body(parse(build(make_view())), "plain")
    assert "Amount due:   GBP\xa0388.80" in text
    assert "Due date:     15 November 2026" in text
    assert "October 2026" in text
    assert "Line items:   2" in text
    assert "Ticket #7 <b>VPN</b> (1 h 30 min): GBP\xa0135.00" in text
    assert "is attached (S-2026-10-0001.pdf)" in text
    assert "help@acme.example" in text


def test_html_escapes_customer_supplied_text() -> None:
    view = make_view(
        customer_name="<script>alert(1)</script>",
        org=OrgView("Acme & <i>Sons</i>", ("<img src=x>",), ""),
    )
    html = body(parse(build(view)), "html")

    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "Acme &amp; &lt;i&gt;Sons&lt;/i&gt;" in html
    assert "<img" not in html
    assert "Ticket #7 &lt;b&gt;VPN&lt;/b&gt;" in html  # line descriptions too
    assert "GBP\xa0388.80" in html


@pytest.mark.parametrize("field", ["customer_name", "org"])
def test_line_breaks_in_names_do_not_create_headers(field: str) -> None:
    evil = "Evil\r\nBcc: victim@example.com\r\n\r\nbody"
    view = make_view(org=OrgView(evil, (), "")) if field == "org" else make_view(customer_name=evil)
    raw = build(view)
    msg = parse(raw)

    assert set(msg.keys()) <= HEADERS
    assert msg["Bcc"] is None
    assert b"\r\nBcc:" not in raw
    header = msg["From"] if field == "org" else msg["To"]
    assert header.addresses[0].display_name == "Evil Bcc: victim@example.com body"


@pytest.mark.parametrize(
    "billing_email",
    [
        "ap@customer.example\r\nBcc: victim@example.com",
        "ap@customer.example\n",
        "ap@customer.example\x00",
        "ap@customer.example, victim@example.com",
        "ap@customer.example; victim@example.com",
        "Victim <victim@example.com>",
        "ap(comment)@customer.example",
        "not-an-address",
        "",
    ],
)
def test_unsafe_or_multiple_billing_addresses_are_refused(billing_email: str) -> None:
    with pytest.raises(UnsafeHeaderError):
        build(make_view(billing_email=billing_email))


def test_unsafe_sender_is_refused() -> None:
    with pytest.raises(UnsafeHeaderError):
        build(make_view(), sender="statements@acme.example\r\nBcc: x@example.com")
    assert issubclass(UnsafeHeaderError, BillingError)


def test_attachment_filename_cannot_carry_a_path_or_line_break() -> None:
    msg = parse(build(make_view(), pdf_filename="../../etc/Stätement\r\n.pdf"))
    (attachment,) = list(msg.iter_attachments())
    assert attachment.get_filename() == "Stätement .pdf"


def test_output_is_deterministic_and_date_can_be_given() -> None:
    view = make_view()
    assert build(view) == build(view)
    sent = datetime(2026, 11, 2, 8, 30, tzinfo=UTC)
    later = parse(build(view, sent_at=sent))
    assert later["Date"] == "Mon, 02 Nov 2026 08:30:00 +0000"
    assert later["Message-ID"] != parse(build(view))["Message-ID"]


def test_message_id_can_be_given_but_not_injected() -> None:
    assert parse(build(make_view(), message_id="<abc@acme.example>"))["Message-ID"] == (
        "<abc@acme.example>"
    )
    with pytest.raises(UnsafeHeaderError):
        build(make_view(), message_id="<abc@acme.example>\r\nBcc: x@example.com")


def test_figures_follow_the_views_locale_like_the_pdf() -> None:
    view = make_view(locale="de-DE", total=Decimal("1388.80"), due_date=date(2026, 12, 1))
    text = body(parse(build(view)), "plain")
    assert "Amount due:   GBP\xa01.388,80" in text or "Amount due:   1.388,80\xa0GBP" in text
    assert "Due date:     1. Dezember 2026" in text


def test_how_to_pay_and_the_msps_details_are_in_both_bodies() -> None:
    org = OrgView(
        "Acme IT Ltd",
        ("1 High Street",),
        "help@acme.example",
        legal_name="Acme IT Services Limited",
        tax_number="GB123456789",
        tax_label="VAT",
        payment_instructions="Sort code 12-34-56\nAccount 12345678",
        payment_link="https://pay.acme.example/S-1",
        footer_note="Registered in England no. 0123",
    )
    msg = parse(build(make_view(org=org)))
    for part in ("plain", "html"):
        content = body(msg, part)
        for bit in (
            "Sort code 12-34-56",
            "Account 12345678",
            "https://pay.acme.example/S-1",
            "Please quote S-2026-10-0001",
            "VAT registration GB123456789",
            "Acme IT Services Limited",
            "Registered in England no. 0123",
        ):
            assert bit in content, (part, bit)


def test_attachment_is_named_after_the_statement_number_by_default() -> None:
    msg = parse(build(make_view(number="KW-2026-000123"), pdf_filename=""))
    (attachment,) = list(msg.iter_attachments())
    assert attachment.get_filename() == "KW-2026-000123.pdf"


def test_void_notice_says_nothing_is_due() -> None:
    from psa_billing.render.email import build_void_notice_email

    view = make_view(
        void_on=date(2026, 11, 9),
        previous_sent_on=date(2026, 11, 2),
        previous_total=Decimal("388.80"),
    )
    msg = parse(build_void_notice_email(view, sender=SENDER))
    assert msg["Subject"] == "Void: statement S-2026-10-0001 from Acme IT Ltd — nothing to pay"
    text = body(msg, "plain")
    assert "is void since 9 November 2026" in text
    assert "with a total of GBP\xa0388.80" in text
    assert "Nothing is due on it: GBP\xa00.00" in text
    assert list(msg.iter_attachments()) == []
    with pytest.raises(ValueError, match="not void"):
        build_void_notice_email(make_view(), sender=SENDER)
