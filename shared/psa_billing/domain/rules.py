"""The rules engine: one customer's statement for one period (docs/billing-rules.md).

Pure: it reads only its arguments (no I/O, no clock, no environment), and the
result does not depend on the order of the records it is given.

Decisions where docs/billing-rules.md is silent (kept in one place, here):
- Records that are not the customer's, and entries outside the period, are ignored
  (the caller may pass more). An entry whose ticket or project is not in ``data``
  is ignored; an entry with a ``ticket_id`` is a ticket entry (the import refuses
  entries with both ids). Entries with ``minutes <= 0`` are ignored.
- A contract's ``included_hours`` are available in full in every period it is
  active in (no proration for a contract starting or ending mid-month).
- If ``data`` has overlapping contracts (the import refuses them), the one with the
  latest ``start_date`` (then the greatest id) governs the day.
- One ticket line per (ticket, rate); its description says "(overage rate)" when
  any of its minutes were billed at a contract's overage rate.
- Time-line quantities are hours rounded half-up to 2 decimals, for display only;
  the amount is computed once per line from the exact minutes.
- ``StatementInputs.entries`` lists every entry the statement accounts for: billable
  ticket entries (covered and/or billed) and billable entries on billable projects;
  ``rate`` and ``line_id`` are None for an entry that is fully covered.
  ``contract_ids`` lists the contracts that governed at least one of those entries.
- Arithmetic runs in a local decimal context (100 digits), so the caller's decimal
  context cannot change a figure.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Context, Decimal, localcontext
from operator import itemgetter
from typing import NamedTuple

from psa_billing.domain.model import (
    Contract,
    Coverage,
    CoveredTicket,
    CustomerPeriodData,
    Device,
    EntryUse,
    Line,
    LineKind,
    Period,
    Project,
    StatementDraft,
    StatementInputs,
    Ticket,
    TimeEntry,
)
from psa_billing.domain.money import Currency

__all__ = ["compute_statement", "hours_for_display"]

# Products and quotients are computed at 100 significant digits, far beyond any
# importable value (12 integer + 6 fractional digits), so that each amount is
# rounded exactly once, by Currency.round.
_CTX = Context(prec=100, rounding=ROUND_HALF_UP)
_ZERO = Decimal(0)
_SIXTY = Decimal(60)
_HUNDRED = Decimal(100)
_HOURS_QUANTUM = Decimal("0.01")
_DIGITS = re.compile(r"(\d+)")
_USE_ORDER = itemgetter(0, 1)  # (date, entry id)
# Line keys (one per line) are tagged by kind, so that no id can collide with another.
_DEVICES_KEY = ("devices",)


def compute_statement(
    data: CustomerPeriodData,
    period: Period,
    *,
    used_minutes: Mapping[str, Decimal] | None = None,
) -> StatementDraft | None:
    """The statement draft for ``data.customer`` and ``period``, or None when there is
    nothing to bill (docs/billing-rules.md: "A customer with no line at all gets no statement").

    ``used_minutes``: included minutes of each contract (by id) already used in this
    period by entries billed before (a late-time adjustment's entries use only what the
    statement's contract had left: docs/billing-rules.md "Adjustments")."""
    with localcontext(_CTX):
        return _compute(data, period, used_minutes or {})


def _compute(
    data: CustomerPeriodData, period: Period, used: Mapping[str, Decimal]
) -> StatementDraft | None:
    customer = data.customer
    billing = customer.billing
    currency = Currency.of(billing.currency)
    scope = _Scope.of(data, period)

    tickets = _allocate_ticket_time(scope, billing.default_hourly_rate, used)
    projects = _project_time(scope, billing.default_hourly_rate)

    lines = _LineBuilder(currency)
    # docs/billing-rules.md "What is billed" 1: one device line, none when the count is 0.
    if scope.device_ids:
        count = Decimal(len(scope.device_ids))
        lines.add(
            key=_DEVICES_KEY,
            kind=LineKind.DEVICES,
            description=f"Managed devices ({len(scope.device_ids)})",
            quantity=count,
            unit_price=billing.per_device_rate,
            amount=currency.round(count * billing.per_device_rate),
        )
    lines.add_ticket_lines(scope, tickets)
    lines.add_included_hours_lines(scope, tickets)
    lines.add_project_lines(scope, projects)
    if not lines.lines:
        return None

    # docs/billing-rules.md "Money": subtotal = sum of line amounts; tax rounded the same way.
    subtotal = currency.round(_ZERO)
    for line in lines.lines:
        subtotal += line.amount
    tax = currency.round(subtotal * billing.tax_percent / _HUNDRED)

    uses = tickets.uses + projects.uses
    uses.sort(key=_USE_ORDER)
    line_of = lines.line_of
    inputs = StatementInputs(
        settings=billing,
        device_ids=scope.device_ids,
        # Positional, in EntryUse's field order: this runs once per entry.
        entries=tuple(
            EntryUse(
                u.entry_id,
                u.minutes,
                u.covered,
                u.billed,
                u.rate,
                line_of[u.line_key] if u.line_key is not None else None,
                u.contract_id,
            )
            for u in uses
        ),
        contract_ids=tuple(sorted(tickets.contracts)),
    )
    return StatementDraft(
        customer_id=customer.id,
        customer_name=customer.name,
        period=period,
        currency=currency.code,
        lines=tuple(lines.lines),
        subtotal=subtotal,
        tax_percent=billing.tax_percent,
        tax=tax,
        total=subtotal + tax,
        inputs=inputs,
        customer_profile=customer.profile,  # the statement keeps them as they are now
    )


def hours_for_display(minutes: Decimal) -> Decimal:
    """Minutes as hours, half-up to 2 decimals (a time line's quantity; never used for amounts)."""
    return _CTX.divide(minutes, _SIXTY).quantize(_HOURS_QUANTUM, ROUND_HALF_UP)


@dataclass(frozen=True, slots=True)
class _Scope:
    """The customer's records that matter for the period."""

    device_ids: tuple[str, ...]
    tickets: dict[str, Ticket]
    projects: dict[str, Project]
    contracts: list[Contract]  # latest start first: the first active one governs a day
    ticket_entries: list[TimeEntry]  # in (date, id) order
    project_entries: list[TimeEntry]

    @classmethod
    def of(cls, data: CustomerPeriodData, period: Period) -> _Scope:
        cid = data.customer.id
        first_day, last_day = period.first_day, period.last_day
        tickets = {t.id: t for t in data.tickets if t.customer_id == cid}
        projects = {p.id: p for p in data.projects if p.customer_id == cid}
        ticket_entries: list[TimeEntry] = []
        project_entries: list[TimeEntry] = []
        for e in data.entries:
            # docs/billing-rules.md "What is billed" 4: non-billable entries are never billed
            # and never consume contract hours.
            if not e.billable or e.minutes <= 0 or not first_day <= e.date <= last_day:
                continue
            if e.ticket_id is not None:
                if e.ticket_id in tickets:
                    ticket_entries.append(e)
            elif e.project_id is not None:
                project = projects.get(e.project_id)
                if project is not None and project.billable:
                    project_entries.append(e)
        # docs/billing-rules.md 2: included minutes are consumed in order of (date, entry id).
        ticket_entries.sort(key=lambda e: (e.date, e.id))
        contracts = sorted(
            (
                c
                for c in data.contracts
                if c.customer_id == cid
                and c.start_date <= last_day
                and (c.end_date is None or c.end_date >= first_day)
            ),
            key=lambda c: (c.start_date, c.id),
            reverse=True,
        )
        device_ids = tuple(
            sorted(
                d.id for d in data.devices if d.customer_id == cid and _linked_at_end(d, last_day)
            )
        )
        return cls(device_ids, tickets, projects, contracts, ticket_entries, project_entries)


@dataclass(slots=True)
class _TimeGroup:
    """The billed minutes of one future time line, at one rate."""

    rate: Decimal
    minutes: Decimal = _ZERO
    overage: bool = False


class _Use(NamedTuple):
    """How one entry was used, before line ids exist (a tuple: cheap, made per entry)."""

    day: date
    entry_id: str
    minutes: int
    covered: Decimal
    billed: Decimal
    rate: Decimal | None
    line_key: object | None
    contract_id: str | None


@dataclass(slots=True)
class _TicketTime:
    groups: dict[tuple[str, str, Decimal], _TimeGroup] = field(default_factory=dict)
    covered: dict[str, Decimal] = field(default_factory=dict)  # per contract id, > 0
    # Per contract id: the minutes it covered per ticket id (listed on its line).
    covered_tickets: dict[str, dict[str, Decimal]] = field(default_factory=dict)
    contracts: dict[str, Contract] = field(default_factory=dict)  # contracts that governed
    uses: list[_Use] = field(default_factory=list)


@dataclass(slots=True)
class _ProjectTime:
    groups: dict[tuple[str, str], _TimeGroup] = field(default_factory=dict)
    uses: list[_Use] = field(default_factory=list)


def _allocate_ticket_time(
    scope: _Scope, default_rate: Decimal, used: Mapping[str, Decimal]
) -> _TicketTime:
    """docs/billing-rules.md "What is billed" 2: contract coverage, splitting, rates."""
    out = _TicketTime()
    groups, covered_by, governing, append = out.groups, out.covered, out.contracts, out.uses.append
    per_ticket = out.covered_tickets
    contracts = scope.contracts
    contract_on: dict[date, Contract | None] = {}
    remaining: dict[str, Decimal] = {}
    contract: Contract | None = None
    contract_id: str | None = None
    for e in scope.ticket_entries:  # in (date, id) order: the order of consumption
        day = e.date
        minutes = Decimal(e.minutes)
        covered = _ZERO
        rate = default_rate
        overage = False
        if contracts:
            if day in contract_on:
                contract = contract_on[day]
            else:
                contract = contract_on[day] = next(
                    (c for c in contracts if c.is_active_on(day)), None
                )
            if contract is None:
                contract_id = None
            else:
                contract_id = contract.id
                governing[contract_id] = contract
                left = remaining.get(contract_id)
                if left is None:  # the full included hours, in every period (no proration)
                    left = max(
                        contract.included_hours * _SIXTY - used.get(contract_id, _ZERO), _ZERO
                    )
                if left:
                    covered = min(left, minutes)  # an entry crossing the limit is split
                    remaining[contract_id] = left - covered
                    covered_by[contract_id] = covered_by.get(contract_id, _ZERO) + covered
                    used = per_ticket.setdefault(contract_id, {})
                    ticket_id = e.ticket_id or ""
                    used[ticket_id] = used.get(ticket_id, _ZERO) + covered
                else:
                    remaining[contract_id] = left
                if contract.overage_hourly_rate is not None:
                    rate = contract.overage_hourly_rate
                    overage = True
        billed = minutes - covered if covered else minutes
        key: tuple[str, str, Decimal] | None = None
        if billed:
            key = ("ticket", e.ticket_id or "", rate)
            group = groups.get(key)
            if group is None:
                group = groups[key] = _TimeGroup(rate)
            group.minutes += billed
            if overage:
                group.overage = True
        append(_Use(day, e.id, e.minutes, covered, billed, rate if key else None, key, contract_id))
    return out


def _project_time(scope: _Scope, default_rate: Decimal) -> _ProjectTime:
    """docs/billing-rules.md "What is billed" 3: project time never consumes contract hours."""
    out = _ProjectTime()
    for e in scope.project_entries:
        project = scope.projects[e.project_id or ""]
        rate = project.hourly_rate if project.hourly_rate is not None else default_rate
        key = ("project", project.id)
        group = out.groups.get(key)
        if group is None:
            group = out.groups[key] = _TimeGroup(rate)
        billed = Decimal(e.minutes)
        group.minutes += billed
        out.uses.append(_Use(e.date, e.id, e.minutes, _ZERO, billed, rate, key, None))
    return out


class _LineBuilder:
    """Numbers lines L1, L2, ... in statement order and remembers each group's line id."""

    def __init__(self, currency: Currency) -> None:
        self.currency = currency
        self.lines: list[Line] = []
        self.line_of: dict[object, str] = {}

    def add(
        self,
        *,
        key: object,
        kind: LineKind,
        description: str,
        quantity: Decimal,
        unit_price: Decimal,
        amount: Decimal,
        minutes: Decimal | None = None,
        ref: str | None = None,
        coverage: Coverage | None = None,
    ) -> None:
        line_id = f"L{len(self.lines) + 1}"
        self.lines.append(
            Line(line_id, kind, description, quantity, unit_price, amount, minutes, ref, coverage)
        )
        self.line_of[key] = line_id

    def add_ticket_lines(self, scope: _Scope, time: _TicketTime) -> None:
        def order(key: tuple[str, str, Decimal]) -> tuple[object, ...]:
            _, ticket_id, rate = key
            return (_natural_key(_ticket_label(scope.tickets[ticket_id])), ticket_id, rate)

        for key in sorted(time.groups, key=order):
            group = time.groups[key]
            ticket = scope.tickets[key[1]]
            description = f"Ticket #{_ticket_label(ticket)}: {ticket.subject}"
            if group.overage:
                description += " (overage rate)"
            self.add(
                key=key,
                kind=LineKind.TICKET_TIME,
                description=description,
                quantity=hours_for_display(group.minutes),
                unit_price=group.rate,
                amount=self._time_amount(group),
                minutes=group.minutes,
                ref=ticket.id,
            )

    def add_included_hours_lines(self, scope: _Scope, time: _TicketTime) -> None:
        """Informational, amount 0: hours used of hours included, per contract, with the
        tickets that used them (docs/documents.md: covered time is listed, not hidden)."""
        zero = self.currency.round(_ZERO)
        for contract_id in sorted(time.covered):
            contract = time.contracts[contract_id]
            covered = time.covered[contract_id]
            used_by = time.covered_tickets[contract_id]
            tickets = sorted(
                (scope.tickets[ticket_id] for ticket_id in used_by),
                key=lambda t: (_natural_key(_ticket_label(t)), t.id),
            )
            coverage = Coverage(
                contract_name=contract.name,
                included_minutes=max(contract.included_hours * _SIXTY, _ZERO),
                tickets=tuple(
                    CoveredTicket(t.id, f"#{_ticket_label(t)} {t.subject}", used_by[t.id])
                    for t in tickets
                ),
            )
            used = hours_for_display(covered)
            included = contract.included_hours.quantize(_HOURS_QUANTUM, ROUND_HALF_UP)
            self.add(
                key=("contract", contract_id),
                kind=LineKind.INCLUDED_HOURS,
                description=f"{contract.name}: {used:f} of {included:f} included hours used",
                quantity=used,
                unit_price=zero,
                amount=zero,
                minutes=covered,
                ref=contract_id,
                coverage=coverage,
            )

    def add_project_lines(self, scope: _Scope, time: _ProjectTime) -> None:
        for key in sorted(time.groups, key=lambda k: (scope.projects[k[1]].code, k[1])):
            group = time.groups[key]
            project = scope.projects[key[1]]
            self.add(
                key=key,
                kind=LineKind.PROJECT_TIME,
                description=f"Project {project.code}: {project.name}",
                quantity=hours_for_display(group.minutes),
                unit_price=group.rate,
                amount=self._time_amount(group),
                minutes=group.minutes,
                ref=project.id,
            )

    def _time_amount(self, group: _TimeGroup) -> Decimal:
        """docs/billing-rules.md: amount = minutes × rate / 60, rounded once per line."""
        return self.currency.round(group.minutes * group.rate / _SIXTY)


def _linked_at_end(device: Device, last_day: date) -> bool:
    """docs/billing-rules.md "What is billed" 1: linked at the end of the period."""
    return device.linked_on <= last_day and (
        device.unlinked_on is None or device.unlinked_on > last_day
    )


def _ticket_label(ticket: Ticket) -> str:
    return ticket.number or ticket.id


def _natural_key(text: str) -> tuple[tuple[str, int], ...]:
    """Natural order ("9" before "10"): (text, number) pairs; -1 when no number follows."""
    parts = _DIGITS.split(text)
    return tuple(
        (parts[i], int(parts[i + 1]) if i + 1 < len(parts) else -1) for i in range(0, len(parts), 2)
    )
