"""What the renderers read: a statement as plain, frozen values.

Built elsewhere (``logic.delivery.statement_view``) from a stored statement's current
revision. Rendering never rounds money: every amount here is already rounded to the
currency's minor unit and is only *formatted* (``render.formatting``, per ``locale``).

Every field added after the first version has a default, and a missing optional fact
(no due date, no tax number, no logo...) is simply not printed (docs/documents.md).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from psa_billing.domain.model import Period
from psa_billing.domain.money import Currency
from psa_billing.domain.statement import plain_quantity
from psa_billing.render.formatting import Formatter, formatter

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
    legal_name: str = ""  # printed under the trading name when it differs
    tax_number: str = ""  # the MSP's tax registration number ("GB123456789")
    tax_label: str = "Tax"  # what the tax is called on the document: "VAT", "GST", "Sales tax"
    payment_instructions: str = ""  # bank details etc.; line breaks are kept
    payment_link: str = ""  # a URL where the customer can pay
    footer_note: str = ""  # small print at the foot of every page
    logo: bytes | None = None  # PNG or JPEG bytes, scaled to fit the masthead


@dataclass(frozen=True, slots=True)
class CoveredTime:
    """Ticket time a support contract covered: listed, not hidden (no charge)."""

    ticket: str  # how the customer knows the ticket: "#1042 Printer offline"
    minutes: int


@dataclass(frozen=True, slots=True)
class LineView:
    id: str
    kind: str  # "devices" | "ticket_time" | "included_hours" | "project_time" | "credit"
    description: str
    quantity: Decimal
    unit_price: Decimal
    amount: Decimal
    edited: bool = False
    minutes: int | None = None  # time lines: the exact minutes behind ``quantity`` hours
    included_minutes: int | None = None  # included-hours line: the contract's allowance
    covered: tuple[CoveredTime, ...] = ()  # included-hours line: what it covered


@dataclass(frozen=True, slots=True)
class ChangeView:
    """One change since the revision the customer was sent, in the customer's words.

    ``kind``: ``"changed"`` (a line as it was and as it is), ``"removed"`` (a line as it
    was), ``"credit"`` (``amount`` negative, ``description`` customer-facing), ``"charge"``
    (an added line), ``"late_time"`` (time recorded after the earlier revision was sent).
    """

    kind: str
    description: str
    was: LineView | None = None
    now: LineView | None = None
    amount: Decimal | None = None


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
    # Internal audit trail; kept for callers but no longer printed (docs/billing-rules.md
    # "Statement documents": who adjusted it and why stay in the audit trail).
    adjustments: tuple[AdjustmentView, ...] = ()
    due_date: date | None = None
    locale: str = "en-GB"  # BCP 47: how figures and dates are written
    customer_address_lines: tuple[str, ...] = ()
    customer_tax_id: str = ""
    # Set only when an earlier revision of this statement was actually sent.
    previous_sent_on: date | None = None
    previous_total: Decimal | None = None
    changes: tuple[ChangeView, ...] = ()
    void_on: date | None = None  # the statement is void (kept, amount due zero)

    @property
    def currency_unit(self) -> Currency:
        return Currency.of(self.currency)

    @property
    def period_label(self) -> str:
        return period_label(self.period)

    @property
    def tax_label(self) -> str:
        return f"{self.org.tax_label or 'Tax'} ({self.fmt.percent(self.tax_percent)})"

    @property
    def fmt(self) -> Formatter:
        """How this document writes its figures and dates (its locale and currency)."""
        return formatter(self.locale, self.currency)

    def money_with_code(self, amount: Decimal) -> str:
        return self.fmt.money_with_code(amount)

    @property
    def is_revised(self) -> bool:
        """The customer was sent an earlier revision: only then does a document say so."""
        return self.previous_sent_on is not None

    @property
    def is_void(self) -> bool:
        return self.void_on is not None

    @property
    def amount_due(self) -> Decimal:
        """docs/billing-rules.md "Void": a void statement's amount due is zero."""
        return self.currency_unit.round(Decimal(0)) if self.is_void else self.total


def period_label(period: Period) -> str:
    """``2026-10`` -> ``October 2026``."""
    return f"{MONTH_NAMES[period.month - 1]} {period.year}"


def duration_label(minutes: int) -> str:
    """Exact minutes as hours and minutes: ``415`` -> ``6 h 55 min``, ``60`` -> ``1 h``."""
    sign = "-" if minutes < 0 else ""
    hours, rest = divmod(abs(minutes), 60)
    if hours and rest:
        return f"{sign}{hours} h {rest} min"
    if hours:
        return f"{sign}{hours} h"
    return f"{sign}{rest} min"


def quantity_label(line: LineView) -> str:
    """Time as hours and minutes (``6 h 55 min``, so that quantity x rate = amount can be
    checked by hand) when the exact minutes are known, else hours to 2 decimals; devices
    as a count; a credit as ``1`` or blank."""
    q = line.quantity
    if line.kind in HOUR_KINDS and line.minutes is not None:
        return duration_label(line.minutes)
    if line.kind in HOUR_KINDS:
        # Display only; the billed amount was computed from exact minutes elsewhere.
        return f"{q.quantize(_HUNDREDTHS, rounding=ROUND_HALF_UP):f}"
    if line.kind == "credit":
        return "1" if q == 1 else ""
    return plain_quantity(q)


def document_texts(view: StatementView) -> Iterator[str]:
    """Every piece of text the documents print that comes from the view (names,
    addresses, descriptions, notes) or from its locale (dates, figures). The fixed English
    words are ASCII and always drawable; ``render.fonts.missing_glyphs`` checks the rest."""
    org, fmt = view.org, view.fmt
    yield from (org.name, org.legal_name, org.email, org.tax_label, org.tax_number)
    yield from org.address_lines
    yield from (org.payment_instructions, org.payment_link, org.footer_note)
    yield from (view.number, view.customer_name, view.billing_email, view.customer_tax_id)
    yield from view.customer_address_lines
    yield view.tax_label
    for day in (view.issue_date, view.due_date, view.previous_sent_on, view.void_on):
        if day is not None:
            yield fmt.date(day)
    for amount in (view.subtotal, view.tax, view.total, view.amount_due, view.previous_total):
        if amount is not None:
            yield fmt.money_with_code(amount)
    for line in view.lines:
        yield line.description
        yield fmt.money(line.amount)
        yield from (item.ticket for item in line.covered)
    for change in view.changes:
        yield change.description
