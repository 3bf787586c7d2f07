"""billing-rules.md "Adjustments": never delete, always append."""

from __future__ import annotations

from decimal import Decimal

import pytest

from psa_billing.domain.adjustments import (
    AdjustmentKind,
    InvalidAdjustmentError,
    credit_note,
    edit_line,
    effective,
)
from psa_billing.domain.model import Line, LineKind
from psa_billing.domain.money import Currency

GBP = Currency.of("GBP")
JPY = Currency.of("JPY")
TAX = Decimal(20)
AT = "2026-11-03T10:00:00+00:00"

LINES = (
    Line(
        "L1",
        LineKind.DEVICES,
        "Managed devices (10)",
        Decimal(10),
        Decimal("12.50"),
        Decimal("125.00"),
    ),
    # 50 minutes at 90/h = 75.00
    Line(
        "L2",
        LineKind.TICKET_TIME,
        "Ticket #1: Printer",
        Decimal("0.83"),
        Decimal(90),
        Decimal("75.00"),
        minutes=Decimal(50),
        ref="t1",
    ),
)


def _edit(adjustments=(), **kw):
    kw.setdefault("line_id", "L1")
    return edit_line(
        LINES, adjustments, GBP, tax_percent=TAX, at=AT, actor="ann", reason="agreed discount", **kw
    )


def _credit(adjustments=(), amount="10.00", lines=LINES, currency=GBP):
    return credit_note(
        lines,
        adjustments,
        currency,
        TAX,
        amount=amount,
        description="Goodwill",
        at=AT,
        actor="ann",
        reason="outage in week 2",
    )


def test_edit_recomputes_the_line_amount_and_the_totals() -> None:
    adj = _edit(quantity="8")
    now = effective(LINES, (adj,), TAX, GBP)
    # 8 x 12.50 = 100.00; subtotal 100.00 + 75.00 = 175.00; tax 35.00; total 210.00
    assert now.lines[0].amount == Decimal("100.00")
    assert (now.subtotal, now.tax, now.total) == (
        Decimal("175.00"),
        Decimal("35.00"),
        Decimal("210.00"),
    )


def test_original_lines_are_never_changed_by_an_edit() -> None:
    adj = _edit(description="Devices (agreed)", unit_price="10.00")
    effective(LINES, (adj,), TAX, GBP)
    assert LINES[0].description == "Managed devices (10)"
    assert LINES[0].amount == Decimal("125.00")


def test_new_unit_price_on_time_keeps_the_exact_minutes() -> None:
    adj = _edit(line_id="L2", unit_price="100.00")
    now = effective(LINES, (adj,), TAX, GBP)
    # 50 min x 100 / 60 = 83.333... -> 83.33 (not 0.83 h x 100 = 83.00)
    assert now.lines[1].amount == Decimal("83.33")


def test_latest_edit_of_a_line_wins() -> None:
    first = _edit(quantity="8")
    second = _edit((first,), quantity="9")
    now = effective(LINES, (first, second), TAX, GBP)
    assert second.number == 2
    assert now.lines[0].amount == Decimal("112.50")


def test_credit_note_is_a_negative_line_and_lowers_the_tax() -> None:
    adj = _credit(amount="20.00")
    now = effective(LINES, (adj,), TAX, GBP)
    assert adj.kind is AdjustmentKind.CREDIT and adj.line_id == "C1"
    assert now.lines[-1].kind is LineKind.CREDIT and now.lines[-1].amount == Decimal("-20.00")
    # 200.00 - 20.00 = 180.00; tax 36.00; total 216.00
    assert (now.subtotal, now.tax, now.total) == (
        Decimal("180.00"),
        Decimal("36.00"),
        Decimal("216.00"),
    )


def test_each_adjustment_raises_the_revision_by_one() -> None:
    a1 = _edit(quantity="9")
    a2 = _credit((a1,))
    a3 = _edit((a1, a2), line_id="L2", description="Printer fixed")
    assert [a.number for a in (a1, a2, a3)] == [1, 2, 3]


def test_tax_is_recomputed_with_half_up_rounding() -> None:
    adj = _credit(amount="0.03")
    now = effective(LINES, (adj,), TAX, GBP)
    # 199.97 x 20% = 39.994 -> 39.99
    assert now.tax == Decimal("39.99")


def test_edit_of_an_unknown_line_is_refused() -> None:
    with pytest.raises(InvalidAdjustmentError, match="no line 'L9'"):
        _edit(line_id="L9", quantity="1")


def test_negative_quantity_is_refused() -> None:
    with pytest.raises(InvalidAdjustmentError, match="negative"):
        _edit(quantity="-1")


def test_unit_price_with_more_digits_than_the_currency_is_refused() -> None:
    with pytest.raises(InvalidAdjustmentError, match="more decimal places than GBP"):
        _edit(unit_price="12.505")


def test_credit_with_more_digits_than_the_currency_is_refused() -> None:
    jpy_lines = (Line("L1", LineKind.DEVICES, "Devices", Decimal(2), Decimal(1200), Decimal(2400)),)
    with pytest.raises(InvalidAdjustmentError, match="more decimal places than JPY"):
        _credit(amount="100.5", lines=jpy_lines, currency=JPY)


def test_edit_of_a_credit_line_is_refused() -> None:
    credit = _credit()
    with pytest.raises(InvalidAdjustmentError, match="credit note"):
        _edit((credit,), line_id="C1", description="x")


def test_credit_larger_than_the_subtotal_is_refused() -> None:
    with pytest.raises(
        InvalidAdjustmentError, match=r"larger than the statement's subtotal of 200\.00"
    ):
        _credit(amount="200.01")


def test_credit_equal_to_the_subtotal_brings_the_statement_to_zero() -> None:
    now = effective(LINES, (_credit(amount="200.00"),), TAX, GBP)
    assert (now.subtotal, now.tax, now.total) == (Decimal("0.00"), Decimal("0.00"), Decimal("0.00"))


def test_device_quantity_must_be_whole() -> None:
    with pytest.raises(InvalidAdjustmentError, match="whole number"):
        _edit(quantity="7.5")


def test_an_adjustment_needs_a_reason_and_a_change() -> None:
    with pytest.raises(InvalidAdjustmentError, match="reason"):
        edit_line(
            LINES,
            (),
            GBP,
            tax_percent=TAX,
            line_id="L1",
            at=AT,
            actor="ann",
            reason="  ",
            quantity="1",
        )
    with pytest.raises(InvalidAdjustmentError, match="must change"):
        _edit()
