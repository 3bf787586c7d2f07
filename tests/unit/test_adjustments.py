"""billing-rules.md "Adjustments": never delete, always append."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from psa_billing.domain.adjustments import (
    Adjustment,
    AdjustmentKind,
    Effective,
    InvalidAdjustmentError,
    charge,
    credit_note,
    edit_line,
    effective,
    effective_or_problem,
    late_time,
)
from psa_billing.domain.model import Line, LineKind
from psa_billing.domain.money import MONEY_LIMIT, QUANTITY_LIMIT, Currency

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


# ---------------------------------------------------------------- whole-statement checks


def _charge(adjustments=(), description="Onsite visit", quantity="2", unit_price="50.00"):
    return charge(
        LINES,
        adjustments,
        GBP,
        TAX,
        description=description,
        quantity=quantity,
        unit_price=unit_price,
        at=AT,
        actor="ann",
        reason="visit on 12th",
    )


def _late(adjustments=(), lines=None, entry_ids=("te-9",), billed=frozenset()):
    late_lines = lines or (
        Line(
            "L1",
            LineKind.TICKET_TIME,
            "Ticket #7: VPN down",
            Decimal("0.50"),
            Decimal(90),
            Decimal("45.00"),
            minutes=Decimal(30),
            ref="t7",
        ),
    )
    return late_time(
        LINES,
        adjustments,
        GBP,
        TAX,
        lines=late_lines,
        entry_ids=entry_ids,
        at=AT,
        actor="ann",
        reason="entered after the run",
        billed_entry_ids=billed,
    )


def test_a_25_digit_quantity_is_refused_before_anything_is_appended() -> None:
    with pytest.raises(InvalidAdjustmentError, match="less than 10000000"):
        _edit(quantity="10000000000000000000000000")


@pytest.mark.parametrize("quantity", [Decimal("1E+20"), "100000000000000000000", "10000000"])
def test_quantity_of_ten_million_or_more_is_refused(quantity: str | Decimal) -> None:
    with pytest.raises(InvalidAdjustmentError, match="less than 10000000"):
        _edit(line_id="L2", quantity=quantity)


def test_largest_quantity_under_the_limit_is_accepted_on_a_cheap_line() -> None:
    adj = _edit(line_id="L2", quantity="9999999.99", unit_price="0.01")

    assert effective(LINES, (adj,), TAX, GBP).lines[1].amount == Decimal("100000.00")


def test_unit_price_of_10_to_the_12_or_more_is_refused() -> None:
    for price in ("1000000000000000", "1000000000000", Decimal("1E+15")):
        with pytest.raises(InvalidAdjustmentError, match="less than 1000000000000 GBP"):
            _edit(unit_price=price)


def test_an_edit_whose_line_amount_would_reach_10_to_the_12_is_refused() -> None:
    with pytest.raises(InvalidAdjustmentError, match="line L2's amount would be"):
        _edit(line_id="L2", quantity="9999999", unit_price="999999999999")


@pytest.mark.parametrize(
    "text",
    [
        "1e3",
        "1E+3",
        "1_0",
        "٣",
        "۱۲",
        " 5",
        "5 ",
        "1 000",
        "+5",
        "NaN",
        "Infinity",
        "-Infinity",
        "",
    ],
)
def test_malformed_number_text_is_refused(text: str) -> None:
    with pytest.raises(InvalidAdjustmentError, match="plain decimal number"):
        _edit(line_id="L2", quantity=text)
    with pytest.raises(InvalidAdjustmentError, match="plain decimal number"):
        _credit(amount=text)


def test_full_credit_then_edits_to_zero_cannot_make_the_amount_due_negative() -> None:
    credit = _credit(amount="200.00")

    with pytest.raises(InvalidAdjustmentError, match=r"subtotal would be -125\.00 GBP"):
        _edit((credit,), quantity="0")
    with pytest.raises(InvalidAdjustmentError, match="below zero"):
        _edit((credit,), line_id="L2", unit_price="0")


def test_an_edit_may_lower_a_credited_statement_down_to_exactly_zero() -> None:
    credit = _credit(amount="75.00")

    adj = _edit((credit,), quantity="0")

    assert effective(LINES, (credit, adj), TAX, GBP).subtotal == Decimal("0.00")


def test_text_of_an_adjustment_is_checked_like_imported_text() -> None:
    with pytest.raises(InvalidAdjustmentError, match="description contains a bidirectional"):
        _edit(description="Devices \u202eexe.pdf")
    with pytest.raises(InvalidAdjustmentError, match="actor contains a control"):
        edit_line(
            LINES,
            (),
            GBP,
            tax_percent=TAX,
            line_id="L1",
            at=AT,
            actor="ann\x00",
            reason="x",
            quantity="1",
        )
    with pytest.raises(InvalidAdjustmentError, match="description is 301 characters"):
        _credit_with_description("x" * 301)


def _credit_with_description(description: str):
    return credit_note(
        LINES, (), GBP, TAX, amount="1", description=description, at=AT, actor="a", reason="r"
    )


def test_a_credit_of_10_to_the_12_is_refused_as_out_of_limits() -> None:
    with pytest.raises(InvalidAdjustmentError, match="less than 1000000000000"):
        _credit(amount="1000000000000")


# ---------------------------------------------------------------- charges


def test_charge_adds_a_positive_line_and_the_totals_follow() -> None:
    adj = _charge()

    now = effective(LINES, (adj,), TAX, GBP)

    assert (adj.kind, adj.line_id) == (AdjustmentKind.CHARGE, "A1")
    assert now.lines[-1] == Line(
        "A1", LineKind.CHARGE, "Onsite visit", Decimal(2), Decimal("50.00"), Decimal("100.00")
    )
    # 200.00 + 100.00 = 300.00; tax 60.00
    assert (now.subtotal, now.tax, now.total) == (
        Decimal("300.00"),
        Decimal("60.00"),
        Decimal("360.00"),
    )


def test_charges_are_numbered_and_a_credit_may_then_use_their_amount() -> None:
    first = _charge()
    second = _charge((first,), quantity="1", unit_price="10")
    credit = _credit((first, second), amount="310.00")

    assert [first.line_id, second.line_id] == ["A1", "A2"]
    assert effective(LINES, (first, second, credit), TAX, GBP).subtotal == Decimal("0.00")


@pytest.mark.parametrize(
    ("quantity", "unit_price", "why"),
    [
        ("0", "50", "above zero"),
        ("1", "0", "above zero"),
        ("0.01", "0.01", "rounds to 0"),
        ("1.005", "50", "more than 2 decimal places"),
        ("1", "50.001", "more decimal places than GBP"),
        ("-1", "50", "negative"),
        ("1", "-50", "negative"),
        ("10000000", "1", "less than 10000000"),
        ("1", "1000000000000", "less than 1000000000000"),
        ("9999999", "999999", "line A1's amount would be"),
    ],
)
def test_charge_outside_the_limits_is_refused(quantity: str, unit_price: str, why: str) -> None:
    with pytest.raises(InvalidAdjustmentError, match=why):
        _charge(quantity=quantity, unit_price=unit_price)


def test_a_charge_needs_a_description() -> None:
    with pytest.raises(InvalidAdjustmentError, match="description must not be empty"):
        _charge(description=" ")


def test_lines_added_by_adjustments_cannot_be_edited() -> None:
    added = _charge()

    with pytest.raises(InvalidAdjustmentError, match="added by an adjustment"):
        _edit((added,), line_id="A1", quantity="1")


# ---------------------------------------------------------------- late time


def test_late_time_appends_the_computed_lines_renumbered() -> None:
    adj = _late()

    now = effective(LINES, (adj,), TAX, GBP)

    assert adj.kind is AdjustmentKind.LATE_TIME
    assert [ln.id for ln in now.lines] == ["L1", "L2", "T1"]
    assert now.lines[-1].amount == Decimal("45.00") and now.lines[-1].ref == "t7"
    assert now.subtotal == Decimal("245.00")
    assert adj.entry_ids == ("te-9",)
    assert adj.summary(GBP) == "late time T1: 1 late time entry, 45.00"


def test_a_second_late_time_adjustment_continues_the_numbering() -> None:
    first = _late()
    two_lines = (
        Line("L1", LineKind.TICKET_TIME, "Ticket #8", Decimal(1), Decimal(90), Decimal("90.00")),
        Line("L2", LineKind.INCLUDED_HOURS, "Support: 1 of 4", Decimal(1), Decimal(0), Decimal(0)),
    )

    second = _late((first,), lines=two_lines, entry_ids=("te-10", "te-11"))

    assert [ln.id for ln in second.lines] == ["T2", "T3"]
    assert effective(LINES, (first, second), TAX, GBP).subtotal == Decimal("335.00")


def test_late_time_never_bills_an_entry_twice() -> None:
    first = _late()

    with pytest.raises(InvalidAdjustmentError, match="te-9 is already billed"):
        _late((first,))
    with pytest.raises(InvalidAdjustmentError, match="te-1 is already billed"):
        _late(entry_ids=("te-1",), billed=frozenset({"te-1"}))
    with pytest.raises(InvalidAdjustmentError, match="named twice"):
        _late(entry_ids=("te-5", "te-5"))


def test_late_time_adds_only_time_lines_within_the_limits() -> None:
    device = Line("L1", LineKind.DEVICES, "Devices", Decimal(1), Decimal(5), Decimal("5.00"))
    huge = Line(
        "L1", LineKind.PROJECT_TIME, "Project X", Decimal(1), Decimal("1E+12"), Decimal("1E+12")
    )

    with pytest.raises(InvalidAdjustmentError, match="only add time lines"):
        _late(lines=(device,))
    with pytest.raises(InvalidAdjustmentError, match="not under 1000000000000"):
        _late(lines=(huge,))
    with pytest.raises(InvalidAdjustmentError, match="at least one line"):
        late_time(LINES, (), GBP, TAX, lines=(), entry_ids=("te-1",), at=AT, actor="a", reason="r")


# ---------------------------------------------------------------- stored bad data


def _stored(number: int, kind: AdjustmentKind, line_id: str, **kw):
    return Adjustment(number, kind, AT, "old-cli", "before the checks", line_id, **kw)


def test_effective_or_problem_shows_the_last_sound_revision_of_bad_stored_data() -> None:
    stored = (
        _stored(1, AdjustmentKind.EDIT, "L1", quantity=Decimal(8)),
        _stored(2, AdjustmentKind.EDIT, "L1", quantity=Decimal("1E+25")),
    )

    shown = effective_or_problem(LINES, stored, TAX, GBP)

    assert shown.revision == 1
    assert shown.totals.subtotal == Decimal("175.00")
    assert shown.problem is not None and shown.problem.startswith("adjustment 2 (edit)")
    assert "showing revision 1" in shown.problem


def test_effective_or_problem_reports_a_negative_amount_due_stored_earlier() -> None:
    stored = (
        _stored(1, AdjustmentKind.CREDIT, "C1", amount=Decimal("200.00"), description="x"),
        _stored(2, AdjustmentKind.EDIT, "L1", quantity=Decimal(0)),
    )

    shown = effective_or_problem(LINES, stored, TAX, GBP)

    assert (shown.revision, shown.totals.subtotal) == (1, Decimal("0.00"))
    assert "below zero" in (shown.problem or "")


def test_effective_or_problem_survives_an_edit_of_a_missing_line() -> None:
    stored = (_stored(1, AdjustmentKind.EDIT, "L9", quantity=Decimal(1)),)

    shown = effective_or_problem(LINES, stored, TAX, GBP)

    assert (shown.revision, shown.totals.subtotal) == (0, Decimal("200.00"))
    assert "L9" in (shown.problem or "")
    with pytest.raises(InvalidAdjustmentError, match="L9"):
        effective(LINES, stored, TAX, GBP)


def test_effective_or_problem_of_sound_adjustments_is_the_effective_statement() -> None:
    a1 = _edit(quantity="8")
    a2 = _charge((a1,))

    shown = effective_or_problem(LINES, (a1, a2), TAX, GBP)

    assert shown == Effective(effective(LINES, (a1, a2), TAX, GBP), 2, None)


def test_no_adjustment_can_be_added_on_top_of_bad_stored_data() -> None:
    stored = (_stored(1, AdjustmentKind.EDIT, "L1", quantity=Decimal("1E+25")),)

    with pytest.raises(InvalidAdjustmentError, match="cannot be applied"):
        _credit(stored, amount="1.00")


# ---------------------------------------------------------------- properties

_NUMBER_TEXT = st.one_of(
    st.decimals(min_value=-10, max_value=10**13, places=3, allow_nan=False).map(lambda d: f"{d:f}"),
    st.integers(min_value=0, max_value=10**26).map(str),
    st.sampled_from(["0", "0.01", "1e3", "1_0", "NaN", "٣", " 1", "9999999.99", "999999999999.99"]),
)
_OPERATION = st.one_of(
    st.tuples(st.just("edit"), st.sampled_from(["L1", "L2"]), _NUMBER_TEXT, st.booleans()),
    st.tuples(st.just("credit"), _NUMBER_TEXT),
    st.tuples(st.just("charge"), _NUMBER_TEXT, _NUMBER_TEXT),
    st.tuples(
        st.just("late"),
        st.integers(min_value=1, max_value=10**9),  # minutes
        st.decimals(min_value=0, max_value=10**13, places=2, allow_nan=False),  # rate
    ),
)


def _attempt(op: tuple, adjustments: tuple[Adjustment, ...]) -> Adjustment:
    if op[0] == "edit":
        _kind, line_id, number, is_price = op
        field = "unit_price" if is_price else "quantity"
        return _edit(adjustments, line_id=line_id, **{field: number})
    if op[0] == "credit":
        return _credit(adjustments, amount=op[1])
    if op[0] == "late":
        _kind, minutes, rate = op
        hours = (Decimal(minutes) / 60).quantize(Decimal("0.01"))
        line = Line(
            "L1",
            LineKind.TICKET_TIME,
            "Ticket #9",
            hours,
            rate,
            GBP.round(Decimal(minutes) * rate / 60),
            minutes=Decimal(minutes),
        )
        return _late(adjustments, lines=(line,), entry_ids=(f"te-{len(adjustments)}",))
    return _charge(adjustments, quantity=op[1], unit_price=op[2])


@settings(max_examples=150, deadline=None)
@given(st.lists(_OPERATION, max_size=8))
def test_no_sequence_of_accepted_adjustments_breaks_the_limits_or_goes_below_zero(
    operations: list[tuple],
) -> None:
    accepted: tuple[Adjustment, ...] = ()
    for op in operations:
        try:
            adj = _attempt(op, accepted)
        except InvalidAdjustmentError:
            continue
        accepted = (*accepted, adj)
        now = effective(LINES, accepted, TAX, GBP)
        assert now.subtotal >= 0
        assert max(now.subtotal, now.tax, now.total) < MONEY_LIMIT
        for line in now.lines:
            assert abs(line.amount) < MONEY_LIMIT and abs(line.unit_price) < MONEY_LIMIT
            assert abs(line.quantity) < QUANTITY_LIMIT
            assert GBP.has_exact_digits(line.amount) and GBP.has_exact_digits(line.unit_price)
        assert effective_or_problem(LINES, accepted, TAX, GBP).problem is None
