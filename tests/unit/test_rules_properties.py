"""Property tests of the rules engine on random, realistic customer data
(docs/architecture.md 8)."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import TypeVar

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from psa_billing.domain.model import (
    BillingSettings,
    Contract,
    Customer,
    CustomerPeriodData,
    Device,
    LineKind,
    Period,
    Project,
    Ticket,
    TimeEntry,
)
from psa_billing.domain.money import Currency
from psa_billing.domain.rules import compute_statement

D = Decimal
T = TypeVar("T")
CID = "c1"
OTHER = "c2"
PERIODS = [Period(2024, 2), Period(2025, 2), Period(2025, 3), Period(2025, 12)]
CURRENCIES = ["GBP", "EUR", "USD", "JPY", "BHD", "KWD"]

PROPERTY_SETTINGS = settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


def _decimal(max_units: int, places: list[int]) -> st.SearchStrategy[Decimal]:
    """A non-negative decimal with one of ``places`` fractional digits (as imports allow)."""
    return st.builds(
        lambda n, p: D(n).scaleb(-p),
        st.integers(0, max_units),
        st.sampled_from(places),
    )


# Strategies are built once, here: building them inside the composite is slow.
RATES = _decimal(50_000, [0, 2, 2, 3, 6])
OPTIONAL_RATE = st.one_of(st.none(), RATES)
INCLUDED_HOURS = _decimal(2_000, [0, 1, 2, 3])
TAX = st.one_of(st.just(D(0)), st.integers(0, 1_000_000).map(lambda n: D(n).scaleb(-4)))
OWNER = st.sampled_from([CID, CID, CID, OTHER])  # some records are another customer's
# (linked on: days from the period's first day, days linked or None, owner)
DEVICE_FIELDS = st.lists(
    st.tuples(st.integers(-60, 35), st.one_of(st.none(), st.integers(0, 60)), OWNER),
    max_size=6,
)
# (owner, display number or None)
TICKET_FIELDS = st.lists(
    st.tuples(OWNER, st.one_of(st.none(), st.integers(1, 300).map(str))), max_size=5
)
# (owner, code, billable, hourly rate or None)
PROJECT_FIELDS = st.lists(
    st.tuples(OWNER, st.sampled_from(["MIG", "AUD", "NET", "ZZ"]), st.booleans(), OPTIONAL_RATE),
    max_size=3,
)
# (days after the previous one ends, length in days or None (open-ended), hours, overage)
CONTRACT_FIELDS = st.lists(
    st.tuples(
        st.integers(0, 20), st.one_of(st.none(), st.integers(0, 25)), INCLUDED_HOURS, OPTIONAL_RATE
    ),
    max_size=3,
)
# (target index, day offset from the period's first day, minutes, billable unless 0)
ENTRY_FIELDS = st.lists(
    st.tuples(st.integers(0, 63), st.integers(-5, 35), st.integers(1, 600), st.integers(0, 3)),
    max_size=30,
)


@st.composite
def period_data(draw: st.DrawFn) -> tuple[CustomerPeriodData, Period]:
    period = draw(st.sampled_from(PERIODS))
    first = period.first_day

    def day(offset: int) -> date:
        return first + timedelta(days=offset)

    billing = BillingSettings(
        per_device_rate=draw(RATES),
        default_hourly_rate=draw(RATES),
        tax_percent=draw(TAX),
        currency=draw(st.sampled_from(CURRENCIES)),
        auto_send=False,
        billing_email="b@example.com",
    )
    customer = Customer(CID, "Acme", billing)

    devices = [
        Device(
            f"d{i}",
            owner,
            day(linked),
            None if days is None else day(linked + days),
        )
        for i, (linked, days, owner) in enumerate(draw(DEVICE_FIELDS))
    ]
    tickets = [
        Ticket(f"t{i}", owner, f"Subject {i}", number)
        for i, (owner, number) in enumerate(draw(TICKET_FIELDS))
    ]
    projects = [
        Project(f"p{i}", owner, code, f"Project {i}", billable, rate)
        for i, (owner, code, billable, rate) in enumerate(draw(PROJECT_FIELDS))
    ]

    # Non-overlapping contracts, as the import guarantees: consecutive date ranges.
    contracts = []
    start = day(-draw(st.integers(0, 60)))
    for i, (gap, length, hours, overage) in enumerate(draw(CONTRACT_FIELDS)):
        start += timedelta(days=gap)
        end = None if length is None else start + timedelta(days=length)
        contracts.append(Contract(f"k{i}", CID, f"Contract {i}", hours, start, end, overage))
        if end is None:
            break
        start = end + timedelta(days=1)

    targets = [("t", t.id) for t in tickets] + [("p", p.id) for p in projects] + [("t", "nope")]
    entries = []
    for i, (pick, offset, minutes, flag) in enumerate(draw(ENTRY_FIELDS)):
        kind, target = targets[pick % len(targets)]
        entries.append(
            TimeEntry(
                # ids whose order is unrelated to the order of creation
                f"e{(i * 7919) % 1000:03d}-{i}",
                day(offset),
                minutes,
                flag != 0,  # one in four is non-billable
                ticket_id=target if kind == "t" else None,
                project_id=target if kind == "p" else None,
            )
        )

    data = CustomerPeriodData(
        customer=customer,
        devices=tuple(devices),
        tickets=tuple(tickets),
        projects=tuple(projects),
        contracts=tuple(contracts),
        entries=tuple(entries),
    )
    return data, period


def _billable_ticket_entries(data: CustomerPeriodData, period: Period) -> list[TimeEntry]:
    """Independently of the engine: the entries rule 2 is about."""
    ours = {t.id for t in data.tickets if t.customer_id == CID}
    return [
        e for e in data.entries if e.billable and period.contains(e.date) and e.ticket_id in ours
    ]


def _billable_project_entries(data: CustomerPeriodData, period: Period) -> list[TimeEntry]:
    ours = {p.id for p in data.projects if p.customer_id == CID and p.billable}
    return [
        e for e in data.entries if e.billable and period.contains(e.date) and e.project_id in ours
    ]


def _counted_devices(data: CustomerPeriodData, period: Period) -> list[Device]:
    last = period.last_day
    return [
        d
        for d in data.devices
        if d.customer_id == CID
        and d.linked_on <= last
        and (d.unlinked_on is None or d.unlinked_on > last)
    ]


# Each property test generates its own data, which is what costs time: related
# invariants are checked together so that the file stays fast.


@PROPERTY_SETTINGS
@given(period_data())
def test_lines_sum_to_subtotal_total_adds_tax_and_every_amount_has_the_currency_digits(
    case: tuple[CustomerPeriodData, Period],
) -> None:
    data, period = case
    draft = compute_statement(data, period)
    if draft is None:
        return
    currency = Currency.of(draft.currency)
    # docs/billing-rules.md "Money": subtotal = sum of line amounts; tax half-up; total.
    assert sum((line.amount for line in draft.lines), D(0)) == draft.subtotal
    expected_tax = (draft.subtotal * draft.tax_percent / 100).quantize(
        currency.quantum, rounding=ROUND_HALF_UP
    )
    assert draft.tax == expected_tax
    assert draft.total == draft.subtotal + draft.tax
    # Exactly the currency's minor-unit digits, everywhere.
    for value in [line.amount for line in draft.lines] + [draft.subtotal, draft.tax, draft.total]:
        assert value.as_tuple().exponent == -currency.exponent, value
    # A time line's amount is its exact minutes × rate / 60, rounded once, half-up.
    for line in draft.lines:
        if line.kind in (LineKind.TICKET_TIME, LineKind.PROJECT_TIME):
            assert line.minutes is not None and line.minutes > 0
            # Scaled by 60 so that the comparison is exact.
            exact = line.minutes * line.unit_price
            assert (line.amount - currency.quantum / 2) * 60 <= exact
            assert exact < (line.amount + currency.quantum / 2) * 60
            assert line.quantity == (line.minutes / 60).quantize(D("0.01"), ROUND_HALF_UP)
        elif line.kind == LineKind.INCLUDED_HOURS:
            assert line.amount == 0


@PROPERTY_SETTINGS
@given(period_data())
def test_each_contract_covers_up_to_its_included_minutes_and_bills_the_rest(
    case: tuple[CustomerPeriodData, Period],
) -> None:
    data, period = case
    draft = compute_statement(data, period)
    eligible = _billable_ticket_entries(data, period)
    if draft is None:
        assert eligible == []
        return
    uses = {u.entry_id: u for u in draft.inputs.entries}
    included_lines = {ln.ref: ln for ln in draft.lines if ln.kind == LineKind.INCLUDED_HOURS}
    for contract in data.contracts:
        under = [e for e in eligible if contract.is_active_on(e.date)]
        minutes = sum(e.minutes for e in under)
        covered = sum((uses[e.id].covered_minutes for e in under), D(0))
        billed = sum((uses[e.id].billed_minutes for e in under), D(0))
        assert covered + billed == minutes
        # Consumption in (date, id) order covers exactly min(included, eligible minutes).
        assert covered == min(contract.included_hours * 60, minutes)
        # ... and in that order: each entry takes what is left, up to its minutes.
        left = contract.included_hours * 60
        for e in sorted(under, key=lambda e: (e.date, e.id)):
            assert uses[e.id].covered_minutes == min(left, e.minutes)
            left -= uses[e.id].covered_minutes
        assert all(uses[e.id].contract_id == contract.id for e in under)
        if covered > 0:
            assert included_lines[contract.id].minutes == covered
        else:
            assert contract.id not in included_lines
    # Uncovered ticket minutes are all on ticket lines; project minutes on project lines.
    covered_total = sum((u.covered_minutes for u in draft.inputs.entries), D(0))
    ticket_lines = sum(
        (ln.minutes or D(0) for ln in draft.lines if ln.kind == LineKind.TICKET_TIME), D(0)
    )
    assert covered_total + ticket_lines == sum(e.minutes for e in eligible)
    project_lines = sum(
        (ln.minutes or D(0) for ln in draft.lines if ln.kind == LineKind.PROJECT_TIME), D(0)
    )
    assert project_lines == sum(e.minutes for e in _billable_project_entries(data, period))


@PROPERTY_SETTINGS
@given(period_data())
def test_every_billable_entry_is_accounted_for_once_and_no_lines_means_no_statement(
    case: tuple[CustomerPeriodData, Period],
) -> None:
    data, period = case
    draft = compute_statement(data, period)
    devices = _counted_devices(data, period)
    expected = _billable_ticket_entries(data, period) + _billable_project_entries(data, period)
    assert (draft is None) == (not devices and not expected)
    if draft is None:
        return
    assert draft.inputs.device_ids == tuple(sorted(d.id for d in devices))
    assert [ln.id for ln in draft.lines] == [f"L{i}" for i in range(1, len(draft.lines) + 1)]
    ids = [u.entry_id for u in draft.inputs.entries]
    assert ids == [e.id for e in sorted(expected, key=lambda e: (e.date, e.id))]
    by_id = {e.id: e for e in expected}
    lines = {ln.id: ln for ln in draft.lines}
    for use in draft.inputs.entries:
        entry = by_id[use.entry_id]
        assert use.minutes == entry.minutes
        assert use.covered_minutes + use.billed_minutes == use.minutes
        assert (use.line_id is None) == (use.billed_minutes == 0) == (use.rate is None)
        if use.line_id is not None:
            # The entry is billed on the line of its own ticket or project, at its rate.
            line = lines[use.line_id]
            assert line.ref == (entry.ticket_id or entry.project_id)
            assert line.unit_price == use.rate


@PROPERTY_SETTINGS
@given(period_data(), st.randoms(use_true_random=False))
def test_result_does_not_depend_on_input_order(
    case: tuple[CustomerPeriodData, Period], rnd: random.Random
) -> None:
    data, period = case

    def shuffled(items: tuple[T, ...]) -> tuple[T, ...]:
        out = list(items)
        rnd.shuffle(out)
        return tuple(out)

    other = replace(
        data,
        devices=shuffled(data.devices),
        tickets=shuffled(data.tickets),
        projects=shuffled(data.projects),
        contracts=shuffled(data.contracts),
        entries=shuffled(data.entries),
    )
    assert compute_statement(other, period) == compute_statement(data, period)
