"""Use cases that turn a stored statement into what people receive: the PDF and the mail.

Imported only by the render and send functions (and the CLI): the API function never
loads the PDF or email code (cold starts, see tests/unit/test_cold_start.py).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

from psa_billing.dal.errors import TransientError, is_transient
from psa_billing.dal.objects import pdf_key
from psa_billing.domain.adjustments import AdjustmentKind
from psa_billing.domain.errors import BillingError
from psa_billing.domain.org import Organisation
from psa_billing.domain.statement import Statement
from psa_billing.logic.events import CustomerTask
from psa_billing.render.email import build_statement_email
from psa_billing.render.pdf import render_statement_pdf
from psa_billing.render.view import AdjustmentView, LineView, OrgView, StatementView


class StatementNotFoundError(BillingError):
    pass


class SendRejectedError(BillingError):
    """SES refused the message for good (not a throttle): the statement is kept, marked
    send-failed with the error, and can be sent again once the cause is fixed."""


class StatementReader(Protocol):
    def get_statement(
        self, statement_id: str, *, with_inputs: bool = False
    ) -> Statement | None: ...


class SendRepository(StatementReader, Protocol):
    def claim_for_sending(
        self, statement_id: str, revision: int, *, again: bool = False
    ) -> Statement | None: ...
    def mark_sent(self, statement_id: str, revision: int) -> None: ...
    def mark_send_failed(self, statement_id: str, revision: int, error: str) -> None: ...


class PdfStore(Protocol):
    def put_new(self, key: str, body: bytes, content_type: str) -> bool: ...
    def get(self, key: str) -> bytes: ...


class Mailer(Protocol):
    def send_raw(self, raw: bytes, *, sender: str, to: str) -> str: ...


class Orgs(Protocol):
    def get(self, org_id: str) -> Organisation: ...


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
    task: CustomerTask,
    repo: StatementReader,
    store: PdfStore,
    orgs: Orgs,
    payload_to_statement: Callable[[dict[str, Any]], Statement],
) -> dict[str, Any]:
    """Render the statement's current revision to a PDF in S3, once per revision.
    AWS requests: one PutObject (plus a GetItem when the statement was too large to
    travel in the payload)."""
    if task.statement is not None:
        st = payload_to_statement(task.statement)
    else:
        found = repo.get_statement(task.statement_id or "")
        if found is None:
            raise StatementNotFoundError(f"statement {task.statement_id!r} does not exist")
        st = found
    key = store_pdf(st, store, orgs)
    return task.out(statement=None, pdf_key=key, revision=st.revision, auto_send=st.auto_send)


def store_pdf(st: Statement, store: PdfStore, orgs: Orgs) -> str:
    """Render the statement's current revision into S3, once: the object is written only
    if it does not exist, so earlier revisions' PDFs are kept and a retry changes nothing."""
    key = statement_pdf_key(st)
    pdf = render_statement_pdf(statement_view(st, orgs.get(st.org_id)))
    store.put_new(key, pdf, "application/pdf")
    return key


def send_statement(
    statement_id: str,
    revision: int,
    *,
    repo: SendRepository,
    store: PdfStore,
    mailer: Mailer,
    orgs: Orgs,
    sender: str,
    clock: Callable[[], datetime],
    again: bool = False,
) -> bool:
    """Email one revision at most once. Returns False when it was already sent or is
    being sent by someone else (Step Functions retries and concurrent sends find the
    claim taken). AWS requests: UpdateItem (claim), GetObject, SendEmail, UpdateItem."""
    st = repo.claim_for_sending(statement_id, revision, again=again)
    if st is None:
        return False
    if st.revision > 0:  # an adjusted statement: its adjustments are items of their own
        st = repo.get_statement(statement_id) or st
    org = orgs.get(st.org_id)
    view = statement_view(st, org)
    key = statement_pdf_key(st)
    try:
        pdf = store.get(key)
        raw = build_statement_email(
            view,
            sender=sender,
            pdf=pdf,
            pdf_filename=f"{st.number}-r{st.revision}.pdf",
            sent_at=clock(),
        )
        mailer.send_raw(raw, sender=sender, to=st.billing_email)
    except Exception as exc:
        repo.mark_send_failed(statement_id, revision, f"{type(exc).__name__}: {exc}")
        if is_transient(exc):
            raise TransientError(f"sending {statement_id} r{revision}: {exc}") from exc
        raise SendRejectedError(f"sending {statement_id} r{revision} failed: {exc}") from exc
    repo.mark_sent(statement_id, revision)
    return True
