"""Use cases on one statement after the run: adjust, void, (re-)send, fetch its PDF."""

from __future__ import annotations

from dataclasses import replace

from psa_billing.domain.errors import BillingError
from psa_billing.domain.statement import (
    Statement,
    StatementStatus,
    VoidNoticeState,
    void_notice_refusal,
)
from psa_billing.logic.adjusting import (
    Change,
    Charge,
    Credit,
    LateTimeChange,
    LineEdit,
    build_adjustment,
    build_void,
    late_waiting,
)
from psa_billing.logic.delivery import (
    ClaimLostError,
    OutcomeRefusedError,
    StatementNotFoundError,
    email_claimed,
    render_revision,
    send_void_notice,
    statement_pdf_key,
    store_pdf,
)
from psa_billing.logic.events import SendTask
from psa_billing.logic.ports import (
    Clock,
    Mailer,
    OrgDirectory,
    PdfStore,
    StatementReader,
    StatementRepository,
)

__all__ = [
    "Change",
    "Charge",
    "Credit",
    "LateTimeChange",
    "LineEdit",
    "adjust",
    "deliver",
    "mark_sent",
    "void",
]


class NotSendableError(BillingError):
    pass


class NotRenderedError(BillingError):
    """An adjustment was recorded but the new revision's PDF could not be rendered."""


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
    store: PdfStore,
    orgs: OrgDirectory,
) -> Statement:
    """Append one adjustment (validated against the current revision), render the new
    revision's PDF into S3 and return the adjusted statement. An invalid adjustment
    raises and appends nothing.

    docs/billing-rules.md "Statement documents": every revision that exists has its
    PDF, rendered when the revision is created (the API does it through the render
    function); here from memory, as ``deliver`` does. A late-time adjustment bills the
    late entries waiting now; two at once bill them once (the append is conditional on
    the revision it was computed from)."""
    st = load(repo, statement_id)
    late = None
    if isinstance(change, LateTimeChange):
        st, late = late_waiting(repo, st)
    at = clock().isoformat(timespec="seconds")
    adj = build_adjustment(st, change, at=at, actor=actor, reason=reason, late=late)
    repo.append_adjustment(st, adj)
    # As stored now, without reading it back (the append is one conditional transaction).
    adjusted = replace(
        st,
        revision=adj.number,
        status=StatementStatus.PENDING_REVIEW,
        adjustments=(*st.adjustments, adj),
    )
    try:
        held = render_revision(adjusted, repo, store, orgs).held
    except Exception as exc:
        # The adjustment stands (it was appended first); say so, and how to get the PDF.
        raise NotRenderedError(
            f"statement {statement_id}: revision {adj.number} was recorded, but its PDF "
            f"was not rendered ({type(exc).__name__}: {exc}); `statements pdf "
            f"{statement_id}` renders it"
        ) from exc
    return replace(adjusted, last_error=held) if held else adjusted


def void(
    statement_id: str,
    *,
    reason: str,
    actor: str,
    repo: StatementRepository,
    store: PdfStore,
    mailer: Mailer,
    orgs: OrgDirectory,
    sender: str,
    clock: Clock,
) -> Statement:
    """docs/billing-rules.md "Void": mark the statement void with who, when and why, in
    one conditional transaction that also releases its entries and devices to the next
    run; render the void revision's PDF (stamped VOID; earlier PDFs are kept); and, if
    the customer had been sent it, email the void notice once. Refused with the reason
    when it is void already or being emailed."""
    st = load(repo, statement_id)
    adj = build_void(st, at=clock().isoformat(timespec="seconds"), actor=actor, reason=reason)
    repo.void_statement(st, adj)
    voided = replace(
        st, revision=adj.number, status=StatementStatus.VOID, adjustments=(*st.adjustments, adj)
    )
    key, _, _ = store_pdf(voided, store, orgs)
    if st.sent_revision is not None:
        _notify_void(voided, key, repo, store, mailer, orgs, sender, clock)
    return load(repo, statement_id)


