"""Status rules, pure (invoiceninja-api.md §4). An unknown id is shown, not fatal."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from enum import StrEnum


class InvoiceStatus(StrEnum):
    DRAFT = "Draft"
    SENT = "Sent"
    PARTIAL = "Partial"
    PAID = "Paid"
    CANCELLED = "Cancelled"
    REVERSED = "Reversed"
    OVERDUE = "Overdue"
    UNKNOWN = "Unknown"


class QuoteStatus(StrEnum):
    DRAFT = "Draft"
    SENT = "Sent"
    APPROVED = "Approved"
    CONVERTED = "Converted"
    EXPIRED = "Expired"
    REJECTED = "Rejected"
    UNKNOWN = "Unknown"


_INVOICE = {
    "1": InvoiceStatus.DRAFT,
    "2": InvoiceStatus.SENT,
    "3": InvoiceStatus.PARTIAL,
    "4": InvoiceStatus.PAID,
    "5": InvoiceStatus.CANCELLED,
    "6": InvoiceStatus.REVERSED,
    # Computed values: the transformer never emits them today, but the model's accessor
    # does, so a server that starts sending it is still read correctly.
    "-1": InvoiceStatus.OVERDUE,
}
_QUOTE = {
    "1": QuoteStatus.DRAFT,
    "2": QuoteStatus.SENT,
    "3": QuoteStatus.APPROVED,
    "4": QuoteStatus.CONVERTED,
    # The server computes "-1" on read: sent and valid-until on or before today.
    "-1": QuoteStatus.EXPIRED,
    # Builds after 5.12.28 (Quote::STATUS_REJECTED).
    "5": QuoteStatus.REJECTED,
}
_NOT_PAYABLE = frozenset(
    {InvoiceStatus.DRAFT, InvoiceStatus.PAID, InvoiceStatus.CANCELLED, InvoiceStatus.REVERSED}
)
# Voided invoices are listed but left out of the totals.
VOID_INVOICE = frozenset({InvoiceStatus.CANCELLED, InvoiceStatus.REVERSED})


def invoice_status(status_id: str) -> InvoiceStatus:
    return _INVOICE.get(status_id.strip(), InvoiceStatus.UNKNOWN)


def quote_status(status_id: str, invoice_id: str = "") -> QuoteStatus:
    status = _QUOTE.get(status_id.strip(), QuoteStatus.UNKNOWN)
    # A quote converted to an invoice carries the invoice's id whatever its status says.
    if invoice_id and status in (QuoteStatus.APPROVED, QuoteStatus.SENT):
        return QuoteStatus.CONVERTED
    return status


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text[:10]) if text else None
    except ValueError:
        return None


def is_overdue(
    status: InvoiceStatus,
    *,
    balance: Decimal,
    partial: Decimal,
    due_date: str,
    partial_due_date: str,
    today: date,
) -> bool:
    """The React UI's "past due" rule: payable, a balance left, and the date that applies
    (the partial's due date when a partial is set) is before today."""
    if status == InvoiceStatus.OVERDUE:
        return True
    if status in _NOT_PAYABLE or status == InvoiceStatus.UNKNOWN or balance == 0:
        return False
    due = _day(partial_due_date) if partial != 0 else _day(due_date)
    return due is not None and due < today
