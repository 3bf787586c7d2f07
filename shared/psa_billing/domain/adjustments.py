"""Adjustments: never delete, always append (billing-rules.md "Adjustments").

Original lines are immutable. An adjustment is appended with who, when and why:
an *edit* of one line (new description, quantity and/or unit price) or a *credit
note* (a negative line). The effective statement is the originals with their latest
edit applied plus the credit lines, with subtotal, tax and total recomputed by the
same rounding. Pure: no I/O, no clock.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal
from enum import StrEnum

from psa_billing.domain.errors import BillingError
from psa_billing.domain.model import Line, LineKind
from psa_billing.domain.money import Currency, to_decimal

# Quantities are device counts or hours: two decimals are what a person can type
# and what the statement prints.
QUANTITY_DIGITS = 2


class AdjustmentKind(StrEnum):
    EDIT = "edit"
    CREDIT = "credit"


class InvalidAdjustmentError(BillingError):
    """An adjustment that would not make a correct statement; nothing is appended."""


@dataclass(frozen=True, slots=True)
class Adjustment:
    number: int  # 1, 2, ... : the statement's revision after it
    kind: AdjustmentKind
    at: str  # ISO timestamp (UTC)
    actor: str
    reason: str
    line_id: str  # the edited line, or the new credit line's id ("C1", ...)
    description: str | None = None
    quantity: Decimal | None = None
    unit_price: Decimal | None = None
    amount: Decimal | None = None  # credit notes: the positive amount credited

    def summary(self, currency: Currency) -> str:
        if self.kind is AdjustmentKind.CREDIT:
            assert self.amount is not None
            return (
                f"credit note {self.line_id}: -{_money(self.amount, currency)} ({self.description})"
            )
        parts = []
        if self.description is not None:
            parts.append(f"description {self.description!r}")
        if self.quantity is not None:
            parts.append(f"quantity {self.quantity.normalize():f}")
        if self.unit_price is not None:
            parts.append(f"unit price {_money(self.unit_price, currency)}")
        return f"edit {self.line_id}: " + ", ".join(parts)


@dataclass(frozen=True, slots=True)
class Totals:
    lines: tuple[Line, ...]
    subtotal: Decimal
    tax: Decimal
    total: Decimal


def _money(value: Decimal, currency: Currency) -> str:
    return f"{currency.round(value):.{currency.exponent}f}"


def totals(lines: tuple[Line, ...], tax_percent: Decimal, currency: Currency) -> Totals:
    """billing-rules.md "Money": subtotal = sum of line amounts, tax rounded half-up."""
    subtotal = sum((ln.amount for ln in lines), Decimal(0))
    tax = currency.round(subtotal * tax_percent / 100)
    return Totals(lines, subtotal, tax, subtotal + tax)


def _edited(line: Line, adj: Adjustment, currency: Currency) -> Line:
    quantity = adj.quantity if adj.quantity is not None else line.quantity
    unit_price = adj.unit_price if adj.unit_price is not None else line.unit_price
    if adj.quantity is not None:
        amount = currency.round(quantity * unit_price)
        minutes = quantity * 60 if line.minutes is not None else None
    elif adj.unit_price is not None:
        # A new price on time keeps the exact minutes the line was computed from.
        base = line.minutes / 60 if line.minutes is not None else line.quantity
        amount = currency.round(base * unit_price)
        minutes = line.minutes
    else:
        amount, minutes = line.amount, line.minutes
    return replace(
        line,
        description=adj.description if adj.description is not None else line.description,
        quantity=quantity,
        unit_price=unit_price,
        amount=amount,
        minutes=minutes,
    )


def effective(
    originals: tuple[Line, ...],
    adjustments: tuple[Adjustment, ...],
    tax_percent: Decimal,
    currency: Currency,
) -> Totals:
    """The originals with their latest edit applied, plus the credit lines, in order."""
    lines = {ln.id: ln for ln in originals}
    credits: list[Line] = []
    for adj in sorted(adjustments, key=lambda a: a.number):
        if adj.kind is AdjustmentKind.EDIT:
            lines[adj.line_id] = _edited(lines[adj.line_id], adj, currency)
        else:
            assert adj.amount is not None
            credits.append(
                Line(
                    id=adj.line_id,
                    kind=LineKind.CREDIT,
                    description=adj.description or "Credit",
                    quantity=Decimal(1),
                    unit_price=-adj.amount,
                    amount=-adj.amount,
                )
            )
    return totals((*lines.values(), *credits), tax_percent, currency)


def _decimal(value: str | int | Decimal, what: str) -> Decimal:
    try:
        return to_decimal(value)
    except BillingError as exc:
        raise InvalidAdjustmentError(f"{what}: {exc}") from exc


def _check_text(value: str, what: str, limit: int) -> str:
    text = value.strip()
    if not text:
        raise InvalidAdjustmentError(f"{what} must not be empty")
    if len(text) > limit:
        raise InvalidAdjustmentError(f"{what} is longer than {limit} characters")
    return text


def edit_line(
    originals: tuple[Line, ...],
    adjustments: tuple[Adjustment, ...],
    currency: Currency,
    *,
    line_id: str,
    at: str,
    actor: str,
    reason: str,
    description: str | None = None,
    quantity: str | Decimal | None = None,
    unit_price: str | Decimal | None = None,
) -> Adjustment:
    """Validate an edit of one original line; return the adjustment to append."""
    known = {ln.id: ln for ln in originals}
    if line_id not in known:
        credit_ids = {a.line_id for a in adjustments if a.kind is AdjustmentKind.CREDIT}
        if line_id in credit_ids:
            raise InvalidAdjustmentError(
                f"line {line_id} is a credit note; credit notes cannot be edited "
                "(add another credit note instead)"
            )
        raise InvalidAdjustmentError(f"statement has no line {line_id!r}")
    if description is None and quantity is None and unit_price is None:
        raise InvalidAdjustmentError("an edit must change the description, quantity or unit price")
    qty = None if quantity is None else _decimal(quantity, "quantity")
    if qty is not None:
        if qty < 0:
            raise InvalidAdjustmentError(f"quantity {qty} is negative")
        if known[line_id].kind is LineKind.DEVICES and qty != qty.to_integral_value():
            raise InvalidAdjustmentError(f"quantity {qty} of a device line must be a whole number")
        if qty != qty.quantize(Decimal(1).scaleb(-QUANTITY_DIGITS)):
            raise InvalidAdjustmentError(
                f"quantity {qty} has more than {QUANTITY_DIGITS} decimal places"
            )
    price = None if unit_price is None else _decimal(unit_price, "unit price")
    if price is not None:
        if price < 0:
            raise InvalidAdjustmentError(f"unit price {price} is negative (use a credit note)")
        if not currency.has_exact_digits(price):
            raise InvalidAdjustmentError(
                f"unit price {price} has more decimal places than {currency.code} allows "
                f"({currency.exponent})"
            )
    return Adjustment(
        number=len(adjustments) + 1,
        kind=AdjustmentKind.EDIT,
        at=at,
        actor=_check_text(actor, "actor", 200),
        reason=_check_text(reason, "reason", 1000),
        line_id=line_id,
        description=None if description is None else _check_text(description, "description", 300),
        quantity=qty,
        unit_price=price,
    )


def credit_note(
    originals: tuple[Line, ...],
    adjustments: tuple[Adjustment, ...],
    currency: Currency,
    tax_percent: Decimal,
    *,
    amount: str | Decimal,
    description: str,
    at: str,
    actor: str,
    reason: str,
) -> Adjustment:
    """Validate a credit note (a positive amount, shown as a negative line).

    A credit may not take the statement's subtotal below zero: a statement is what the
    customer owes for the month, and a refund beyond it is settled outside it
    (docs/billing-decisions.md)."""
    value = _decimal(amount, "credit amount")
    if value <= 0:
        raise InvalidAdjustmentError(f"credit amount {value} must be positive")
    if not currency.has_exact_digits(value):
        raise InvalidAdjustmentError(
            f"credit amount {value} has more decimal places than {currency.code} allows "
            f"({currency.exponent})"
        )
    current = effective(originals, adjustments, tax_percent, currency)
    if value > current.subtotal:
        raise InvalidAdjustmentError(
            f"credit of {_money(value, currency)} {currency.code} is larger than the statement's "
            f"subtotal of {_money(current.subtotal, currency)} {currency.code}"
        )
    n_credits = sum(1 for a in adjustments if a.kind is AdjustmentKind.CREDIT)
    return Adjustment(
        number=len(adjustments) + 1,
        kind=AdjustmentKind.CREDIT,
        at=at,
        actor=_check_text(actor, "actor", 200),
        reason=_check_text(reason, "reason", 1000),
        line_id=f"C{n_credits + 1}",
        description=_check_text(description, "description", 300),
        amount=currency.round(value),
    )