def _notify_void(
    st: Statement,
    pdf_key: str,
    repo: StatementRepository,
    store: PdfStore,
    mailer: Mailer,
    orgs: OrgDirectory,
    sender: str,
    clock: Clock,
    *,
    anyway: bool = False,
) -> bool:
    task = SendTask(
        statement_id=st.id, revision=st.revision, pdf_key=pdf_key, notice="void", again=anyway
    )
    result = send_void_notice(
        task, repo=repo, store=store, mailer=mailer, orgs=orgs, sender=sender, clock=clock
    )
    return result.sent


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
    anyway: bool = False,
) -> Statement:
    """Render the current revision (kept in S3 once) and email it from memory (``again``:
    even if this revision was already sent: an explicit re-send). One read of the
    statement; raises NotSendableError when the revision was sent already, or is being
    sent right now. Of a void statement, a re-send emails its void notice (``anyway``:
    even one whose outcome is unknown)."""
    st = load(repo, statement_id)
    if st.is_void:
        return _resend_void_notice(st, repo, store, mailer, orgs, sender, clock, again, anyway)
    if st.status is StatementStatus.SENDING:
        raise NotSendableError(f"statement {statement_id} is being sent right now")
    if st.status is StatementStatus.SEND_UNKNOWN and not again:
        raise NotSendableError(
            f"statement {statement_id} revision {st.revision}: a send stopped after handing "
            "the mail to SES and before its answer was recorded, so it may or may not have "
            "arrived; check with the customer, then `statements resend` it or "
            "`statements mark-sent` it"
        )
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
    assert claimed.claimed_at is not None, "a claim records when it was taken"
    try:
        return email_claimed(
            replace(st, send_attempts=claimed.send_attempts),
            pdf,
            repo=repo,
            mailer=mailer,
            org=orgs.get(st.org_id),
            sender=sender,
            sent_at=clock(),
            claimed_at=claimed.claimed_at,
        )
    except OutcomeRefusedError as exc:
        raise NotSendableError(str(exc)) from exc
    except ClaimLostError as exc:
        raise NotSendableError(f"{exc}; show it and retry") from exc


def _resend_void_notice(
    st: Statement,
    repo: StatementRepository,
    store: PdfStore,
    mailer: Mailer,
    orgs: OrgDirectory,
    sender: str,
    clock: Clock,
    again: bool,
    anyway: bool,
) -> Statement:
    """A void statement is never sent again; a re-send of one that had been sent emails
    its void notice, if that has not gone out yet (e.g. it failed, or its claim was
    released); one whose outcome is unknown only ``anyway``."""
    if not again:
        raise NotSendableError(f"statement {st.id} is void; there is nothing to send")
    refused = void_notice_refusal(
        st,
        anyway=anyway,
        resend="`statements resend --anyway`",
        mark_sent="`statements mark-sent`",
    )
    if refused:
        raise NotSendableError(refused)
    key, _, _ = store_pdf(st, store, orgs)
    if not _notify_void(st, key, repo, store, mailer, orgs, sender, clock, anyway=anyway):
        raise NotSendableError(f"the void notice of {st.id} changed meanwhile; show it again")
    return load(repo, st.id)


def mark_sent(repo: StatementRepository, statement_id: str, *, actor: str) -> Statement:
    """A person confirms that a send whose outcome was unknown did arrive (of a void
    statement: its void notice)."""
    st = load(repo, statement_id)
    if st.is_void:
        if st.void_notice is not VoidNoticeState.UNKNOWN:
            raise NotSendableError(
                f"statement {statement_id} is void and its void notice is "
                f"{st.void_notice or 'not_needed'}: only a void notice whose outcome is "
                "unknown can be marked sent"
            )
        repo.mark_void_notice_sent_by_person(statement_id, actor)
        return load(repo, statement_id)
    if st.status is not StatementStatus.SEND_UNKNOWN:
        raise NotSendableError(
            f"statement {statement_id} is {st.status}: only a send whose outcome is "
            "unknown can be marked sent"
        )
    repo.mark_sent_by_person(statement_id, st.revision, actor)
    return replace(st, status=StatementStatus.SENT, sent_revision=st.revision)


def sendable(repo: StatementRepository, org_id: str, period: str) -> list[Statement]:
    """Statements held for review, or whose last send failed (with a claim released
    because its sender stopped before handing the mail to SES); never a send_unknown."""
    waiting = {StatementStatus.PENDING_REVIEW, StatementStatus.SEND_FAILED}
    return [s for s in repo.list_statements(org_id, period) if s.status in waiting]
