"""The adjustments a person may ask for, and the one place that turns such a request into
a validated Adjustment (docs/billing-rules.md "Adjustments"). Imports the domain only, so
the API function uses it without loading the PDF or email code."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from psa_billing.domain import adjustments
from psa_billing.domain.adjustments import Adjustment, charge, credit_note, edit_line
from psa_billing.domain.errors import StatementStateError
from psa_billing.domain.late import LateTime, billed_entry_ids, late_time
from psa_billing.domain.model import CustomerPeriodData, Period
from psa_billing.domain.statement import Statement, check_adjustable, check_voidable


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


@dataclass(frozen=True)
class LateTimeChange:
    """Bill the statement's late entries still waiting (docs/billing-rules.md "Late
    time"): computed by the rules from the customer's records of the period now."""


Change = LineEdit | Credit | Charge | LateTimeChange


class PeriodRecords(Protocol):
    def get_statement(
        self, statement_id: str, *, with_inputs: bool = False
    ) -> Statement | None: ...
    def load_customer_period(
        self, org_id: str, customer_id: str, period: Period
    ) -> CustomerPeriodData | None: ...


def late_waiting(repo: PeriodRecords, st: Statement) -> tuple[Statement, LateTime]:
    """The statement (with its recorded inputs) and its late entries still waiting:
    two Queries for the customer's records of the period and, when ``st`` was read
    without them, one for its inputs. A void statement has none."""
    if st.is_void:
        return st, LateTime()
    if st.inputs is None:
        st = repo.get_statement(st.id, with_inputs=True) or st
    data = repo.load_customer_period(st.org_id, st.customer_id, st.period)
    return st, late_time(data, st) if data is not None else LateTime()


def build_void(st: Statement, *, at: str, actor: str, reason: str) -> Adjustment:
    """The void to append (docs/billing-rules.md "Void"), refused with the reason when
    the statement is void already or being emailed (StatementStateError)."""
    check_voidable(st.status, st.id)
    return adjustments.void(st.adjustments, at=at, actor=actor, reason=reason)


def build_adjustment(
    st: Statement,
    change: Change,
    *,
    at: str,
    actor: str,
    reason: str,
    late: LateTime | None = None,
) -> Adjustment:
    """The adjustment to append, validated against the statement's current revision
    (raises InvalidAdjustmentError; nothing is appended then). A late-time change needs
    ``late``, the statement's late entries waiting (``late_waiting``)."""
    check_adjustable(st.status, st.id)
    cur = st.currency_info
    if isinstance(change, LateTimeChange):
        if late is None or not late.entries:
            raise StatementStateError(
                f"statement {st.id} has no late entries waiting to be billed "
                "(every entry of its period is billed on it already, and an entry is "
                "billed once)"
            )
        return adjustments.late_time(
            st.lines,
            st.adjustments,
            cur,
            st.tax_percent,
            lines=late.lines,
            entry_ids=late.entry_ids,
            at=at,
            actor=actor,
            reason=reason,
            billed_entry_ids=billed_entry_ids(st),
        )
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
