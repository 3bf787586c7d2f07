"""Use cases that turn a stored statement into what people receive: the PDF and the mail.

Imported only by the render and send functions (and the CLI): the API function never
loads the PDF or email code (cold starts, see tests/unit/test_cold_start.py).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from psa_billing.dal.keys import pdf_key
from psa_billing.domain.adjustments import AdjustmentKind
from psa_billing.domain.errors import BillingError
from psa_billing.domain.org import Organisation
from psa_billing.domain.statement import Statement, StatementStatus
from psa_billing.logic.events import RenderResult, RenderTask, SendResult, SendTask
from psa_billing.logic.ports import (
    Clock,
    Mailer,
    OrgDirectory,
    PdfStore,
    SendRepository,
    StatementReader,
)
from psa_billing.logic.transient import TransientError
from psa_billing.render.email import build_statement_email
from psa_billing.render.pdf import render_statement_pdf
from psa_billing.render.view import AdjustmentView, LineView, OrgView, StatementView


class StatementNotFoundError(BillingError):
    pass


class SendRejectedError(BillingError):
    """SES refused the message for good (not a throttle): the statement is kept, marked
    send-failed with the error, and can be sent again once the cause is fixed."""


def statement_view(st: Statement, org: Organisation) -> StatementView:
    """What the PDF and the email show: the current revision (billing-rules.md
    "Adjustments": originals with their latest edit, plus credit lines)."""
    now = st.current()
    edited = {a.line_id for a in st.adjustments if a.kind is AdjustmentKind.EDIT}
    cur = st.currency_info
    return StatementView(
        statement_id=st.id,
        number=st.number,
        org=OrgView(name=org.name, address_lines=org.address_lines, email=org.email),
        customer_id=st.customer_id,
        customer_name=st.customer_name,
        billing_email=st.billing_email,
        period=st.period,
        issue_date=st.created_at.date(),
        currency=st.currency,
        lines=tuple(
            LineView(
                id=ln.id,
                kind=str(ln.kind),
                description=ln.description,
                quantity=ln.quantity,
                unit_price=ln.unit_price,
                amount=ln.amount,
                edited=ln.id in edited,
            )
            for ln in now.lines
        ),
        subtotal=now.subtotal,
        tax_percent=st.tax_percent,
        tax=now.tax,
        total=now.total,
        revision=st.revision,
        adjustments=tuple(
            AdjustmentView(
                number=a.number, at=a.at, actor=a.actor, reason=a.reason, summary=a.summary(cur)
            )
            for a in st.adjustments
        ),
    )


def statement_pdf_key(st: Statement) -> str:
    return pdf_key(st.org_id, str(st.period), st.customer_id, st.revision)


def render_statement(
    task: RenderTask, repo: StatementReader, store: PdfStore, orgs: OrgDirectory
) -> RenderResult:
    """Render the statement's revision to a PDF in S3, once per revision.
    AWS requests: one PutObject (plus a Query when the statement was too large to
    travel in the payload, or was adjusted meanwhile)."""
    if task.statement is not None and task.revision == 0:
        st = task.statement.statement()
    else:
        found = repo.get_statement(task.statement_id)
        if found is None:
            raise StatementNotFoundError(f"statement {task.statement_id!r} does not exist")
        st = found
    key, _ = store_pdf(st, store, orgs)
    return RenderResult(statement_id=st.id, revision=st.revision, pdf_key=key)


def store_pdf(st: Statement, store: PdfStore, orgs: OrgDirectory) -> tuple[str, bytes]:
    """Render the statement's current revision into S3, once: the object is written only
    if it does not exist, so earlier revisions' PDFs are kept and a retry changes nothing.
    Returns the key and the bytes rendered (the caller may send them from memory)."""
    key = statement_pdf_key(st)
    pdf = render_statement_pdf(statement_view(st, orgs.get(st.org_id)))
    store.put_new(key, pdf, "application/pdf")
    return key, pdf


def send_statement(
    task: SendTask,
    *,
    repo: SendRepository,
    store: PdfStore,
    mailer: Mailer,
    orgs: OrgDirectory,
    sender: str,
    clock: Clock,
) -> SendResult:
    """Email one rendered revision at most once. ``sent`` is False when it was already
    sent or is being sent by someone else (Step Functions retries and concurrent sends
    find the claim taken). AWS requests: UpdateItem (the claim, which returns the
    statement), GetObject (the render step's PDF), SendEmail, UpdateItem; plus a Query
    for an adjusted statement, whose adjustments are items of their own."""
    claimed = repo.claim_for_sending(task.statement_id, task.revision, again=task.again)
    if claimed is None:
        return SendResult(statement_id=task.statement_id, revision=task.revision, sent=False)
    st = claimed
    if claimed.revision > 0:
        st = repo.get_statement(task.statement_id) or claimed
    email_claimed(
        st,
        store.get(task.pdf_key),
        repo=repo,
        mailer=mailer,
        org=orgs.get(st.org_id),
        sender=sender,
        sent_at=clock(),
    )
    return SendResult(statement_id=task.statement_id, revision=task.revision, sent=True)


def email_claimed(
    st: Statement,
    pdf: bytes,
    *,
    repo: SendRepository,
    mailer: Mailer,
    org: Organisation,
    sender: str,
    sent_at: datetime,
) -> Statement:
    """Build and send the mail of a revision this caller has claimed; record the outcome.
    Returns the statement as it now stands."""
    try:
        raw = build_statement_email(
            statement_view(st, org),
            sender=sender,
            pdf=pdf,
            pdf_filename=f"{st.number}-r{st.revision}.pdf",
            sent_at=sent_at,
        )
        message_id = mailer.send_raw(raw, sender=sender, to=st.billing_email)
    except TransientError as exc:
        # Throttled or unreachable: kept as send_failed; the state machine retries.
        repo.mark_send_failed(st.id, st.revision, str(exc))
        raise
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"
        repo.mark_send_failed(st.id, st.revision, error)
        raise SendRejectedError(f"sending {st.id} r{st.revision} failed: {error}") from exc
    repo.mark_sent(st.id, st.revision, message_id)
    return replace(
        st,
        status=StatementStatus.SENT,
        sent_revision=st.revision,
        sent_at=sent_at,
        last_error=None,
        send_attempts=st.send_attempts,
    )
