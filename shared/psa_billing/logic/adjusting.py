"""The adjustments a person may ask for, and the one place that turns such a request into
a validated Adjustment (docs/billing-rules.md "Adjustments"). Imports the domain only, so
the API function uses it without loading the PDF or email code."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from psa_billing.domain.adjustments import Adjustment, charge, credit_note, edit_line
from psa_billing.domain.statement import Statement


@dataclass(frozen=True)
class LineEdit:
    line_id: str
    description: str | None = None
    quantity: str | Decimal | None = None
    unit_price: str | Decimal | None = None


@dataclass(frozen=True)
class Credit:
    amount: str | Decimal
    description: str


@dataclass(frozen=True)
class Charge:
    """A new positive line (docs/billing-rules.md "Adjustments")."""

    description: str
    quantity: str | Decimal
    unit_price: str | Decimal


Change = LineEdit | Credit | Charge


def build_adjustment(
    st: Statement, change: Change, *, at: str, actor: str, reason: str
) -> Adjustment:
    """The adjustment to append, validated against the statement's current revision
    (raises InvalidAdjustmentError; nothing is appended then)."""
    cur = st.currency_info
    if isinstance(change, LineEdit):
        return edit_line(
            st.lines,
            st.adjustments,
            cur,
            tax_percent=st.tax_percent,
            line_id=change.line_id,
            at=at,
            actor=actor,
            reason=reason,
            description=change.description,
            quantity=change.quantity,
            unit_price=change.unit_price,
        )
    if isinstance(change, Credit):
        return credit_note(
            st.lines,
            st.adjustments,
            cur,
            st.tax_percent,
            amount=change.amount,
            description=change.description,
            at=at,
            actor=actor,
            reason=reason,
        )
    return charge(
        st.lines,
        st.adjustments,
        cur,
        st.tax_percent,
        description=change.description,
        quantity=change.quantity,
        unit_price=change.unit_price,
        at=at,
        actor=actor,
        reason=reason,
    )
