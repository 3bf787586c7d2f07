"""Sentences the PDF and the email both print, so that they say the same thing."""

from __future__ import annotations

from psa_billing.render.view import (
    HOUR_KINDS,
    ChangeView,
    LineView,
    StatementView,
    quantity_label,
)

__all__ = ["change_sentence", "revision_sentence", "unit_price"]


def unit_price(view: StatementView, line: LineView) -> str:
    """The unit price as printed: per hour for time, blank for a credit of no quantity."""
    if line.kind == "credit" and quantity_label(line) == "":
        return ""
    if line.kind == "included_hours" and line.unit_price == 0:
        return ""
    price = view.fmt.money(line.unit_price)
    return f"{price}/h" if line.kind in HOUR_KINDS else price


def revision_sentence(view: StatementView) -> str:
    f = view.fmt
    assert view.previous_sent_on is not None
    sent = f.date(view.previous_sent_on)
    previous = (
        f" (total {f.money_with_code(view.previous_total)})"
        if view.previous_total is not None
        else ""
    )
    return (
        f"Revised statement — replaces the one sent on {sent}{previous}; "
        f"this revision's total {f.money_with_code(view.total)}."
    )


def _line_terms(view: StatementView, line: LineView) -> str:
    qty, price = quantity_label(line), unit_price(view, line)
    amount = view.fmt.money_with_code(line.amount)
    if qty and price:
        return f"{qty} × {price} = {amount}"
    return amount


def change_sentence(view: StatementView, change: ChangeView) -> tuple[str, str]:
    """One change in the customer's words, and the figure printed beside it."""
    f = view.fmt
    amount = "" if change.amount is None else f.money_with_code(change.amount)
    if change.kind == "changed" and change.was is not None and change.now is not None:
        text = (
            f"Changed: {change.description} — was {_line_terms(view, change.was)}, "
            f"now {_line_terms(view, change.now)}"
        )
        return text, f.money_with_code(change.now.amount - change.was.amount)
    if change.kind == "removed" and change.was is not None:
        text = f"Removed: {change.description} (was {_line_terms(view, change.was)})"
        return text, f.money_with_code(-change.was.amount)
    if change.kind == "credit":
        return f"Credit: {change.description}", amount
    if change.kind == "late_time":
        detail = f" ({_line_terms(view, change.now)})" if change.now is not None else ""
        return f"Time recorded late, now billed: {change.description}{detail}", amount
    if change.now is not None and not amount:
        amount = f.money_with_code(change.now.amount)
    return f"Added: {change.description}", amount
