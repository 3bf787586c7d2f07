"""What the renderers read: a statement as plain, frozen values.

Built elsewhere from a stored statement (its current revision). Rendering never rounds
money: every amount here is already rounded to the currency's minor unit, and is only
*formatted*, through ``psa_billing.domain.money`` (billing-rules.md "Money").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from psa_billing.domain.model import Period
from psa_billing.domain.money import Currency, format_amount

# Fixed English names: output must not depend on the process locale.
MONTH_NAMES = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)

HOUR_KINDS = frozenset({"ticket_time", "included_hours", "project_time"})
_HUNDREDTHS = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class OrgView:
    """The MSP (tenant) that issues the statement."""

    name: str
    address_lines: tuple[str, ...]
    email: str = ""


@dataclass(frozen=True, slots=True)
class LineView:
    id: str
    kind: str  # "devices" | "ticket_time" | "included_hours" | "project_time" | "credit"
    description: str
    quantity: Decimal
    unit_price: Decimal
    amount: Decimal
    edited: bool = False


@dataclass(frozen=True, slots=True)
class AdjustmentView:
    number: int
    at: str  # ISO timestamp, printed as given
    actor: str
    reason: str
    summary: str


@dataclass(frozen=True, slots=True)
class StatementView:
    statement_id: str
    number: str
    org: OrgView
    customer_id: str
    customer_name: str
    billing_email: str
    period: Period
    issue_date: date
    currency: str
    lines: tuple[LineView, ...]
    subtotal: Decimal
    tax_percent: Decimal
    tax: Decimal
    total: Decimal
    revision: int = 0
    adjustments: tuple[AdjustmentView, ...] = ()

    @property
    def currency_unit(self) -> Currency:
        return Currency.of(self.currency)

    def money(self, amount: Decimal) -> str:
        """billing-rules.md "Money": exactly the currency's minor-unit digits ("1200", "12.345")."""
        return format_amount(amount, self.currency_unit)

    @property
    def period_label(self) -> str:
        return period_label(self.period)

    @property
    def issue_date_label(self) -> str:
        return date_label(self.issue_date)

    @property
    def tax_label(self) -> str:
        return f"Tax ({percent_label(self.tax_percent)}%)"

    @property
    def is_adjusted(self) -> bool:
        return self.revision > 0

    @property
    def revision_label(self) -> str:
        return f"Revision {self.revision} — adjusted" if self.revision > 0 else ""


def period_label(period: Period) -> str:
    """``2026-10`` -> ``October 2026``."""
    return f"{MONTH_NAMES[period.month - 1]} {period.year}"


def date_label(day: date) -> str:
    """``2026-11-01`` -> ``1 November 2026`` (no locale involved)."""
    return f"{day.day} {MONTH_NAMES[day.month - 1]} {day.year}"


def percent_label(value: Decimal) -> str:
    """A tax rate without trailing zeros: ``20.0000`` -> ``20``, ``7.50`` -> ``7.5``."""
    text = format(value.normalize(), "f")
    return "0" if text in {"-0", ""} else text


def quantity_label(line: LineView) -> str:
    """Devices as a count, hours to 2 decimals, a credit as ``1`` or blank."""
    q = line.quantity
    if line.kind in HOUR_KINDS:
        # Display only; the billed amount was computed from exact minutes elsewhere.
        return f"{q.quantize(_HUNDREDTHS, rounding=ROUND_HALF_UP):f}"
    if line.kind == "credit":
        return "1" if q == 1 else ""
    if q == q.to_integral_value():
        return str(int(q))
    return format(q.normalize(), "f")


def unit_price_label(view: StatementView, line: LineView) -> str:
    """A credit without a quantity has no unit price worth printing."""
    if line.kind == "credit" and quantity_label(line) == "":
        return ""
    return view.money(line.unit_price)
