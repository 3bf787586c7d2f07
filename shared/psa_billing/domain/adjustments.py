"""Adjustments: never delete, always append (docs/billing-rules.md "Adjustments").

Original lines are immutable. An adjustment is appended with who, when and why:

* an *edit* of one original line (new description, quantity and/or unit price; the
  line's amount is recomputed);
* a *credit note* (a negative line with a description and a positive amount);
* a *charge* (a new positive line: description, quantity, unit price);
* *late time*: the late entries of the statement's customer and period, as lines the
  rules engine computed, appended as they are;
* *void*: the statement should not have been issued (docs/billing-rules.md "Void"): it
  adds no line and changes none (the statement is kept as it was), and its amount due
  becomes zero. Nothing can be appended after it.

The effective statement is the originals with their latest edit applied plus the
credit, charge and late-time lines, with subtotal, tax and total recomputed by the same
rounding. Every builder computes the statement the adjustment would make *first* and
refuses the adjustment whole (``InvalidAdjustmentError``; nothing to append) when any
figure of it would break the limits (the currency's digits; amounts and unit prices
under 10^12 in major units; quantities with at most 2 decimals and under 10^7) or its
subtotal would go below zero, by whatever sequence of edits, charges and credits.

``effective_or_problem`` computes the effective statement of stored adjustments without
raising, so that a statement holding data written before these checks still lists and
shows, with the problem named. Pure: no I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Sequence, Set
from dataclasses import dataclass, replace
from decimal import Decimal
from enum import StrEnum

from psa_billing.domain import text
from psa_billing.domain.errors import (
    BillingError,
    InvalidAdjustmentError,
    InvalidTextError,
    StatementStateError,
)
from psa_billing.domain.model import Line, LineKind
from psa_billing.domain.money import (
    MONEY_LIMIT,
    QUANTITY_DIGITS,
    QUANTITY_LIMIT,
    Currency,
    check_quantity,
    fraction_digits,
    to_decimal,
)


class AdjustmentKind(StrEnum):
    EDIT = "edit"
    CREDIT = "credit"
    CHARGE = "charge"
    LATE_TIME = "late_time"
    VOID = "void"


# Ids of the lines adjustments add, by kind: C1, C2, ... credits; A1, ... charges
# (added lines); T1, ... late time. Original lines are L1, L2, ... (rules engine).
_LINE_PREFIX = {
    AdjustmentKind.CREDIT: "C",
    AdjustmentKind.CHARGE: "A",
    AdjustmentKind.LATE_TIME: "T",
}
_LATE_KINDS = frozenset({LineKind.TICKET_TIME, LineKind.PROJECT_TIME, LineKind.INCLUDED_HOURS})


@dataclass(frozen=True, slots=True)
class Adjustment:
    number: int  # 1, 2, ... : the statement's revision after it
    kind: AdjustmentKind
    at: str  # ISO timestamp (UTC)
    actor: str
    reason: str
    line_id: str  # the edited line, or the (first) new line's id ("C1", "A1", "T1")
    description: str | None = None
    quantity: Decimal | None = None
    unit_price: Decimal | None = None
    amount: Decimal | None = None  # credit notes: the positive amount credited
    lines: tuple[Line, ...] = ()  # late time: the lines it appends, ids T1, T2, ...
    entry_ids: tuple[str, ...] = ()  # late time: the time entries those lines bill

    def summary(self, currency: Currency) -> str:
        if self.kind is AdjustmentKind.CREDIT:
            amount = _money(self.amount or Decimal(0), currency)
            return f"credit note {self.line_id}: -{amount} ({self.description})"
        if self.kind is AdjustmentKind.CHARGE:
            quantity = self.quantity or Decimal(0)
            price = self.unit_price or Decimal(0)
            return (
                f"charge {self.line_id}: {quantity.normalize():f} x {_money(price, currency)} "
                f"= {_money(quantity * price, currency)} ({self.description})"
            )
        if self.kind is AdjustmentKind.VOID:
            return "void: nothing is due; its entries and devices are billed again by the next run"
        if self.kind is AdjustmentKind.LATE_TIME:
            ids = ", ".join(line.id for line in self.lines)
            total = _money(sum((line.amount for line in self.lines), Decimal(0)), currency)
            count = len(self.entry_ids)
            entries = f"{count} late time entr{'y' if count == 1 else 'ies'}"
            return f"late time {ids}: {entries}, {total}"
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


@dataclass(frozen=True, slots=True)
class Effective:
    """The effective statement as far as its stored adjustments can be applied.

    ``revision`` is the number of adjustments applied; ``problem`` says why the rest
    were not (None when all were)."""

    totals: Totals
    revision: int
    problem: str | None = None


def _money(value: Decimal, currency: Currency) -> str:
    if abs(value) >= MONEY_LIMIT * 1000:
        return f"{value:.3E}"  # beyond the limits: say roughly how big, do not round
    return f"{currency.round(value):.{currency.exponent}f}"


def totals(lines: tuple[Line, ...], tax_percent: Decimal, currency: Currency) -> Totals:
    """docs/billing-rules.md "Money": subtotal = sum of line amounts, tax rounded half-up."""
    subtotal = sum((ln.amount for ln in lines), Decimal(0))
    tax = currency.round(subtotal * tax_percent / 100)
    return Totals(lines, subtotal, tax, subtotal + tax)


# ---------------------------------------------------------------- the effective statement


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


def _added_lines(adj: Adjustment, currency: Currency) -> tuple[Line, ...]:
    if adj.kind is AdjustmentKind.CREDIT:
        if adj.amount is None:
            raise InvalidAdjustmentError(f"credit note {adj.line_id} has no amount")
        return (
            Line(
                id=adj.line_id,
                kind=LineKind.CREDIT,
                description=adj.description or "Credit",
                quantity=Decimal(1),
                unit_price=-adj.amount,
                amount=-adj.amount,
            ),
        )
    if adj.kind is AdjustmentKind.CHARGE:
        if adj.quantity is None or adj.unit_price is None:
            raise InvalidAdjustmentError(f"charge {adj.line_id} has no quantity or unit price")
        return (
            Line(
                id=adj.line_id,
                kind=LineKind.CHARGE,
                description=adj.description or "Charge",
                quantity=adj.quantity,
                unit_price=adj.unit_price,
                amount=currency.round(adj.quantity * adj.unit_price),
            ),
        )
    if not adj.lines:
        raise InvalidAdjustmentError(f"late-time adjustment {adj.number} has no lines")
    return adj.lines


def _apply(
    originals: dict[str, Line], added: list[Line], adj: Adjustment, currency: Currency
) -> None:
    if adj.kind is AdjustmentKind.EDIT:
        if adj.line_id not in originals:
            raise InvalidAdjustmentError(
                f"adjustment {adj.number} edits line {adj.line_id}, which the statement lacks"
            )
        originals[adj.line_id] = _edited(originals[adj.line_id], adj, currency)
    elif adj.kind is AdjustmentKind.VOID:
        return  # the statement is kept as it was; only its amount due is zero
    else:
        added.extend(_added_lines(adj, currency))


def effective(
    originals: tuple[Line, ...],
    adjustments: tuple[Adjustment, ...],
    tax_percent: Decimal,
    currency: Currency,
) -> Totals:
    """The originals with their latest edit applied, plus the added lines, in order.

    Raises ``InvalidAdjustmentError`` when a stored adjustment cannot be applied (see
    ``effective_or_problem`` for the form that never raises)."""
    lines = {ln.id: ln for ln in originals}
    added: list[Line] = []
    try:
        for adj in sorted(adjustments, key=lambda a: a.number):
            _apply(lines, added, adj, currency)
        return totals((*lines.values(), *added), tax_percent, currency)
    except ArithmeticError:
        # decimal: a figure too large to round to the currency (InvalidOperation)
        raise InvalidAdjustmentError("a figure is too large to compute") from None


def _limits_problem(now: Totals, currency: Currency) -> str | None:
    """What breaks the rules in a statement's figures (docs/billing-rules.md
    "Adjustments"), or None."""
    code = currency.code
    for line in now.lines:
        quantity = abs(line.quantity)
        if quantity >= QUANTITY_LIMIT:
            return f"line {line.id}'s quantity would be {quantity:.3E}, not under {QUANTITY_LIMIT}"
        if fraction_digits(quantity) > QUANTITY_DIGITS:
            return (
                f"line {line.id}'s quantity {quantity:f} has more than {QUANTITY_DIGITS} "
                "decimal places"
            )
        for what, value in (("unit price", line.unit_price), ("amount", line.amount)):
            if abs(value) >= MONEY_LIMIT:
                return (
                    f"line {line.id}'s {what} would be {_money(value, currency)} {code}, "
                    f"not under {MONEY_LIMIT:f}"
                )
            if not currency.has_exact_digits(value):
                return f"line {line.id}'s {what} {value:f} has more decimal places than {code}"
        if line.kind is not LineKind.CREDIT and line.amount < 0:
            return f"line {line.id}'s amount would be negative"
    if now.subtotal < 0:
        return (
            f"the statement's subtotal would be {_money(now.subtotal, currency)} {code}; "
            "no sequence of adjustments may take it below zero"
        )
    for what, value in (("subtotal", now.subtotal), ("tax", now.tax), ("total", now.total)):
        if abs(value) >= MONEY_LIMIT:
            return (
                f"the statement's {what} would be {_money(value, currency)} {code}, "
                f"not under {MONEY_LIMIT:f}"
            )
    return None


def effective_or_problem(
    originals: tuple[Line, ...],
    adjustments: tuple[Adjustment, ...],
    tax_percent: Decimal,
    currency: Currency,
) -> Effective:
    """The effective statement, never raising: adjustments are applied in order and the
    first one that cannot be applied, or that would leave the statement breaking the
    rules (a figure out of limits, a subtotal below zero), stops the computation there.
    The result is then the last revision that was sound, with the problem named."""
    ordered = sorted(adjustments, key=lambda a: a.number)
    try:
        good = totals(originals, tax_percent, currency)
    except ArithmeticError:
        zero = currency.round(Decimal(0))
        return Effective(
            Totals(originals, zero, zero, zero), 0, "the original lines cannot be totalled"
        )
    for applied, adj in enumerate(ordered):
        try:
            now = effective(originals, tuple(ordered[: applied + 1]), tax_percent, currency)
            problem = _limits_problem(now, currency)
        except (InvalidAdjustmentError, ArithmeticError) as exc:
            problem = str(exc)
        if problem is not None:
            return Effective(
                good,
                applied,
                f"adjustment {adj.number} ({adj.kind}) cannot be applied: {problem}; "
                f"showing revision {applied}",
            )
        good = now
    return Effective(good, len(ordered))


# ---------------------------------------------------------------- building adjustments


def _decimal(value: str | int | Decimal, what: str) -> Decimal:
    try:
        return to_decimal(value)
    except BillingError as exc:
        raise InvalidAdjustmentError(f"{what}: {exc}") from exc


def _check_text(value: str, what: str, limit: int, *, multiline: bool = False) -> str:
    stripped = value.strip() if isinstance(value, str) else value
    try:
        return text.clean_text(stripped, max_length=limit, multiline=multiline)
    except InvalidTextError as exc:
        raise InvalidAdjustmentError(f"{what} {exc}") from None


def _quantity(value: str | int | Decimal, what: str, *, whole: bool = False) -> Decimal:
    qty = _decimal(value, what)
    try:
        return check_quantity(qty, what, whole=whole)
    except BillingError as exc:
        raise InvalidAdjustmentError(str(exc)) from None


def _price(value: str | int | Decimal, what: str, currency: Currency, hint: str = "") -> Decimal:
    price = _decimal(value, what)
    if price < 0:
        raise InvalidAdjustmentError(f"{what} {price:f} is negative{hint}")
    try:
        return currency.check_amount(price, what)
    except BillingError as exc:
        raise InvalidAdjustmentError(str(exc)) from None


def _current(
    originals: tuple[Line, ...],
    adjustments: tuple[Adjustment, ...],
    currency: Currency,
    tax_percent: Decimal,
) -> Totals:
    """The statement as it stands, refusing to build on stored data that is unsound."""
    try:
        return effective(originals, adjustments, tax_percent, currency)
    except InvalidAdjustmentError as exc:
        raise InvalidAdjustmentError(
            f"the statement's stored adjustments cannot be applied ({exc}); "
            "it cannot be adjusted further"
        ) from None


def _propose(
    originals: tuple[Line, ...],
    adjustments: tuple[Adjustment, ...],
    currency: Currency,
    tax_percent: Decimal,
    adj: Adjustment,
) -> Adjustment:
    """``adj`` if the statement it makes keeps every rule, else InvalidAdjustmentError."""
    _current(originals, adjustments, currency, tax_percent)
    now = effective(originals, (*adjustments, adj), tax_percent, currency)
    problem = _limits_problem(now, currency)
    if problem is not None:
        raise InvalidAdjustmentError(f"{adj.kind} refused: {problem}")
    return adj


def _next_line_id(adjustments: tuple[Adjustment, ...], kind: AdjustmentKind) -> tuple[str, int]:
    prefix = _LINE_PREFIX[kind]
    if kind is AdjustmentKind.LATE_TIME:
        used = sum(len(a.lines) for a in adjustments if a.kind is kind)
    else:
        used = sum(1 for a in adjustments if a.kind is kind)
    return prefix, used + 1


def _who(actor: str, reason: str) -> tuple[str, str]:
    return (
        _check_text(actor, "actor", text.ACTOR_MAX),
        _check_text(reason, "reason", text.REASON_MAX, multiline=True),
    )


def edit_line(
    originals: tuple[Line, ...],
    adjustments: tuple[Adjustment, ...],
    currency: Currency,
    *,
    tax_percent: Decimal,
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
        added: dict[str, AdjustmentKind] = {
            a.line_id: a.kind for a in adjustments if a.kind is not AdjustmentKind.EDIT
        }
        added |= {ln.id: a.kind for a in adjustments for ln in a.lines}
        if added.get(line_id) is AdjustmentKind.CREDIT:
            raise InvalidAdjustmentError(
                f"line {line_id} is a credit note; credit notes cannot be edited "
                "(add another credit note instead)"
            )
        if line_id in added:
            raise InvalidAdjustmentError(
                f"line {line_id} was added by an adjustment ({added[line_id]}) and cannot be "
                "edited; add a credit note instead"
            )
        raise InvalidAdjustmentError(f"statement has no line {text.printable(line_id)!r}")
    if description is None and quantity is None and unit_price is None:
        raise InvalidAdjustmentError("an edit must change the description, quantity or unit price")
    whole = known[line_id].kind is LineKind.DEVICES
    qty = None if quantity is None else _quantity(quantity, "quantity", whole=whole)
    price = (
        None
        if unit_price is None
        else _price(unit_price, "unit price", currency, " (use a credit note)")
    )
    actor, reason = _who(actor, reason)
    adj = Adjustment(
        number=len(adjustments) + 1,
        kind=AdjustmentKind.EDIT,
        at=at,
        actor=actor,
        reason=reason,
        line_id=line_id,
        description=(
            None
            if description is None
            else _check_text(description, "description", text.LINE_DESCRIPTION_MAX)
        ),
        quantity=qty,
        unit_price=price,
    )
    return _propose(originals, adjustments, currency, tax_percent, adj)


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
        raise InvalidAdjustmentError(f"credit amount {value:f} must be positive")
    try:
        currency.check_amount(value, "credit amount")
    except BillingError as exc:
        raise InvalidAdjustmentError(str(exc)) from None
    current = _current(originals, adjustments, currency, tax_percent)
    if value > current.subtotal:
        raise InvalidAdjustmentError(
            f"credit of {_money(value, currency)} {currency.code} is larger than the statement's "
            f"subtotal of {_money(current.subtotal, currency)} {currency.code}"
        )
    prefix, n = _next_line_id(adjustments, AdjustmentKind.CREDIT)
    actor, reason = _who(actor, reason)
    adj = Adjustment(
        number=len(adjustments) + 1,
        kind=AdjustmentKind.CREDIT,
        at=at,
        actor=actor,
        reason=reason,
        line_id=f"{prefix}{n}",
        description=_check_text(description, "description", text.LINE_DESCRIPTION_MAX),
        amount=currency.round(value),
    )
    return _propose(originals, adjustments, currency, tax_percent, adj)


def charge(
    originals: tuple[Line, ...],
    adjustments: tuple[Adjustment, ...],
    currency: Currency,
    tax_percent: Decimal,
    *,
    description: str,
    quantity: str | Decimal,
    unit_price: str | Decimal,
    at: str,
    actor: str,
    reason: str,
) -> Adjustment:
    """Validate a charge: a new positive line (quantity x unit price, rounded half-up)."""
    qty = _quantity(quantity, "quantity")
    price = _price(unit_price, "unit price", currency)
    if qty == 0 or price == 0:
        raise InvalidAdjustmentError("a charge needs a quantity and a unit price above zero")
    if currency.round(qty * price) == 0:
        raise InvalidAdjustmentError(
            f"{qty:f} x {price:f} rounds to 0 {currency.code}; a charge must be above zero"
        )
    prefix, n = _next_line_id(adjustments, AdjustmentKind.CHARGE)
    actor, reason = _who(actor, reason)
    adj = Adjustment(
        number=len(adjustments) + 1,
        kind=AdjustmentKind.CHARGE,
        at=at,
        actor=actor,
        reason=reason,
        line_id=f"{prefix}{n}",
        description=_check_text(description, "description", text.LINE_DESCRIPTION_MAX),
        quantity=qty,
        unit_price=price,
    )
    return _propose(originals, adjustments, currency, tax_percent, adj)


def late_time(
    originals: tuple[Line, ...],
    adjustments: tuple[Adjustment, ...],
    currency: Currency,
    tax_percent: Decimal,
    *,
    lines: Sequence[Line],
    entry_ids: Sequence[str],
    at: str,
    actor: str,
    reason: str,
    billed_entry_ids: Set[str] = frozenset(),
) -> Adjustment:
    """Validate a late-time adjustment: ``lines`` are the late entries' lines as the
    rules engine computed them (time lines and included-hours lines), ``entry_ids`` the
    entries they bill. The lines are appended as they are, renumbered T1, T2, ... after
    the statement's earlier late lines.

    docs/billing-rules.md "Late time": an entry is billed never twice, so an entry the
    statement already bills (``billed_entry_ids``: its original inputs) or that an
    earlier late-time adjustment billed is refused."""
    if not lines:
        raise InvalidAdjustmentError("a late-time adjustment needs at least one line")
    if not entry_ids:
        raise InvalidAdjustmentError("a late-time adjustment must name the entries it bills")
    seen: set[str] = set()
    earlier = {e for a in adjustments if a.kind is AdjustmentKind.LATE_TIME for e in a.entry_ids}
    for entry_id in entry_ids:
        shown = text.printable(entry_id)
        if entry_id in seen:
            raise InvalidAdjustmentError(f"time entry {shown} is named twice")
        if entry_id in billed_entry_ids or entry_id in earlier:
            raise InvalidAdjustmentError(
                f"time entry {shown} is already billed on this statement; an entry is billed once"
            )
        seen.add(entry_id)
    prefix, n = _next_line_id(adjustments, AdjustmentKind.LATE_TIME)
    numbered: list[Line] = []
    for offset, line in enumerate(lines):
        if line.kind not in _LATE_KINDS:
            raise InvalidAdjustmentError(
                f"late time can only add time lines, not a {line.kind} line ({line.id})"
            )
        _check_text(line.description, f"line {line.id}'s description", text.LINE_DESCRIPTION_MAX)
        numbered.append(replace(line, id=f"{prefix}{n + offset}"))
    actor, reason = _who(actor, reason)
    adj = Adjustment(
        number=len(adjustments) + 1,
        kind=AdjustmentKind.LATE_TIME,
        at=at,
        actor=actor,
        reason=reason,
        line_id=numbered[0].id,
        lines=tuple(numbered),
        entry_ids=tuple(entry_ids),
    )
    return _propose(originals, adjustments, currency, tax_percent, adj)


def void(
    adjustments: tuple[Adjustment, ...],
    *,
    at: str,
    actor: str,
    reason: str,
) -> Adjustment:
    """Validate a void (docs/billing-rules.md "Void"): who, when and why, appended like
    any adjustment. A statement is voided once: a second void is refused."""
    if any(a.kind is AdjustmentKind.VOID for a in adjustments):
        raise StatementStateError("the statement is already void")
    actor, reason = _who(actor, reason)
    return Adjustment(
        number=len(adjustments) + 1,
        kind=AdjustmentKind.VOID,
        at=at,
        actor=actor,
        reason=reason,
        line_id="",
    )
