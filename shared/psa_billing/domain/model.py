"""The billing domain's plain inputs and outputs (docs/billing-rules.md "Inputs").

Frozen dataclasses with exact Decimals: the rules engine takes these and nothing
else, so it can be tested and benchmarked without any AWS service.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from psa_billing.domain.errors import InvalidPeriodError

if TYPE_CHECKING:
    from psa_billing.domain.review import StatementHistory

_PERIOD = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


@dataclass(frozen=True, slots=True, order=True)
class Period:
    """A calendar month (docs/billing-rules.md "The period")."""

    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> Period:
        m = _PERIOD.match(text)
        if not m:
            raise InvalidPeriodError(f"period {text!r} is not a calendar month written YYYY-MM")
        return cls(int(m.group(1)), int(m.group(2)))

    @classmethod
    def containing(cls, day: date) -> Period:
        return cls(day.year, day.month)

    @classmethod
    def before(cls, day: date) -> Period:
        """The month before the one containing ``day`` (the scheduled run bills it)."""
        return cls(day.year - 1, 12) if day.month == 1 else cls(day.year, day.month - 1)

    @property
    def first_day(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def last_day(self) -> date:
        return date(self.year, self.month, calendar.monthrange(self.year, self.month)[1])

    def contains(self, day: date) -> bool:
        return day.year == self.year and day.month == self.month

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


@dataclass(frozen=True, slots=True)
class BillingSettings:
    per_device_rate: Decimal
    default_hourly_rate: Decimal
    tax_percent: Decimal
    currency: str
    auto_send: bool
    billing_email: str


@dataclass(frozen=True, slots=True)
class CustomerProfile:
    """A customer's optional statement details (None / empty: not set; the
    organisation's setting applies where there is one). A statement keeps a copy of
    them as they were when it was billed (docs/documents.md "Bill to")."""

    address_lines: tuple[str, ...] = ()
    tax_id: str | None = None
    locale: str | None = None
    payment_terms_days: int | None = None

    def public(self) -> dict[str, Any]:
        """The details that are set, in their camelCase names (the import's)."""
        out: dict[str, Any] = {}
        if self.address_lines:
            out["addressLines"] = list(self.address_lines)
        if self.tax_id is not None:
            out["taxId"] = self.tax_id
        if self.locale is not None:
            out["locale"] = self.locale
        if self.payment_terms_days is not None:
            out["paymentTermsDays"] = self.payment_terms_days
        return out


@dataclass(frozen=True, slots=True)
class Customer:
    id: str
    name: str
    billing: BillingSettings
    profile: CustomerProfile = field(default_factory=CustomerProfile)


@dataclass(frozen=True, slots=True)
class Device:
    id: str
    customer_id: str
    linked_on: date
    unlinked_on: date | None = None
    name: str = ""


@dataclass(frozen=True, slots=True)
class Ticket:
    id: str
    customer_id: str
    subject: str
    number: str | None = None


@dataclass(frozen=True, slots=True)
class Project:
    id: str
    customer_id: str
    code: str
    name: str
    billable: bool
    hourly_rate: Decimal | None = None


@dataclass(frozen=True, slots=True)
class Contract:
    id: str
    customer_id: str
    name: str
    included_hours: Decimal
    start_date: date
    end_date: date | None = None
    overage_hourly_rate: Decimal | None = None

    def is_active_on(self, day: date) -> bool:
        """Active from ``start_date`` through ``end_date``, both days included."""
        return self.start_date <= day and (self.end_date is None or day <= self.end_date)


@dataclass(frozen=True, slots=True)
class TimeEntry:
    id: str
    date: date
    minutes: int
    billable: bool
    ticket_id: str | None = None
    project_id: str | None = None
    description: str = ""
    user_id: str = ""


@dataclass(frozen=True, slots=True)
class CustomerPeriodData:
    """Everything one customer's statement for one period is computed from."""

    customer: Customer
    devices: tuple[Device, ...] = ()
    tickets: tuple[Ticket, ...] = ()
    projects: tuple[Project, ...] = ()
    contracts: tuple[Contract, ...] = ()
    entries: tuple[TimeEntry, ...] = ()
    # The customer's latest statements, summarised (review evidence; read with the
    # customer, never by the rules themselves).
    last_statements: StatementHistory | None = None


class LineKind(StrEnum):
    DEVICES = "devices"
    TICKET_TIME = "ticket_time"
    INCLUDED_HOURS = "included_hours"
    PROJECT_TIME = "project_time"
    CREDIT = "credit"
    CHARGE = "charge"  # an adjustment's new positive line (docs/billing-rules.md "Adjustments")


@dataclass(frozen=True, slots=True)
class CoveredTicket:
    """Ticket time a support contract covered (no charge): which ticket, how much."""

    ticket_id: str
    label: str  # how the customer knows the ticket: "#1042 Printer offline"
    minutes: Decimal


@dataclass(frozen=True, slots=True)
class Coverage:
    """What an included-hours line accounts for (docs/billing-rules.md "What is billed"
    2): the contract, the minutes it included and the tickets that used them."""

    contract_name: str
    included_minutes: Decimal
    tickets: tuple[CoveredTicket, ...] = ()


@dataclass(frozen=True, slots=True)
class Line:
    """One statement line. ``amount`` is rounded to the currency; ``quantity`` is a
    device count or hours (time lines: hours to 2 decimals for display, the exact
    ``minutes`` are kept and the amount is computed from them)."""

    id: str
    kind: LineKind
    description: str
    quantity: Decimal
    unit_price: Decimal
    amount: Decimal
    minutes: Decimal | None = None
    ref: str | None = None  # ticket, project or contract id the line is about
    coverage: Coverage | None = None  # included-hours lines: what the contract covered


@dataclass(frozen=True, slots=True)
class EntryUse:
    """How one time entry was used: covered by a contract and/or billed at a rate."""

    entry_id: str
    minutes: int
    covered_minutes: Decimal
    billed_minutes: Decimal
    rate: Decimal | None
    line_id: str | None
    contract_id: str | None


@dataclass(frozen=True, slots=True)
class StatementInputs:
    """What a statement was computed from, so it can always be explained later."""

    settings: BillingSettings
    device_ids: tuple[str, ...]
    entries: tuple[EntryUse, ...]
    contract_ids: tuple[str, ...] = field(default=())


@dataclass(frozen=True, slots=True)
class StatementDraft:
    customer_id: str
    customer_name: str
    period: Period
    currency: str
    lines: tuple[Line, ...]
    subtotal: Decimal
    tax_percent: Decimal
    tax: Decimal
    total: Decimal
    inputs: StatementInputs
    customer_profile: CustomerProfile = field(default_factory=CustomerProfile)
