"""Use cases on one statement after the run: adjust, (re-)send, fetch its PDF."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

from psa_billing.domain.adjustments import Adjustment, credit_note, edit_line
from psa_billing.domain.errors import BillingError
from psa_billing.domain.statement import Statement, StatementStatus
from psa_billing.logic.delivery import (
    Mailer,
    Orgs,
    PdfStore,
    SendRepository,
    StatementNotFoundError,
    send_statement,
    statement_pdf_key,
    store_pdf,
)


class NotSendableError(BillingError):
    pass


class AdjustRepository(Protocol):
    def get_statement(
        self, statement_id: str, *, with_inputs: bool = False
    ) -> Statement | None: ...
    def append_adjustment(self, st: Statement, adj: Adjustment) -> None: ...


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


def load(repo: Any, statement_id: str) -> Statement:
    st: Statement | None = repo.get_statement(statement_id)
    if st is None:
        raise StatementNotFoundError(f"no statement {statement_id!r}")
    return st


def adjust(
    repo: AdjustRepository,
    statement_id: str,
    change: LineEdit | Credit,
    *,
    actor: str,
    reason: str,
    clock: Callable[[], datetime],
) -> Statement:
    """Append one adjustment (validated against the current revision) and return the
    adjusted statement. An invalid adjustment raises and appends nothing."""
    st = load(repo, statement_id)
    at = clock().isoformat(timespec="seconds")
    cur = st.currency_info
    if isinstance(change, LineEdit):
        adj = edit_line(
            st.lines,
            st.adjustments,
            cur,
            line_id=change.line_id,
            at=at,
            actor=actor,
            reason=reason,
            description=change.description,
            quantity=change.quantity,
            unit_price=change.unit_price,
        )
    else:
        adj = credit_note(
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
    repo.append_adjustment(st, adj)
    return load(repo, statement_id)


def pdf_bytes(
    repo: Any, store: PdfStore, orgs: Orgs, statement_id: str, revision: int | None = None
) -> bytes:
    st = load(repo, statement_id)
    if revision is None or revision == st.revision:
        return store.get(store_pdf(st, store, orgs))
    if not 0 <= revision < st.revision:
        raise StatementNotFoundError(
            f"statement {statement_id} has revisions 0 to {st.revision}, not {revision}"
        )
    return store.get(statement_pdf_key(replace(st, revision=revision)))


def deliver(
    statement_id: str,
    *,
    repo: SendRepository,
    store: PdfStore,
    mailer: Mailer,
    orgs: Orgs,
    sender: str,
    clock: Callable[[], datetime],
    again: bool = False,
) -> Statement:
    """Render the current revision if needed and email it (``again``: even if this
    revision was already sent — an explicit re-send). Raises NotSendableError when
    the revision was sent already, or is being sent right now."""
    st = load(repo, statement_id)
    if st.status is StatementStatus.SENDING:
        raise NotSendableError(f"statement {statement_id} is being sent right now")
    if st.status is StatementStatus.SENT and not again:
        raise NotSendableError(
            f"statement {statement_id} revision {st.revision} was already sent; "
            "use `statements resend` to send it again"
        )
    store_pdf(st, store, orgs)
    sent = send_statement(
        statement_id,
        st.revision,
        repo=repo,
        store=store,
        mailer=mailer,
        orgs=orgs,
        sender=sender,
        clock=clock,
        again=again,
    )
    if not sent:
        raise NotSendableError(f"statement {statement_id} changed meanwhile; show it and retry")
    return load(repo, statement_id)


def sendable(repo: Any, org_id: str, period: str) -> list[Statement]:
    """Statements held for review, or whose last send failed."""
    waiting = {StatementStatus.PENDING_REVIEW, StatementStatus.SEND_FAILED}
    return [s for s in repo.list_statements(org_id, period) if s.status in waiting]
