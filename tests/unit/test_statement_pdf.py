"""The statement PDF, read back with pypdf: every figure on it is the view's figure,
formatted with exactly the currency's digits (billing-rules.md "Money"); a revision says
so only when an earlier one was sent, and the internal adjustment log is never printed
(billing-rules.md "Statement documents")."""

from __future__ import annotations

import io
import re
from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest
from fontTools.ttLib import TTFont
from pypdf import PdfReader

from psa_billing.domain.model import Period
from psa_billing.domain.money import Currency, format_amount
from psa_billing.render.pdf import render_statement_pdf
from psa_billing.render.view import AdjustmentView, ChangeView, LineView, OrgView, StatementView

TABLE_HEADER = "Description Quantity Unit price Amount (GBP)"
ORG = OrgView("Acme IT Ltd", ("1 High Street", "London EC1A 1AA"), "billing@acme.example")


def line(
    i: int,
    kind: str = "ticket_time",
    quantity: str = "1.5",
    unit_price: str = "90.00",
    description: str | None = None,
    currency: str = "GBP",
) -> LineView:
    q, p = Decimal(quantity), Decimal(unit_price)
    return LineView(
        id=f"l{i}",
        kind=kind,
        description=description if description is not None else f"Ticket #{1000 + i} fix",
        quantity=q,
        unit_price=p,
        amount=Currency.of(currency).round(q * p),
    )


def make_view(
    lines: tuple[LineView, ...],
    *,
    currency: str = "GBP",
    tax_percent: str = "20",
    revision: int = 0,
    adjustments: tuple[AdjustmentView, ...] = (),
    org: OrgView = ORG,
    customer_name: str = "Müller & Søn GmbH",
) -> StatementView:
    cur = Currency.of(currency)
    subtotal = sum((ln.amount for ln in lines), Decimal(0))
    tax = cur.round(subtotal * Decimal(tax_percent) / 100)
    return StatementView(
        statement_id="st-1",
        number="S-2026-10-0001",
        org=org,
        customer_id="c-1",
        customer_name=customer_name,
        billing_email="ap@customer.example",
        period=Period(2026, 10),
        issue_date=date(2026, 11, 1),
        currency=currency,
        lines=lines,
        subtotal=subtotal,
        tax_percent=Decimal(tax_percent),
        tax=tax,
        total=subtotal + tax,
        revision=revision,
        adjustments=adjustments,
    )


def pages_text(pdf: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages]


def flat(text: str) -> str:
    return " ".join(text.replace("\xa0", " ").split())


def money(view: StatementView, amount: Decimal) -> str:
    return format_amount(amount, Currency.of(view.currency))


def test_one_line_statement_prints_exactly_the_views_figures() -> None:
    view = make_view((line(1),))
    pdf = render_statement_pdf(view)

    assert pdf.startswith(b"%PDF-")
    (text,) = pages_text(pdf)
    expected = {"1.50", "90.00", "135.00", "27.00", "162.00"}  # qty, unit, amount, tax, total
    assert set(re.findall(r"-?\d+\.\d+", text)) == expected
    flat_text = flat(text)
    assert "Subtotal 135.00" in flat_text
    assert "Tax (20%) 27.00" in flat_text
    assert "Total GBP 162.00" in flat_text
    assert "Amount due GBP 162.00" in flat_text
    for header_bit in ("Acme IT Ltd", "1 High Street", "Statement", "S-2026-10-0001"):
        assert header_bit in text
    assert "Period October 2026" in flat_text
    assert "Issue date 1 November 2026" in flat_text
    assert "Currency GBP" in flat_text
    assert "BILL TO" in text and "ap@customer.example" in text
    assert TABLE_HEADER in flat_text
    assert "Page 1 of 1" in text


def test_jpy_amounts_have_no_decimal_places() -> None:
    view = make_view(
        (line(1, "devices", "12", "100", "Managed devices", "JPY"),),
        currency="JPY",
        tax_percent="10",
    )
    text = flat(pages_text(render_statement_pdf(view))[0])

    assert "1,200" in text and "Tax (10%) 120" in text and "Total JPY 1,320" in text
    assert re.search(r"\d\.\d", text) is None  # no decimal point anywhere


