"""Use cases that turn a stored statement into what people receive: the PDF and the mail.

Imported only by the render and send functions (and the CLI): the API function never
loads the PDF or email code (cold starts, see tests/unit/test_cold_start.py).
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from psa_billing.dal.keys import logo_key, pdf_key
from psa_billing.domain.adjustments import AdjustmentKind, effective_or_problem
from psa_billing.domain.errors import BillingError
from psa_billing.domain.model import Line, LineKind
from psa_billing.domain.org import OrgSettings
from psa_billing.domain.statement import Statement, StatementStatus
from psa_billing.logic.events import RenderResult, RenderTask, SendResult, SendTask
from psa_billing.logic.ports import (
    Clock,
    Mailer,
    OrgDirectory,
    PdfStore,
    RenderRepository,
    SendRepository,
    VoidNoticeRepository,
)
from psa_billing.logic.transient import TransientError
from psa_billing.render.email import build_statement_email, build_void_notice_email
from psa_billing.render.fonts import MissingGlyphsError, missing_glyphs
from psa_billing.render.pdf import render_statement_pdf
from psa_billing.render.view import ChangeView, CoveredTime, LineView, OrgView, StatementView


class StatementNotFoundError(BillingError):
    pass


class SendRejectedError(BillingError):
    """SES refused the message for good (not a throttle): the statement is kept, marked
    send-failed with the error, and can be sent again once the cause is fixed."""


class ClaimLostError(BillingError):
    """The sender's claim expired and was taken over by another sender (or the statement
    it had left behind was adjusted or voided meanwhile): the statement's outcome is no
    longer this sender's to write. Raised before the hand-over (it must not send: the
    new holder does) or when its outcome write is refused (docs/data-model.md "Send
    claims")."""


class OutcomeRefusedError(ClaimLostError):
    """SES accepted this sender's mail, but its claim had been taken over meanwhile, so
    its "sent" was not recorded: the newer claim's sender records the statement's outcome.
    Logged; no retry (the state machine's would find the claim taken and change nothing)."""


LOGGER = logging.getLogger(__name__)

_TIME_KINDS = frozenset({LineKind.TICKET_TIME, LineKind.PROJECT_TIME, LineKind.INCLUDED_HOURS})
_ADDED_KINDS = {LineKind.CREDIT: "credit", LineKind.CHARGE: "charge"}


def _whole_minutes(minutes: Decimal) -> int:
    """Covered time as printed (the nearest minute; it is never charged)."""
    return int(minutes.to_integral_value(ROUND_HALF_UP))


def _line_view(ln: Line, *, edited: bool = False) -> LineView:
    minutes = (
        int(ln.minutes)
        if ln.kind in _TIME_KINDS and ln.minutes is not None and ln.minutes == int(ln.minutes)
        else None
    )
    cover = ln.coverage
    description, included = ln.description, None
    covered: tuple[CoveredTime, ...] = ()
    if cover is not None:
        # An included-hours line: "Used 8 h 30 min of 10 h included" and the tickets that
        # used them are printed under the contract's name (docs/documents.md "Covered
        # time"); the stored description (hours as decimals) stays what the API and the
        # CSV show, and is printed only when someone edited it.
        if not edited:
            description = f"{cover.contract_name}: included hours"
        included = _whole_minutes(cover.included_minutes)
        covered = tuple(CoveredTime(t.label, _whole_minutes(t.minutes)) for t in cover.tickets)
    return LineView(
        id=ln.id,
        kind=str(ln.kind),
        description=description,
        quantity=ln.quantity,
        unit_price=ln.unit_price,
        amount=ln.amount,
        edited=edited,
        minutes=minutes,
        included_minutes=included,
        covered=covered,
    )


def _changes(before: tuple[Line, ...], after: tuple[Line, ...]) -> tuple[ChangeView, ...]:
    """What changed since the revision the customer was sent, in the customer's terms:
    a line as it was and as it is, and lines added (credits, charges, late time)."""
    was = {ln.id: ln for ln in before}
    out: list[ChangeView] = []
    for ln in after:
        old = was.pop(ln.id, None)
        if old is None:
            kind = _ADDED_KINDS.get(ln.kind, "late_time")
            out.append(ChangeView(kind, ln.description, now=_line_view(ln), amount=ln.amount))
        elif old != ln:
            out.append(
                ChangeView(
                    "changed",
                    ln.description,
                    was=_line_view(old),
                    now=_line_view(ln),
                    amount=ln.amount - old.amount,
                )
            )
    for old in was.values():
        out.append(ChangeView("removed", old.description, was=_line_view(old), amount=-old.amount))
    return tuple(out)


def statement_view(st: Statement, org: OrgSettings, logo: bytes | None = None) -> StatementView:
    """What the PDF and the email show: the current revision (docs/billing-rules.md
    "Adjustments": originals with their latest edit, plus added lines), dated in the
    organisation's time zone ("Statement documents"). A revision says what it replaces
    only when an earlier revision was actually sent."""
    now = st.current()
    edited = {a.line_id for a in st.adjustments if a.kind is AdjustmentKind.EDIT}
    zone = ZoneInfo(org.time_zone)
    issued = st.created_at.astimezone(zone).date()
    # The customer's own terms and locale, as billed, where set; else the organisation's.
    bill_to = st.customer_profile
    terms = (
        bill_to.payment_terms_days
        if bill_to.payment_terms_days is not None
        else org.payment_terms_days
    )
    voided = st.void_adjustment if st.is_void else None
    void_on = datetime.fromisoformat(voided.at).astimezone(zone).date() if voided else None
    previous_sent_on = previous_total = None
    changes: tuple[ChangeView, ...] = ()
    if st.sent_revision is not None and st.sent_revision < st.revision and st.sent_at:
        sent = effective_or_problem(
            st.lines,
            tuple(a for a in st.adjustments if a.number <= st.sent_revision),
            st.tax_percent,
            st.currency_info,
        ).totals
        previous_sent_on = st.sent_at.astimezone(ZoneInfo(org.time_zone)).date()
        previous_total = sent.total
        changes = _changes(sent.lines, now.lines)
    return StatementView(
        statement_id=st.id,
        number=st.number,
        org=OrgView(
            name=org.name,
            address_lines=org.address_lines,
            email=org.email or "",
            legal_name=org.legal_name or "",
            tax_number=org.tax_registration_number or "",
            tax_label=org.tax_label or "Tax",
            payment_instructions=org.payment_instructions or "",
            payment_link=org.payment_link or "",
            footer_note=org.footer_note or "",
            logo=logo,
        ),
        customer_id=st.customer_id,
        customer_name=st.customer_name,
        billing_email=st.billing_email,
        customer_address_lines=bill_to.address_lines,
        customer_tax_id=bill_to.tax_id or "",
        period=st.period,
        issue_date=issued,
        due_date=issued + timedelta(days=terms) if terms is not None else None,
        locale=bill_to.locale or org.default_locale or "en-GB",
        currency=st.currency,
        lines=tuple(_line_view(ln, edited=ln.id in edited) for ln in now.lines),
        subtotal=now.subtotal,
        tax_percent=st.tax_percent,
        tax=now.tax,
        total=now.total,
        revision=st.revision,
        previous_sent_on=previous_sent_on,
        previous_total=previous_total,
        changes=changes,
        void_on=void_on,
    )


def statement_pdf_key(st: Statement) -> str:
    return pdf_key(st.org_id, str(st.period), st.customer_id, st.revision, st.version)


def render_statement(
    task: RenderTask, repo: RenderRepository, store: PdfStore, orgs: OrgDirectory
) -> RenderResult:
    """Render the statement's revision to a PDF in S3, once per revision. A statement
    the PDF cannot show exactly (a character no font draws) is still rendered, so it can
    be looked at, but held for review with the reason instead of being emailed.
    AWS requests: one PutObject (plus a Query when the statement was too large to
    travel in the payload, or was adjusted meanwhile; an UpdateItem when it is held)."""
    if task.statement is not None and task.revision == 0:
        st = task.statement.statement()
    else:
        found = repo.get_statement(task.statement_id)
        if found is None:
            raise StatementNotFoundError(f"statement {task.statement_id!r} does not exist")
        st = found
    return render_revision(st, repo, store, orgs)


def render_revision(
    st: Statement, repo: RenderRepository, store: PdfStore, orgs: OrgDirectory
) -> RenderResult:
    """Render the statement's current revision as the caller holds it (nothing is read
    again) into S3, and hold it for review when the PDF cannot show every character."""
    key, _, held = store_pdf(st, store, orgs)
    if held:
        repo.hold_for_review(st.id, st.revision, held)
    return RenderResult(statement_id=st.id, revision=st.revision, pdf_key=key, held=held)


def store_pdf(st: Statement, store: PdfStore, orgs: OrgDirectory) -> tuple[str, bytes, str | None]:
    """Render the statement's current revision into S3, once: the object is written only
    if it does not exist, so earlier revisions' PDFs are kept and a retry changes nothing.
    Returns the key, the bytes rendered (the caller may send them from memory) and, when
    the PDF cannot show every character, why it must be held for review."""
    key = statement_pdf_key(st)
    org = orgs.get(st.org_id)
    view = statement_view(st, org, org_logo(org, store))
    missing = missing_glyphs(view)
    pdf = render_statement_pdf(view)
    store.put_new(key, pdf, "application/pdf")
    return key, pdf, str(MissingGlyphsError(missing)) if missing else None


# Logos by key. A key names its content (dal/keys.logo_key), so an entry never goes
# stale: a warm render function reads each organisation's logo once.
_LOGOS: dict[str, bytes] = {}
_LOGOS_KEPT = 64


def org_logo(org: OrgSettings, store: PdfStore) -> bytes | None:
    """The organisation's logo, when it has one (docs/documents.md "Logo"): one
    GetObject the first time this process needs it."""
    if org.logo is None:
        return None
    key = logo_key(org.id, org.logo)
    data = _LOGOS.get(key)
    if data is None:
        data = store.get(key)
        if len(_LOGOS) >= _LOGOS_KEPT:
            _LOGOS.clear()
        _LOGOS[key] = data
    return data


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
    statement), GetObject (the render step's PDF), UpdateItem (the hand-over to SES),
    SendEmail, TransactWriteItems (sent); plus a Query for an adjusted statement, whose
    adjustments are items of their own.

    ``task.notice == "void"``: the void notice of a void statement instead
    (``send_void_notice``)."""
    if task.notice == "void":
        return send_void_notice(
            task, repo=repo, store=store, mailer=mailer, orgs=orgs, sender=sender, clock=clock
        )
    claimed = repo.claim_for_sending(task.statement_id, task.revision, again=task.again)
    if claimed is None:
        return SendResult(statement_id=task.statement_id, revision=task.revision, sent=False)
    assert claimed.claimed_at is not None, "a claim records when it was taken"
    st = claimed
    if claimed.revision > 0:
        st = repo.get_statement(task.statement_id) or claimed
    try:
        email_claimed(
            st,
            store.get(task.pdf_key),
            repo=repo,
            mailer=mailer,
            org=orgs.get(st.org_id),
            sender=sender,
            sent_at=clock(),
            claimed_at=claimed.claimed_at,
        )
    except OutcomeRefusedError:
        # This invocation's mail went out (logged by email_claimed); the newer claim's
        # sender records the statement's outcome. Not an error to retry.
        return SendResult(statement_id=task.statement_id, revision=task.revision, sent=True)
    except ClaimLostError:
        return SendResult(statement_id=task.statement_id, revision=task.revision, sent=False)
    return SendResult(statement_id=task.statement_id, revision=task.revision, sent=True)


def send_void_notice(
    task: SendTask,
    *,
    repo: VoidNoticeRepository,
    store: PdfStore,
    mailer: Mailer,
    orgs: OrgDirectory,
    sender: str,
    clock: Clock,
) -> SendResult:
    """docs/billing-rules.md "Void": a customer who had been sent the statement is told,
    once, that it is void and nothing is due, with its PDF stamped VOID attached
    (``task.pdf_key``, the void revision's). ``sent`` is False when the notice was sent
    already, another sender holds it, or its outcome is unknown (``task.again``: a
    person sends it anyway). As a statement's send (``email_claimed``): the hand-over
    to SES is recorded just before SES is called, and every outcome is written under
    the notice's own claim. A failure is recorded on the statement and the claim given
    back, so it can be sent again (`statements resend`). AWS requests: UpdateItem
    (claim), Query (the statement), GetObject (the PDF), UpdateItem (hand-over),
    SendEmail, UpdateItem (sent)."""
    claimed_at = repo.claim_void_notice(task.statement_id, anyway=task.again)
    if claimed_at is None:
        return SendResult(statement_id=task.statement_id, revision=task.revision, sent=False)
    st = repo.get_statement(task.statement_id)
    if st is None:
        raise StatementNotFoundError(f"statement {task.statement_id!r} does not exist")
    skipped = SendResult(statement_id=st.id, revision=task.revision, sent=False)

    def failed(error: str) -> bool:
        if repo.mark_void_notice_failed(st.id, error, claimed_at):
            return True
        LOGGER.warning(
            "the void notice of %s failed (%s) but its claim (taken at %s) had been taken "
            "over meanwhile; not recorded",
            st.id,
            error[:200],
            claimed_at.isoformat(),
        )
        return False

    try:
        raw = build_void_notice_email(
            statement_view(st, orgs.get(st.org_id)),
            sender=sender,
            sent_at=clock(),
            pdf=store.get(task.pdf_key),
        )
    except TransientError as exc:
        if not failed(str(exc)):
            return skipped
        raise
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"
        if not failed(error):
            return skipped
        raise SendRejectedError(f"the void notice of {st.id} failed: {error}") from exc
    try:
        handed = repo.hand_void_notice_to_ses(st.id, claimed_at)
    except Exception as exc:
        failed(
            f"the hand-over to SES was not recorded ({type(exc).__name__}: {exc}); nothing was sent"
        )
        raise
    if not handed:  # the claim expired and was taken over: the new holder sends
        return skipped
    try:
        message_id = mailer.send_raw(raw, sender=sender, to=st.billing_email)
    except TransientError as exc:
        if not failed(str(exc)):
            return skipped
        raise
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"
        if not failed(error):
            return skipped
        raise SendRejectedError(f"the void notice of {st.id} failed: {error}") from exc
    if not repo.mark_void_notice_sent(st.id, message_id, claimed_at):
        LOGGER.warning(
            "the void notice of %s: SES accepted it (message id %s) but its claim (taken at "
            "%s) had been taken over meanwhile; the newer claim records the outcome",
            st.id,
            message_id,
            claimed_at.isoformat(),
        )
    return SendResult(statement_id=st.id, revision=task.revision, sent=True)


def _record_failure(repo: SendRepository, st: Statement, error: str, claimed_at: datetime) -> None:
    """Record a failed send under its claim; ClaimLostError when the claim is no longer
    the statement's (its state belongs to the newer claim, untouched)."""
    if not repo.mark_send_failed(st.id, st.revision, error, claimed_at):
        raise ClaimLostError(
            f"statement {st.id} r{st.revision}: this send failed ({error[:200]}), but its "
            "claim had expired and been taken over meanwhile; the newer send records "
            "the statement's outcome"
        )


def email_claimed(
    st: Statement,
    pdf: bytes,
    *,
    repo: SendRepository,
    mailer: Mailer,
    org: OrgSettings,
    sender: str,
    sent_at: datetime,
    claimed_at: datetime,
) -> Statement:
    """Build and send the mail of a revision this caller claimed at ``claimed_at``;
    record the outcome under that claim. Returns the statement as it now stands.

    Just before SES is called the hand-over is recorded (docs/reliability.md "A sender
    that stops"): a sender that stops before it leaves a claim that is released as
    send_failed once it expires (nothing was sent); one that stops after it, a
    send_unknown for a person to decide. Raises ClaimLostError, sending nothing, when
    the claim was taken over meanwhile, and OutcomeRefusedError when it was taken over
    while SES accepted this mail (its outcome is then the newer claim's to record)."""
    try:
        raw = build_statement_email(
            statement_view(st, org),
            sender=sender,
            pdf=pdf,
            pdf_filename="",  # named after the statement number
            sent_at=sent_at,
        )
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"
        _record_failure(repo, st, error, claimed_at)
        raise SendRejectedError(f"sending {st.id} r{st.revision} failed: {error}") from exc
    try:
        handed = repo.hand_to_ses(st.id, st.revision, claimed_at)
    except Exception as exc:
        # Nothing was sent: the claim is given back now, so a retry may take it at once.
        error = f"the hand-over to SES was not recorded ({type(exc).__name__}: {exc})"
        _record_failure(repo, st, f"{error}; nothing was sent", claimed_at)
        raise
    if not handed:
        raise ClaimLostError(
            f"statement {st.id} r{st.revision}: this send's claim expired and was taken "
            "over before the mail was handed to SES; nothing was sent by it"
        )
    try:
        message_id = mailer.send_raw(raw, sender=sender, to=st.billing_email)
    except TransientError as exc:
        # Throttled or unreachable: kept as send_failed; the state machine retries.
        _record_failure(repo, st, str(exc), claimed_at)
        raise
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"
        _record_failure(repo, st, error, claimed_at)
        raise SendRejectedError(f"sending {st.id} r{st.revision} failed: {error}") from exc
    if not repo.mark_sent(st.id, st.revision, message_id, claimed_at):
        LOGGER.warning(
            "statement %s r%s: SES accepted the mail (message id %s) but this send's claim "
            "(taken at %s) had been taken over meanwhile; its outcome was not recorded",
            st.id,
            st.revision,
            message_id,
            claimed_at.isoformat(),
        )
        raise OutcomeRefusedError(
            f"statement {st.id} r{st.revision}: SES accepted this send's mail (message id "
            f"{message_id}), but its claim had expired and been taken over by another "
            "send meanwhile, which records the statement's outcome; show it again"
        )
    return replace(
        st,
        status=StatementStatus.SENT,
        sent_revision=st.revision,
        sent_at=sent_at,
        last_error=None,
        send_attempts=st.send_attempts,
    )
