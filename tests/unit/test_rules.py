"""The rules engine, one test per rule of docs/billing-rules.md (expected values by hand)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import ROUND_HALF_EVEN, Context, Decimal, localcontext

import pytest

from psa_billing.domain.errors import InvalidPeriodError, UnknownCurrencyError
from psa_billing.domain.model import (
    BillingSettings,
    Contract,
    Coverage,
    CoveredTicket,
    Customer,
    CustomerPeriodData,
    CustomerProfile,
    Device,
    EntryUse,
    Line,
    LineKind,
    Period,
    Project,
    StatementDraft,
    Ticket,
    TimeEntry,
)
from psa_billing.domain.rules import compute_statement, hours_for_display

D = Decimal
MARCH = Period(2025, 3)  # 31 days
FEB = Period(2025, 2)  # 28 days
CUSTOMER_ID = "c1"
T1 = Ticket("t1", CUSTOMER_ID, "Printer jam", number="101")
T2 = Ticket("t2", CUSTOMER_ID, "VPN down", number="102")


def mar(day: int) -> date:
    return date(2025, 3, day)


def make_settings(
    *,
    per_device_rate: str = "10.00",
    default_hourly_rate: str = "100.00",
    tax_percent: str = "0",
    currency: str = "GBP",
) -> BillingSettings:
    return BillingSettings(
        per_device_rate=D(per_device_rate),
        default_hourly_rate=D(default_hourly_rate),
        tax_percent=D(tax_percent),
        currency=currency,
        auto_send=False,
        billing_email="billing@acme.example",
    )


def make_data(
    *,
    devices: tuple[Device, ...] = (),
    tickets: tuple[Ticket, ...] = (T1, T2),
    projects: tuple[Project, ...] = (),
    contracts: tuple[Contract, ...] = (),
    entries: tuple[TimeEntry, ...] = (),
    **settings: str,
) -> CustomerPeriodData:
    return CustomerPeriodData(
        customer=Customer(CUSTOMER_ID, "Acme Ltd", make_settings(**settings)),
        devices=devices,
        tickets=tickets,
        projects=projects,
        contracts=contracts,
        entries=entries,
    )


def device(
    id: str, linked_on: date, unlinked_on: date | None = None, customer_id: str = CUSTOMER_ID
) -> Device:
    return Device(id, customer_id, linked_on, unlinked_on)


def ticket_entry(
    id: str, day: date, minutes: int, ticket: str = "t1", *, billable: bool = True
) -> TimeEntry:
    return TimeEntry(id, day, minutes, billable, ticket_id=ticket)


def project_entry(
    id: str, day: date, minutes: int, project: str = "p1", *, billable: bool = True
) -> TimeEntry:
    return TimeEntry(id, day, minutes, billable, project_id=project)


def contract(
    id: str = "k1",
    *,
    included_hours: str = "10",
    start: date = date(2025, 1, 1),
    end: date | None = None,
    overage: str | None = None,
    name: str = "Gold support",
) -> Contract:
    return Contract(
        id,
        CUSTOMER_ID,
        name,
        D(included_hours),
        start,
        end,
        D(overage) if overage is not None else None,
    )


def statement(data: CustomerPeriodData, period: Period = MARCH) -> StatementDraft:
    draft = compute_statement(data, period)
    assert draft is not None
    return draft


def lines_of(draft: StatementDraft, kind: LineKind) -> list[Line]:
    return [line for line in draft.lines if line.kind == kind]


def only_line(draft: StatementDraft, kind: LineKind) -> Line:
    lines = lines_of(draft, kind)
    assert len(lines) == 1, lines
    return lines[0]


def use_of(draft: StatementDraft, entry_id: str) -> EntryUse:
    (use,) = [u for u in draft.inputs.entries if u.entry_id == entry_id]
    return use


# --- The period ---------------------------------------------------------------------------


def test_period_is_a_calendar_month_written_yyyy_mm() -> None:
    assert Period.parse("2025-03") == MARCH
    assert str(MARCH) == "2025-03"
    assert MARCH.first_day == mar(1)
    assert MARCH.last_day == mar(31)
    assert Period(2024, 2).last_day == date(2024, 2, 29)  # leap year
    for bad in ("2025-13", "2025-3", "25-03", "2025-03-01", "2025/03", ""):
        with pytest.raises(InvalidPeriodError):
            Period.parse(bad)


def test_scheduled_run_bills_the_previous_month() -> None:
    assert Period.before(date(2025, 4, 1)) == MARCH
    assert Period.before(date(2025, 1, 1)) == Period(2024, 12)


def test_time_entry_belongs_to_the_period_containing_its_date() -> None:
    data = make_data(
        entries=(
            ticket_entry("feb28", date(2025, 2, 28), 60),
            ticket_entry("mar1", mar(1), 30),
            ticket_entry("mar31", mar(31), 15),
            ticket_entry("apr1", date(2025, 4, 1), 60),
        )
    )
    draft = statement(data)
    line = only_line(draft, LineKind.TICKET_TIME)
    # 30 + 15 = 45 min; 45 × 100 / 60 = 75.00
    assert line.minutes == 45
    assert line.amount == D("75.00")
    assert [u.entry_id for u in draft.inputs.entries] == ["mar1", "mar31"]
    # The same data billed for February holds only the 28th.
    assert statement(data, FEB).inputs.entries[0].entry_id == "feb28"
    assert len(statement(data, FEB).inputs.entries) == 1


# --- 1. Devices ---------------------------------------------------------------------------


def test_device_linked_on_last_day_is_counted() -> None:
    draft = statement(make_data(devices=(device("d1", mar(31)),)))
    assert only_line(draft, LineKind.DEVICES).quantity == 1


def test_device_linked_after_period_is_not_counted() -> None:
    data = make_data(devices=(device("d1", mar(1)), device("d2", date(2025, 4, 1))))
    assert statement(data).inputs.device_ids == ("d1",)


def test_device_unlinked_on_last_day_is_not_counted() -> None:
    data = make_data(devices=(device("d1", mar(1)), device("d2", date(2025, 1, 5), mar(31))))
    assert statement(data).inputs.device_ids == ("d1",)


def test_device_unlinked_after_period_is_counted() -> None:
    data = make_data(devices=(device("d1", date(2025, 1, 5), date(2025, 4, 1)),))
    assert statement(data).inputs.device_ids == ("d1",)


def test_device_unlinked_during_period_is_not_counted() -> None:
    data = make_data(devices=(device("d1", mar(1)), device("d2", date(2025, 1, 5), mar(15))))
    assert statement(data).inputs.device_ids == ("d1",)


def test_device_unlinked_on_leap_day_is_not_counted_for_february() -> None:
    feb_2024 = Period(2024, 2)
    data = make_data(
        devices=(
            device("d1", date(2024, 1, 1), date(2024, 2, 29)),
            device("d2", date(2024, 1, 1), date(2024, 3, 1)),
        )
    )
    assert statement(data, feb_2024).inputs.device_ids == ("d2",)


def test_device_line_is_count_times_per_device_rate() -> None:
    data = make_data(
        devices=(device("d3", mar(2)), device("d1", mar(2)), device("d2", mar(2))),
        per_device_rate="12.50",
    )
    draft = statement(data)
    line = only_line(draft, LineKind.DEVICES)
    # 3 × 12.50 = 37.50
    assert (line.quantity, line.unit_price, line.amount) == (D(3), D("12.50"), D("37.50"))
    assert line.minutes is None
    assert draft.inputs.device_ids == ("d1", "d2", "d3")  # sorted


def test_device_line_amount_is_rounded_half_up() -> None:
    draft = statement(make_data(devices=(device("d1", mar(1)),), per_device_rate="2.345"))
    # 1 × 2.345 = 2.345 -> 2.35 (half-up)
    assert only_line(draft, LineKind.DEVICES).amount == D("2.35")


def test_no_device_line_when_count_is_zero() -> None:
    data = make_data(
        devices=(device("d1", date(2025, 1, 1), mar(10)),),
        entries=(ticket_entry("e1", mar(3), 60),),
    )
    draft = statement(data)
    assert lines_of(draft, LineKind.DEVICES) == []
    assert draft.inputs.device_ids == ()


def test_devices_of_other_customers_are_not_counted() -> None:
    data = make_data(devices=(device("d1", mar(1)), device("x", mar(1), customer_id="c2")))
    assert statement(data).inputs.device_ids == ("d1",)


# --- 2. Ticket time -----------------------------------------------------------------------


def test_ticket_time_without_contract_is_billed_at_default_rate() -> None:
    draft = statement(make_data(entries=(ticket_entry("e1", mar(3), 90),)))
    line = only_line(draft, LineKind.TICKET_TIME)
    # 90 min = 1.50 h; 90 × 100.00 / 60 = 150.00
    assert line.quantity == D("1.50")
    assert line.unit_price == D("100.00")
    assert line.amount == D("150.00")
    assert line.minutes == 90
    assert line.ref == "t1"
    assert line.description == "Ticket #101: Printer jam"
    assert use_of(draft, "e1") == EntryUse("e1", 90, D(0), D(90), D("100.00"), "L1", None)


def test_non_billable_entry_is_never_billed() -> None:
    data = make_data(
        entries=(ticket_entry("e1", mar(3), 60), ticket_entry("nb", mar(3), 600, billable=False))
    )
    draft = statement(data)
    # only e1: 60 × 100 / 60 = 100.00
    assert only_line(draft, LineKind.TICKET_TIME).amount == D("100.00")
    assert [u.entry_id for u in draft.inputs.entries] == ["e1"]


def test_non_billable_entry_never_consumes_included_hours() -> None:
    data = make_data(
        contracts=(contract(included_hours="1"),),
        entries=(
            ticket_entry("nb", mar(1), 60, billable=False),
            ticket_entry("e2", mar(2), 60),
        ),
    )
    draft = statement(data)
    # 60 included minutes are all left for e2 (the earlier non-billable entry took none).
    assert lines_of(draft, LineKind.TICKET_TIME) == []
    assert only_line(draft, LineKind.INCLUDED_HOURS).minutes == 60
    assert use_of(draft, "e2").covered_minutes == 60


def test_entry_covered_by_contract_is_free() -> None:
    data = make_data(
        contracts=(contract(included_hours="2"),), entries=(ticket_entry("e1", mar(3), 90),)
    )
    draft = statement(data)
    assert lines_of(draft, LineKind.TICKET_TIME) == []
    assert draft.total == D("0.00")
    assert use_of(draft, "e1") == EntryUse("e1", 90, D(90), D(0), None, None, "k1")


def test_entry_crossing_included_hours_is_split() -> None:
    data = make_data(
        contracts=(contract(included_hours="2"),),
        entries=(ticket_entry("e1", mar(3), 90), ticket_entry("e2", mar(4), 60)),
    )
    draft = statement(data)
    # 120 included: e1 takes 90, e2 takes the last 30 and 30 are billed.
    assert use_of(draft, "e1").covered_minutes == 90
    e2 = use_of(draft, "e2")
    assert (e2.covered_minutes, e2.billed_minutes, e2.line_id) == (D(30), D(30), "L1")
    line = only_line(draft, LineKind.TICKET_TIME)
    # 30 × 100 / 60 = 50.00
    assert (line.minutes, line.quantity, line.amount) == (D(30), D("0.50"), D("50.00"))


def test_included_minutes_are_consumed_in_date_then_entry_id_order() -> None:
    # Given out of order; the order of consumption is (mar 3, e9), (mar 5, e1), (mar 5, e2).
    data = make_data(
        contracts=(contract(included_hours="1"),),
        entries=(
            ticket_entry("e2", mar(5), 60, ticket="t2"),
            ticket_entry("e1", mar(5), 30),
            ticket_entry("e9", mar(3), 45),
        ),
    )
    draft = statement(data)
    # 60 included: e9 45 covered (15 left), e1 15 covered + 15 billed, e2 60 billed.
    assert [u.entry_id for u in draft.inputs.entries] == ["e9", "e1", "e2"]
    assert [(u.covered_minutes, u.billed_minutes) for u in draft.inputs.entries] == [
        (D(45), D(0)),
        (D(15), D(15)),
        (D(0), D(60)),
    ]
    t1_line, t2_line = lines_of(draft, LineKind.TICKET_TIME)
    # t1: 15 × 100 / 60 = 25.00; t2: 60 × 100 / 60 = 100.00
    assert (t1_line.ref, t1_line.amount) == ("t1", D("25.00"))
    assert (t2_line.ref, t2_line.amount) == ("t2", D("100.00"))


def test_included_hours_line_lists_each_ticket_it_covered_with_its_minutes() -> None:
    # 120 included: t2 (#102) takes 45, t1 (#101) 60 then 15 of a 30-minute entry.
    data = make_data(
        contracts=(contract(included_hours="2"),),
        entries=(
            ticket_entry("e1", mar(3), 45, ticket="t2"),
            ticket_entry("e2", mar(4), 60),
            ticket_entry("e3", mar(5), 30),
            ticket_entry("e4", mar(6), 20, ticket="t2"),
        ),
    )
    draft = statement(data)
    included = only_line(draft, LineKind.INCLUDED_HOURS)
    assert included.coverage == Coverage(
        contract_name="Gold support",
        included_minutes=D(120),
        tickets=(  # in ticket order, as the ticket lines are
            CoveredTicket("t1", "#101 Printer jam", D(75)),
            CoveredTicket("t2", "#102 VPN down", D(45)),
        ),
    )
    # What a contract covered adds up to the line's minutes; the rest is billed.
    assert sum(t.minutes for t in included.coverage.tickets) == included.minutes == D(120)
    t1_line, t2_line = lines_of(draft, LineKind.TICKET_TIME)
    assert (t1_line.minutes, t2_line.minutes) == (D(15), D(20))


def test_only_included_hours_lines_carry_a_coverage() -> None:
    data = make_data(
        devices=(device("d1", mar(1)),),
        contracts=(contract(included_hours="1"),),
        entries=(ticket_entry("e1", mar(3), 90),),
    )
    draft = statement(data)
    assert [(ln.kind, ln.coverage is not None) for ln in draft.lines] == [
        (LineKind.DEVICES, False),
        (LineKind.TICKET_TIME, False),
        (LineKind.INCLUDED_HOURS, True),
    ]


def test_statement_keeps_the_customers_details_as_they_were_when_billed() -> None:
    profile = CustomerProfile(("1 High St", "Leeds"), "GB123456789", "de-DE", 14)
    data = make_data(devices=(device("d1", mar(1)),))
    data = replace(data, customer=replace(data.customer, profile=profile))
    assert statement(data).customer_profile == profile


def test_fractional_included_hours_cover_fractional_minutes() -> None:
    data = make_data(
        contracts=(contract(included_hours="1.005"),),
        entries=(ticket_entry("e1", mar(3), 61),),
    )
    draft = statement(data)
    # 1.005 h = 60.3 min covered; 61 - 60.3 = 0.7 min billed.
    assert use_of(draft, "e1").covered_minutes == D("60.3")
    line = only_line(draft, LineKind.TICKET_TIME)
    # 0.7 × 100 / 60 = 1.1666… -> 1.17; 0.7 / 60 = 0.01166… h -> 0.01
    assert (line.minutes, line.quantity, line.amount) == (D("0.7"), D("0.01"), D("1.17"))
    included = only_line(draft, LineKind.INCLUDED_HOURS)
    # 60.3 / 60 = 1.005 h -> 1.01 (half-up); included 1.005 -> 1.01
    assert included.description == "Gold support: 1.01 of 1.01 included hours used"


def test_uncovered_minutes_are_billed_at_the_contract_overage_rate() -> None:
    data = make_data(
        contracts=(contract(included_hours="1", overage="150.00"),),
        entries=(ticket_entry("e1", mar(3), 100),),
    )
    draft = statement(data)
    line = only_line(draft, LineKind.TICKET_TIME)
    # 60 covered, 40 billed at 150.00: 40 × 150 / 60 = 100.00
    assert (line.minutes, line.unit_price, line.amount) == (D(40), D("150.00"), D("100.00"))
    assert line.description == "Ticket #101: Printer jam (overage rate)"
    assert use_of(draft, "e1").rate == D("150.00")


def test_contract_without_overage_rate_bills_uncovered_minutes_at_default_rate() -> None:
    data = make_data(
        contracts=(contract(included_hours="1"),),
        entries=(ticket_entry("e1", mar(3), 100),),
    )
    line = only_line(statement(data), LineKind.TICKET_TIME)
    # 40 billed at 100.00: 40 × 100 / 60 = 66.666… -> 66.67
    assert (line.unit_price, line.amount) == (D("100.00"), D("66.67"))
    assert line.description == "Ticket #101: Printer jam"


def test_overage_rate_applies_only_under_a_contract_that_sets_one() -> None:
    data = make_data(
        contracts=(
            contract("kA", included_hours="0", end=mar(15), overage="150.00"),
            contract("kB", included_hours="0", start=mar(20)),
        ),
        entries=(
            ticket_entry("under-A", mar(10), 60),  # kA sets 150.00
            ticket_entry("no-contract", mar(17), 60, ticket="t2"),  # default 100.00
            ticket_entry("under-B", mar(25), 60, ticket="t2"),  # kB sets none: default
        ),
    )
    draft = statement(data)
    t1, t2 = lines_of(draft, LineKind.TICKET_TIME)
    # t1: 60 × 150 / 60 = 150.00; t2: 120 × 100 / 60 = 200.00
    assert (t1.ref, t1.unit_price, t1.amount) == ("t1", D("150.00"), D("150.00"))
    assert (t2.ref, t2.unit_price, t2.amount, t2.minutes) == (
        "t2",
        D("100.00"),
        D("200.00"),
        D(120),
    )
    assert use_of(draft, "under-B").contract_id == "kB"
    assert use_of(draft, "no-contract").contract_id is None
    assert draft.inputs.contract_ids == ("kA", "kB")


def test_one_line_per_ticket_and_rate() -> None:
    data = make_data(
        contracts=(contract(included_hours="0", start=mar(10), overage="150.00"),),
        entries=(
            ticket_entry("e1", mar(1), 30),  # t1 at 100 (before the contract)
            ticket_entry("e2", mar(2), 30),  # t1 at 100
            ticket_entry("e3", mar(12), 60),  # t1 at 150
            ticket_entry("e4", mar(2), 30, ticket="t2"),  # t2 at 100
        ),
    )
    draft = statement(data)
    got = [(ln.ref, ln.unit_price, ln.minutes, ln.amount) for ln in draft.lines]
    # t1 @100: 60 min -> 100.00; t1 @150: 60 min -> 150.00; t2 @100: 30 min -> 50.00
    assert got == [
        ("t1", D("100.00"), D(60), D("100.00")),
        ("t1", D("150.00"), D(60), D("150.00")),
        ("t2", D("100.00"), D(30), D("50.00")),
    ]
    assert [u.line_id for u in draft.inputs.entries] == ["L1", "L1", "L3", "L2"]


def test_line_amount_is_computed_from_exact_minutes_and_rounded_once() -> None:
    data = make_data(entries=tuple(ticket_entry(f"e{i}", mar(i), 1) for i in (1, 2, 3)))
    line = only_line(statement(data), LineKind.TICKET_TIME)
    # 3 × 1 min at 100.00: 3 × 100 / 60 = 5.00 (rounding each entry, 1.67 × 3, would give 5.01)
    assert line.amount == D("5.00")
    assert line.quantity == D("0.05")  # 3 / 60 = 0.05 h


def test_included_hours_line_shows_hours_used_of_hours_included() -> None:
    data = make_data(
        contracts=(contract(included_hours="10"),),
        entries=(ticket_entry("e1", mar(3), 300), ticket_entry("e2", mar(4), 150, ticket="t2")),
    )
    draft = statement(data)
    line = only_line(draft, LineKind.INCLUDED_HOURS)
    # 300 + 150 = 450 min = 7.50 h of 10.00
    assert line.description == "Gold support: 7.50 of 10.00 included hours used"
    assert (line.quantity, line.minutes, line.unit_price, line.amount) == (
        D("7.50"),
        D(450),
        D(0),
        D(0),
    )
    assert str(line.amount) == "0.00"
    assert line.ref == "k1"


def test_no_included_hours_line_when_nothing_is_covered() -> None:
    data = make_data(
        contracts=(contract(included_hours="0"),),
        entries=(ticket_entry("e1", mar(3), 60),),
    )
    draft = statement(data)
    assert lines_of(draft, LineKind.INCLUDED_HOURS) == []
    assert draft.inputs.contract_ids == ("k1",)


def test_included_hours_reset_each_period() -> None:
    data = make_data(
        contracts=(contract(included_hours="1"),),
        entries=(
            ticket_entry("feb", date(2025, 2, 20), 60),
            ticket_entry("mar", mar(5), 60),
        ),
    )
    for period in (FEB, MARCH):
        draft = statement(data, period)
        # Each month has its own 60 minutes: fully covered, nothing billed.
        assert lines_of(draft, LineKind.TICKET_TIME) == []
        assert only_line(draft, LineKind.INCLUDED_HOURS).minutes == 60


def test_contract_starting_mid_month_gets_its_full_included_hours() -> None:
    data = make_data(
        contracts=(contract(included_hours="2", start=mar(20)),),
        entries=(ticket_entry("e1", mar(25), 120),),
    )
    draft = statement(data)
    # No proration: all 120 minutes covered.
    assert lines_of(draft, LineKind.TICKET_TIME) == []
    assert only_line(draft, LineKind.INCLUDED_HOURS).minutes == 120


def test_entry_on_a_day_without_an_active_contract_is_not_covered() -> None:
    data = make_data(
        contracts=(contract(included_hours="10", end=mar(10)),),
        entries=(ticket_entry("e1", mar(11), 60),),
    )
    draft = statement(data)
    assert only_line(draft, LineKind.TICKET_TIME).amount == D("100.00")
    assert use_of(draft, "e1").contract_id is None
    assert draft.inputs.contract_ids == ()


def test_contract_start_and_end_dates_are_inclusive() -> None:
    data = make_data(
        contracts=(contract(included_hours="10", start=mar(10), end=mar(12)),),
        entries=(
            ticket_entry("before", mar(9), 10),
            ticket_entry("start", mar(10), 20),
            ticket_entry("end", mar(12), 30),
            ticket_entry("after", mar(13), 40),
        ),
    )
    draft = statement(data)
    assert [u.covered_minutes for u in draft.inputs.entries] == [0, 20, 30, 0]
    # 10 + 40 = 50 min billed: 50 × 100 / 60 = 83.333… -> 83.33
    assert only_line(draft, LineKind.TICKET_TIME).amount == D("83.33")


def test_two_contracts_in_one_month_each_cover_their_own_days() -> None:
    data = make_data(
        contracts=(
            contract("kA", included_hours="2", end=mar(15), overage="120.00", name="Silver"),
            contract("kB", included_hours="1", start=mar(16), name="Gold"),
        ),
        entries=(ticket_entry("e1", mar(5), 180), ticket_entry("e2", mar(20), 90)),
    )
    draft = statement(data)
    # kA: 120 of 180 covered, 60 billed at 120.00 -> 120.00
    # kB: 60 of 90 covered, 30 billed at default 100.00 -> 50.00
    assert [(u.covered_minutes, u.billed_minutes, u.contract_id) for u in draft.inputs.entries] == [
        (D(120), D(60), "kA"),
        (D(60), D(30), "kB"),
    ]
    assert [(ln.unit_price, ln.amount) for ln in lines_of(draft, LineKind.TICKET_TIME)] == [
        (D("100.00"), D("50.00")),
        (D("120.00"), D("120.00")),
    ]
    assert [ln.description for ln in lines_of(draft, LineKind.INCLUDED_HOURS)] == [
        "Silver: 2.00 of 2.00 included hours used",
        "Gold: 1.00 of 1.00 included hours used",
    ]
    assert draft.subtotal == D("170.00")


def test_overlapping_contracts_latest_start_governs_the_day() -> None:
    # The import refuses overlaps; the engine still decides deterministically.
    data = make_data(
        contracts=(
            contract("old", included_hours="10", start=date(2024, 1, 1)),
            contract("new", included_hours="0", start=mar(1), overage="200.00"),
        ),
        entries=(ticket_entry("e1", mar(3), 30),),
    )
    draft = statement(data)
    # "new" governs: nothing included, 30 × 200 / 60 = 100.00
    assert use_of(draft, "e1").contract_id == "new"
    assert only_line(draft, LineKind.TICKET_TIME).amount == D("100.00")


def test_records_of_other_customers_and_unknown_tickets_are_ignored() -> None:
    foreign_ticket = Ticket("tx", "c2", "Not ours")
    foreign_contract = replace(contract("kx", included_hours="100"), customer_id="c2")
    data = make_data(
        tickets=(T1, foreign_ticket),
        contracts=(foreign_contract,),
        entries=(
            ticket_entry("e1", mar(3), 60),
            ticket_entry("foreign", mar(3), 60, ticket="tx"),
            ticket_entry("unknown", mar(3), 60, ticket="nope"),
            project_entry("unknown-project", mar(3), 60, project="nope"),
        ),
    )
    draft = statement(data)
    # Only e1, at the default rate (the other customer's contract does not cover it).
    assert [u.entry_id for u in draft.inputs.entries] == ["e1"]
    assert only_line(draft, LineKind.TICKET_TIME).amount == D("100.00")
    assert draft.inputs.contract_ids == ()


def test_ticket_without_number_is_labelled_by_its_id() -> None:
    data = make_data(
        tickets=(Ticket("t9", CUSTOMER_ID, "Email"),), entries=(ticket_entry("e", mar(1), 6, "t9"),)
    )
    assert only_line(statement(data), LineKind.TICKET_TIME).description == "Ticket #t9: Email"


# --- 3. Project time ----------------------------------------------------------------------

P1 = Project("p1", CUSTOMER_ID, "MIG", "Mail migration", billable=True, hourly_rate=D("80.00"))
P2 = Project("p2", CUSTOMER_ID, "AUD", "Audit", billable=True)
P_INTERNAL = Project("p3", CUSTOMER_ID, "INT", "Internal", billable=False, hourly_rate=D("90"))


def test_project_time_is_billed_at_the_project_rate() -> None:
    data = make_data(
        projects=(P1,),
        entries=(project_entry("e1", mar(2), 45), project_entry("e2", mar(9), 60)),
    )
    draft = statement(data)
    line = only_line(draft, LineKind.PROJECT_TIME)
    # 105 min = 1.75 h; 105 × 80 / 60 = 140.00
    assert (line.quantity, line.unit_price, line.amount, line.minutes) == (
        D("1.75"),
        D("80.00"),
        D("140.00"),
        D(105),
    )
    assert (line.description, line.ref) == ("Project MIG: Mail migration", "p1")
    assert use_of(draft, "e2") == EntryUse("e2", 60, D(0), D(60), D("80.00"), "L1", None)


def test_project_without_rate_is_billed_at_the_default_hourly_rate() -> None:
    data = make_data(projects=(P2,), entries=(project_entry("e1", mar(2), 20, "p2"),))
    line = only_line(statement(data), LineKind.PROJECT_TIME)
    # 20 × 100 / 60 = 33.333… -> 33.33
    assert (line.unit_price, line.amount) == (D("100.00"), D("33.33"))


def test_non_billable_project_is_not_billed() -> None:
    data = make_data(
        projects=(P_INTERNAL,),
        entries=(project_entry("e1", mar(2), 600, "p3"),),
        devices=(device("d1", mar(1)),),
    )
    draft = statement(data)
    assert lines_of(draft, LineKind.PROJECT_TIME) == []
    assert draft.inputs.entries == ()


def test_non_billable_entry_on_a_billable_project_is_not_billed() -> None:
    data = make_data(
        projects=(P1,),
        entries=(project_entry("e1", mar(2), 60), project_entry("nb", mar(2), 60, billable=False)),
    )
    assert only_line(statement(data), LineKind.PROJECT_TIME).minutes == 60


def test_project_time_never_consumes_contract_hours() -> None:
    data = make_data(
        projects=(P1,),
        contracts=(contract(included_hours="1"),),
        entries=(project_entry("p-early", mar(1), 60), ticket_entry("t-late", mar(2), 60)),
    )
    draft = statement(data)
    # The project entry came first but the 60 included minutes are all the ticket's.
    assert lines_of(draft, LineKind.TICKET_TIME) == []
    assert use_of(draft, "t-late").covered_minutes == 60
    p = use_of(draft, "p-early")
    assert (p.covered_minutes, p.billed_minutes, p.contract_id) == (D(0), D(60), None)
    assert only_line(draft, LineKind.PROJECT_TIME).amount == D("80.00")


def test_one_line_per_project() -> None:
    data = make_data(
        projects=(P1, P2),
        entries=(
            project_entry("e1", mar(2), 30),
            project_entry("e2", mar(3), 30, "p2"),
            project_entry("e3", mar(4), 30),
        ),
    )
    lines = lines_of(statement(data), LineKind.PROJECT_TIME)
    # Ordered by code: AUD (30 × 100 / 60 = 50.00), MIG (60 × 80 / 60 = 80.00)
    assert [(ln.ref, ln.minutes, ln.amount) for ln in lines] == [
        ("p2", D(30), D("50.00")),
        ("p1", D(60), D("80.00")),
    ]


# --- Nothing to bill ----------------------------------------------------------------------


def test_customer_with_no_lines_gets_no_statement() -> None:
    data = make_data(
        projects=(P_INTERNAL,),
        devices=(device("gone", date(2025, 1, 1), mar(3)), device("later", date(2025, 4, 2))),
        entries=(
            ticket_entry("nb", mar(3), 60, billable=False),
            project_entry("internal", mar(3), 60, "p3"),
            ticket_entry("april", date(2025, 4, 1), 60),
        ),
    )
    assert compute_statement(data, MARCH) is None
    assert compute_statement(make_data(), MARCH) is None


def test_zero_amount_line_still_makes_a_statement() -> None:
    draft = statement(make_data(devices=(device("d1", mar(1)),), per_device_rate="0"))
    assert only_line(draft, LineKind.DEVICES).amount == D("0.00")
    assert (draft.subtotal, draft.tax, draft.total) == (D("0.00"), D("0.00"), D("0.00"))


def test_only_included_hours_line_still_makes_a_statement() -> None:
    data = make_data(contracts=(contract(),), entries=(ticket_entry("e1", mar(3), 30),))
    draft = statement(data)
    assert [ln.kind for ln in draft.lines] == [LineKind.INCLUDED_HOURS]
    assert draft.total == D("0.00")


# --- Line order ---------------------------------------------------------------------------


def test_lines_are_in_a_fixed_order_and_numbered() -> None:
    t9 = Ticket("tb", CUSTOMER_ID, "Nine", number="9")
    t10 = Ticket("ta", CUSTOMER_ID, "Ten", number="10")
    data = make_data(
        tickets=(t10, t9),
        projects=(P1, P2),
        devices=(device("d1", mar(1)),),
        contracts=(contract(included_hours="0.5", overage="150"),),
        entries=(
            project_entry("e1", mar(1), 60),
            project_entry("e2", mar(1), 60, "p2"),
            ticket_entry("e3", mar(2), 60, "ta"),
            ticket_entry("e4", mar(3), 60, "tb"),
        ),
    )
    draft = statement(data)
    assert [(ln.id, ln.kind, ln.ref) for ln in draft.lines] == [
        ("L1", LineKind.DEVICES, None),
        ("L2", LineKind.TICKET_TIME, "tb"),  # "#9" before "#10" (natural order)
        ("L3", LineKind.TICKET_TIME, "ta"),
        ("L4", LineKind.INCLUDED_HOURS, "k1"),
        ("L5", LineKind.PROJECT_TIME, "p2"),  # code AUD before MIG
        ("L6", LineKind.PROJECT_TIME, "p1"),
    ]
    assert draft.inputs.entries[2].line_id == "L3"  # e3 (mar 2) is on ticket "ta"


def test_result_does_not_depend_on_input_order() -> None:
    data = make_data(
        projects=(P1, P2),
        devices=(device("d1", mar(1)), device("d2", mar(1))),
        contracts=(contract(included_hours="1.5"),),
        entries=(
            ticket_entry("e1", mar(2), 50),
            ticket_entry("e2", mar(2), 50, "t2"),
            ticket_entry("e3", mar(1), 50),
            project_entry("e4", mar(1), 50),
            project_entry("e5", mar(1), 50, "p2"),
        ),
    )
    reversed_data = replace(
        data,
        devices=data.devices[::-1],
        tickets=data.tickets[::-1],
        projects=data.projects[::-1],
        entries=data.entries[::-1],
    )
    assert statement(data) == statement(reversed_data)


def test_result_does_not_depend_on_the_callers_decimal_context() -> None:
    data = make_data(
        devices=(device("d1", mar(1)),),
        entries=(ticket_entry("e1", mar(1), 7),),
        per_device_rate="1234567.89",
        default_hourly_rate="12.5",
        tax_percent="17.5",
    )
    expected = statement(data)
    with localcontext(Context(prec=3, rounding=ROUND_HALF_EVEN)):
        assert statement(data) == expected
    # 1234567.89 + 7 × 12.5 / 60 (1.458… -> 1.46) = 1234569.35; × 17.5 % = 216049.63625
    assert (expected.subtotal, expected.tax) == (D("1234569.35"), D("216049.64"))


# --- Money --------------------------------------------------------------------------------


def test_half_up_rounding_of_line_amount() -> None:
    data = make_data(entries=(ticket_entry("e1", mar(1), 1),), default_hourly_rate="0.30")
    # 1 × 0.30 / 60 = 0.005 -> 0.01 (half-up; half-even would give 0.00)
    assert only_line(statement(data), LineKind.TICKET_TIME).amount == D("0.01")


def test_subtotal_is_the_sum_of_line_amounts_and_total_adds_tax() -> None:
    data = make_data(
        projects=(P1,),
        devices=(device("d1", mar(1)), device("d2", mar(1))),
        entries=(ticket_entry("e1", mar(1), 20), project_entry("e2", mar(1), 10)),
        per_device_rate="9.99",
        tax_percent="20",
    )
    draft = statement(data)
    # devices 2 × 9.99 = 19.98; ticket 20 × 100 / 60 = 33.333 -> 33.33;
    # project 10 × 80 / 60 = 13.333 -> 13.33; subtotal 66.64;
    # tax 66.64 × 20 / 100 = 13.328 -> 13.33; total 79.97
    assert [ln.amount for ln in draft.lines] == [D("19.98"), D("33.33"), D("13.33")]
    assert (draft.subtotal, draft.tax, draft.total) == (D("66.64"), D("13.33"), D("79.97"))
    assert draft.tax_percent == D("20")


def test_tax_is_rounded_half_up_on_subtotal() -> None:
    data = make_data(devices=(device("d1", mar(1)),), per_device_rate="0.25", tax_percent="10")
    draft = statement(data)
    # 0.25 × 10 / 100 = 0.025 -> 0.03 (half-up); total 0.28
    assert (draft.subtotal, draft.tax, draft.total) == (D("0.25"), D("0.03"), D("0.28"))


def test_tax_is_computed_on_the_subtotal_not_per_line() -> None:
    data = make_data(
        devices=(device("d1", mar(1)),),
        entries=(ticket_entry("e1", mar(1), 1),),
        per_device_rate="0.25",
        default_hourly_rate="15",
        tax_percent="10",
    )
    draft = statement(data)
    # lines 0.25 and 1 × 15 / 60 = 0.25; subtotal 0.50; tax 0.05
    # (per line it would be 0.03 + 0.03 = 0.06)
    assert (draft.subtotal, draft.tax, draft.total) == (D("0.50"), D("0.05"), D("0.55"))


def test_tax_percent_with_four_decimals() -> None:
    data = make_data(devices=(device("d1", mar(1)),), per_device_rate="100", tax_percent="7.1255")
    draft = statement(data)
    # 100.00 × 7.1255 / 100 = 7.1255 -> 7.13
    assert (draft.tax, draft.total) == (D("7.13"), D("107.13"))


def test_jpy_amounts_have_no_decimals() -> None:
    data = make_data(
        devices=(device("d1", mar(1)), device("d2", mar(1))),
        entries=(ticket_entry("e1", mar(1), 50),),
        currency="JPY",
        per_device_rate="500",
        default_hourly_rate="1000",
        tax_percent="10",
    )
    draft = statement(data)
    # devices 2 × 500 = 1000; ticket 50 × 1000 / 60 = 833.33 -> 833; subtotal 1833;
    # tax 183.3 -> 183; total 2016
    assert [str(ln.amount) for ln in draft.lines] == ["1000", "833"]
    assert (str(draft.subtotal), str(draft.tax), str(draft.total)) == ("1833", "183", "2016")
    assert draft.currency == "JPY"


def test_jpy_half_yen_rounds_up() -> None:
    data = make_data(
        entries=(ticket_entry("e1", mar(1), 1),), currency="JPY", default_hourly_rate="30"
    )
    # 1 × 30 / 60 = 0.5 -> 1
    assert str(only_line(statement(data), LineKind.TICKET_TIME).amount) == "1"


def test_bhd_amounts_have_three_decimals() -> None:
    data = make_data(
        entries=(ticket_entry("e1", mar(1), 7),),
        currency="BHD",
        default_hourly_rate="12.5",
        tax_percent="5",
    )
    draft = statement(data)
    # 7 × 12.5 / 60 = 1.458333… -> 1.458; tax 1.458 × 5 / 100 = 0.0729 -> 0.073; total 1.531
    assert str(only_line(draft, LineKind.TICKET_TIME).amount) == "1.458"
    assert (str(draft.subtotal), str(draft.tax), str(draft.total)) == ("1.458", "0.073", "1.531")


def test_included_hours_line_amount_has_the_currency_digits() -> None:
    data = make_data(
        contracts=(contract(),), entries=(ticket_entry("e1", mar(3), 30),), currency="BHD"
    )
    line = only_line(statement(data), LineKind.INCLUDED_HOURS)
    assert (str(line.amount), str(line.unit_price)) == ("0.000", "0.000")


def test_unknown_currency_is_an_error() -> None:
    with pytest.raises(UnknownCurrencyError):
        compute_statement(make_data(devices=(device("d1", mar(1)),), currency="XYZ"), MARCH)


def test_hours_for_display_are_rounded_half_up_to_two_decimals() -> None:
    assert hours_for_display(D(1)) == D("0.02")  # 0.01666…
    assert hours_for_display(D("0.3")) == D("0.01")  # 0.005 -> 0.01
    assert hours_for_display(D(90)) == D("1.50")