def test_bhd_amounts_have_three_decimal_places() -> None:
    view = make_view(
        (line(1, "project_time", "2.5", "4.938", "Project MIG-7", "BHD"),),
        currency="BHD",
        tax_percent="10",
    )
    text = flat(pages_text(render_statement_pdf(view))[0])

    assert view.lines[0].amount == Decimal("12.345")
    assert {"2.50", "4.938", "12.345", "1.235", "13.580"} == set(re.findall(r"\d+\.\d+", text))
    assert "Total BHD 13.580" in text


def test_tax_percent_is_printed_without_trailing_zeros() -> None:
    seven_and_a_half = make_view((line(1),), tax_percent="7.5000")
    twenty = make_view((line(1),), tax_percent="20.0000")

    assert "Tax (7.5%)" in pages_text(render_statement_pdf(seven_and_a_half))[0]
    assert "Tax (20%)" in pages_text(render_statement_pdf(twenty))[0]


def test_every_line_kind_prints_its_quantity_and_amount() -> None:
    lines = (
        line(1, "devices", "42", "4.50", "Managed devices (RMM)"),
        line(2, "ticket_time", "1.25", "95.00", "Ticket #1002 Printer offline"),
        line(3, "included_hours", "3", "0", "Support contract: 3.00 of 10.00 hours used"),
        line(4, "project_time", "7.333333", "80.00", "Project MIG-1 Migration"),
        line(5, "credit", "1", "-50.00", "Goodwill credit"),
    )
    view = make_view(lines)
    rows = flat(pages_text(render_statement_pdf(view))[0])

    assert "Managed devices (RMM) 42 4.50 189.00" in rows
    assert "Ticket #1002 Printer offline 1.25 95.00/h 118.75" in rows
    assert "3.00 of 10.00 hours used 3.00 0.00" in rows  # included hours, amount 0
    assert "Project MIG-1 Migration 7.33 80.00/h 586.67" in rows
    assert "Goodwill credit 1 -50.00 -50.00" in rows
    assert f"Subtotal {money(view, view.subtotal)}" in rows


def test_600_lines_span_pages_with_the_table_header_and_page_numbers_on_each() -> None:
    lines = tuple(line(i, unit_price=f"{90 + i % 7}.{i % 100:02d}") for i in range(600))
    view = make_view(lines)
    pages = pages_text(render_statement_pdf(view))
    n = len(pages)

    assert n >= 12
    for number, text in enumerate(pages, start=1):
        assert f"Page {number} of {n}" in text
        if "Ticket #" in text:
            assert TABLE_HEADER in flat(text), f"no table header on page {number}"
    everything = flat("\n".join(pages))
    for ln in lines:
        qty, unit, amount = "1.50", money(view, ln.unit_price), money(view, ln.amount)
        assert f"{ln.description} {qty} {unit}/h {amount}" in everything
    assert f"Total GBP {view.fmt.money(view.total)}" in flat(pages[-1])


def test_an_adjusted_statement_sent_for_the_first_time_prints_no_revision_or_log() -> None:
    adjustments = (
        AdjustmentView(
            1, "2026-11-03T10:15:00Z", "alice@acme.example", "Disputed", "l1: 2 → 1.5 h"
        ),
    )
    view = make_view((replace(line(1), edited=True), line(2)), revision=2, adjustments=adjustments)
    text = flat(" ".join(pages_text(render_statement_pdf(view))))

    for internal in ("Revis", "Updated", "Adjustments", "alice@", "Disputed", "(edited)", "l1:"):
        assert internal not in text


def test_a_revision_after_a_send_says_what_it_replaces_and_what_changed() -> None:
    was, now = line(1, quantity="2"), line(1)
    credit = line(9, "credit", "1", "-20.00", "Goodwill credit for the outage")
    view = replace(
        make_view((now, line(2), credit), revision=1),
        previous_sent_on=date(2026, 11, 2),
        previous_total=Decimal("360.00"),
        changes=(
            ChangeView("changed", now.description, was=was, now=now),
            ChangeView("credit", credit.description, amount=credit.amount),
        ),
    )
    text = flat(" ".join(pages_text(render_statement_pdf(view))))

    assert (
        "Revised statement — replaces the one sent on 2 November 2026 (total GBP 360.00); "
        f"this revision's total GBP {view.fmt.money(view.total)}." in text
    )
    assert "What changed since the statement sent on 2 November 2026" in text
    assert "Changed: Ticket #1001 fix — was 2.00 × 90.00/h = GBP 180.00, now 1.50 × 90.00/h" in text
    assert "GBP -45.00" in text  # the change's effect, beside it
    assert "Credit: Goodwill credit for the outage GBP -20.00" in text


