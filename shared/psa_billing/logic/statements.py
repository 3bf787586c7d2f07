"""Use cases on one statement after the run: adjust, (re-)send, fetch its PDF."""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal

from psa_billing.domain.adjustments import charge, credit_note, edit_line
from psa_billing.domain.errors import BillingError
from psa_billing.domain.statement import Statement, StatementStatus
from psa_billing.logic.delivery import (
    StatementNotFoundError,
    email_claimed,
    statement_pdf_key,
    store_pdf,
)
from psa_billing.logic.ports import (
    Clock,
    Mailer,
    OrgDirectory,
    PdfStore,
    StatementReader,
    StatementRepository,
)


class NotSendableError(BillingError):
    pass


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


def load(repo: StatementReader, statement_id: str) -> Statement:
    st: Statement | None = repo.get_statement(statement_id)
    if st is None:
        raise StatementNotFoundError(f"no statement {statement_id!r}")
    return st


def adjust(
    repo: StatementRepository,
    statement_id: str,
    change: Change,
    *,
    actor: str,
    reason: str,
    clock: Clock,
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
            tax_percent=st.tax_percent,
            line_id=change.line_id,
            at=at,
            actor=actor,
            reason=reason,
            description=change.description,
            quantity=change.quantity,
            unit_price=change.unit_price,
        )
    elif isinstance(change, Credit):
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
    else:
        adj = charge(
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
    repo.append_adjustment(st, adj)
    # As stored now, without reading it back (the append is one conditional transaction).
    return replace(
        st,
        revision=adj.number,
        status=StatementStatus.PENDING_REVIEW,
        adjustments=(*st.adjustments, adj),
    )


def pdf_bytes(
    repo: StatementReader,
    store: PdfStore,
    orgs: OrgDirectory,
    statement_id: str,
    revision: int | None = None,
) -> bytes:
    st = load(repo, statement_id)
    if revision is None or revision == st.revision:
        _, pdf, _ = store_pdf(st, store, orgs)
        return pdf
    if not 0 <= revision < st.revision:
        raise StatementNotFoundError(
            f"statement {statement_id} has revisions 0 to {st.revision}, not {revision}"
        )
    return store.get(statement_pdf_key(replace(st, revision=revision)))


def deliver(
    statement_id: str,
    *,
    repo: StatementRepository,
    store: PdfStore,
    mailer: Mailer,
    orgs: OrgDirectory,
    sender: str,
    clock: Clock,
    again: bool = False,
) -> Statement:
    """Render the current revision (kept in S3 once) and email it from memory (``again``:
    even if this revision was already sent: an explicit re-send). One read of the
    statement; raises NotSendableError when the revision was sent already, or is being
    sent right now."""
    st = load(repo, statement_id)
    if st.status is StatementStatus.SENDING:
        raise NotSendableError(f"statement {statement_id} is being sent right now")
    if st.status is StatementStatus.SENT and not again:
        raise NotSendableError(
            f"statement {statement_id} revision {st.revision} was already sent; "
            "use `statements resend` to send it again"
        )
    _, pdf, held = store_pdf(st, store, orgs)
    if held:
        raise NotSendableError(f"statement {statement_id} cannot be sent as it is: {held}")
    claimed = repo.claim_for_sending(statement_id, st.revision, again=again)
    if claimed is None:
        raise NotSendableError(f"statement {statement_id} changed meanwhile; show it and retry")
    return email_claimed(
        replace(st, send_attempts=claimed.send_attempts),
        pdf,
        repo=repo,
        mailer=mailer,
        org=orgs.get(st.org_id),
        sender=sender,
        sent_at=clock(),
    )


def sendable(repo: StatementRepository, org_id: str, period: str) -> list[Statement]:
    """Statements held for review, or whose last send failed."""
    waiting = {StatementStatus.PENDING_REVIEW, StatementStatus.SEND_FAILED}
    return [s for s in repo.list_statements(org_id, period) if s.status in waiting]