def test_unicode_names_and_currency_signs_extract_as_written() -> None:
    org = OrgView("Müller & Søn", ("Strøget 1", "København"), "faktura@muller.example")
    view = make_view(
        (line(1, description="Licence fee £ € ¥ د.ب — Zürich"),),
        org=org,
        customer_name="Ærø Ølhus ApS",
    )
    text = pages_text(render_statement_pdf(view))[0]

    assert "Müller & Søn" in text
    assert "Ærø Ølhus ApS" in text and "København" in text
    assert "£ € ¥" in text and "Zürich" in text


def test_characters_no_font_has_do_not_raise() -> None:
    view = make_view((line(1, description="Emoji \U0001f9fe"),), customer_name="Corp \U0001fae0")
    pdf = render_statement_pdf(view)

    text = pages_text(pdf)[0]
    # Drawn as .notdef boxes (missing_glyphs holds such a statement), still mapped to text.
    assert "Corp \U0001fae0" in text


def test_long_descriptions_wrap_and_keep_every_word() -> None:
    words = [f"word{i}" for i in range(400)]  # several lines, more than a page at the end
    token = "x" * 150  # one "word" wider than the column
    lines = (
        line(1, description=" ".join(words[:60])),
        line(2, description=f"see {token} end"),
        line(3, description=" ".join(words)),
        *(line(i, description=" ".join(words * 5)) for i in (4,)),  # taller than a page
    )
    view = make_view(lines)
    pages = pages_text(render_statement_pdf(view))
    text = " ".join(pages)

    assert set(words) <= set(text.split())
    assert token in "".join(text.split())
    assert max(len(row) for page in pages for row in page.splitlines()) < 120


def test_control_characters_in_text_do_not_break_the_layout() -> None:
    view = make_view(
        (line(1, description="first\r\nsecond\tthird\x00"),),
        customer_name="Evil\r\nCorp",
    )
    text = flat(pages_text(render_statement_pdf(view))[0])
    assert "first second third" in text and "Evil Corp" in text


def test_same_view_renders_the_same_bytes() -> None:
    view = make_view((line(1), line(2)))
    assert render_statement_pdf(view) == render_statement_pdf(view)


def test_document_metadata() -> None:
    reader = PdfReader(io.BytesIO(render_statement_pdf(make_view((line(1),)))))
    meta = reader.metadata
    assert meta is not None
    assert meta.title == "Statement S-2026-10-0001 — October 2026"
    assert meta.author == "Acme IT Ltd"
    assert meta.creation_date is not None
    assert meta.creation_date.date() == date(2026, 11, 1)
    assert reader.pages[0].mediabox.width == pytest.approx(595.28, abs=0.1)  # A4


def test_embedded_fonts_are_valid_truetype_subsets() -> None:
    reader = PdfReader(io.BytesIO(render_statement_pdf(make_view((line(1),)))))
    fonts = reader.pages[0]["/Resources"]["/Font"]
    assert len(fonts) == 2
    for ref in fonts.values():
        font = ref.get_object()
        assert re.fullmatch(r"/[A-Z]{6}\+DejaVuSans(-Bold)?", font["/BaseFont"])
        descendant = font["/DescendantFonts"][0].get_object()
        program = descendant["/FontDescriptor"].get_object()["/FontFile2"].get_object()
        tt = TTFont(io.BytesIO(program.get_data()), checkChecksums=2)  # raises on a bad sum
        glyf = tt["glyf"]
        assert 10 < tt["maxp"].numGlyphs < 200  # a subset, not the 6000-glyph font
        for name in tt.getGlyphOrder():
            glyph = glyf[name]
            for component in getattr(glyph, "components", []):
                assert component.glyphName in glyf  # composite parts survive renumbering
            glyph.recalcBounds(glyf)
