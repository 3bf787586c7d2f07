"""A statement as stored: the computed draft plus identity, delivery state and revision.

docs/billing-rules.md "Once billed, billed once": at most one statement that is not void
per (org, customer, period). Its id is derived from those three and a version: the first
statement of a period is version 1 (id ``org:customer:period``); after it is voided, the
next run's statement is version 2 (``org:customer:period:v2``), and so on. A version is
created only while the one before it is void (docs/data-model.md "Billed once").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

from psa_billing.domain.adjustments import (
    Adjustment,
    AdjustmentKind,
    Effective,
    Totals,
    effective_or_problem,
)
from psa_billing.domain.delivery import DeliveryEvent
from psa_billing.domain.errors import StatementStateError
from psa_billing.domain.model import (
    CustomerProfile,
    Line,
    LineKind,
    Period,
    StatementDraft,
    StatementInputs,
)
from psa_billing.domain.money import Currency, format_amount
from psa_billing.domain.review import Evidence


class StatementStatus(StrEnum):
    PENDING_REVIEW = "pending_review"  # autoSend off: waits for someone to send it
    READY_TO_SEND = "ready_to_send"  # autoSend on: the run sends it right after rendering
    SENDING = "sending"  # claimed by one sender; nobody else may send this revision
    SENT = "sent"
    # Kept, with the error; can be sent again. Also how a claim reads once it expired
    # before its sender recorded handing the mail to SES: nothing was sent.
    SEND_FAILED = "send_failed"
    # A claim that expired after its sender recorded handing the mail to SES but before
    # it recorded SES's message id: nobody knows whether the mail went out. A person
    # decides: send it again (explicitly) or mark it sent.
    SEND_UNKNOWN = "send_unknown"
    # docs/billing-rules.md "Void": kept with its number, lines, PDFs and history; nothing
    # is due; its entries and devices are billed again by the next run. Final.
    VOID = "void"


# How long a sender may hold a revision's claim before it is released (send_failed, when
# the mail was never handed to SES) or its outcome counts as unknown (send_unknown). The
# send function's timeout is 60 s; SES answers in well under a second.
CLAIM_SECONDS = 600

# The last error of a claim released because its sender stopped before the hand-over.
STOPPED_BEFORE_SES = (
    "the sender stopped before handing the mail to SES; nothing was sent, so it can be sent again"
)


class VoidNoticeState(StrEnum):
    """Where a void statement's notice stands (docs/reliability.md "A sender that
    stops", the void notice): the same shape as a statement's send claim."""

    NOT_NEEDED = "not_needed"  # the customer was never sent the statement: nobody to tell
    NOT_SENT = "not_sent"  # due, never tried (e.g. the void's render failed): Re-send sends it
    SENDING = "sending"  # a sender holds the notice's claim
    SENT = "sent"
    FAILED = "failed"  # SES refused it, or it could not be built; Re-send tries again
    # The claim expired before its sender recorded handing the notice to SES: nothing was
    # sent; Re-send sends it.
    RELEASED = "released"
    # The claim expired after its sender recorded the hand-over, before SES's answer: it
    # may or may not have arrived. A person decides: send it anyway or mark it sent.
    UNKNOWN = "unknown"


# The last error of a released notice claim.
NOTICE_STOPPED_BEFORE_SES = (
    "the sender stopped before handing the void notice to SES; nothing was sent, so it "
    "can be sent again"
)


def void_notice_state(
    *,
    was_sent: bool,
    sent_at: datetime | None,
    error: str | None,
    claimed_at: datetime | None,
    handed_at: datetime | None,
    now: datetime,
) -> VoidNoticeState:
    """How a void statement's notice reads at ``now``. A notice claim expires
    CLAIM_SECONDS after it was taken; an outcome (sent, failed) ends it. Claims taken
    before hand-overs were recorded have no ``handed_at`` and read released, as the code
    of then took them again after CLAIM_SECONDS."""
    if sent_at is not None:
        return VoidNoticeState.SENT
    if claimed_at is not None:
        if now < claimed_at + timedelta(seconds=CLAIM_SECONDS):
            return VoidNoticeState.SENDING
        return VoidNoticeState.UNKNOWN if handed_at is not None else VoidNoticeState.RELEASED
    if error is not None:
        return VoidNoticeState.FAILED
    return VoidNoticeState.NOT_SENT if was_sent else VoidNoticeState.NOT_NEEDED


def statement_id(org_id: str, customer_id: str, period: Period | str, version: int = 1) -> str:
    """Ids never contain ':' (import schema), so the parts stay unambiguous. Version 1
    keeps the id statements always had; a re-bill after a void is ``...:v2``."""
    base = f"{org_id}:{customer_id}:{period}"
    return base if version == 1 else f"{base}:v{version}"


def check_voidable(status: StatementStatus, statement: str) -> None:
    """docs/billing-rules.md "Void": a statement is voided once, and never while it is
    being emailed (its send claim is held, or a send stopped with its outcome unknown:
    resolve that first, with `statements mark-sent` or a re-send)."""
    if status is StatementStatus.VOID:
        raise StatementStateError(f"statement {statement} is already void")
    if status is StatementStatus.SENDING:
        raise StatementStateError(
            f"statement {statement} is being sent right now; void it once the send is done"
        )
    if status is StatementStatus.SEND_UNKNOWN:
        raise StatementStateError(
            f"statement {statement}: a send stopped after handing the mail to SES, before "
            "its outcome was recorded; "
            "`statements mark-sent` or re-send it first, then void it"
        )


def check_adjustable(status: StatementStatus, statement: str) -> None:
    """A void statement takes no further adjustment (its successor is billed instead)."""
    if status is StatementStatus.VOID:
        raise StatementStateError(
            f"statement {statement} is void; the next run bills its period on a new statement"
        )


def statement_number(customer_id: str, period: Period | str) -> str:
    """What statements made before numbering existed are called (customer and month)."""
    return f"{customer_id}-{period}"


@dataclass(frozen=True, slots=True)
class Numbering:
    """docs/billing-rules.md "Statement documents": one gapless sequence per
    organisation, a configurable prefix and the number to start from."""

    prefix: str = ""
    first: int = 1
    digits: int = 6

    def format(self, n: int) -> str:
        """``KW-2026-`` and 123 -> ``KW-2026-000123``."""
        return f"{self.prefix}{n:0{self.digits}d}"


@dataclass(frozen=True, slots=True)
class Statement:
    id: str
    org_id: str
    customer_id: str
    customer_name: str
    period: Period
    currency: str
    status: StatementStatus
    revision: int
    lines: tuple[Line, ...]
    subtotal: Decimal
    tax_percent: Decimal
    tax: Decimal
    total: Decimal
    auto_send: bool
    billing_email: str
    created_at: datetime
    run_id: str
    inputs: StatementInputs | None = None
    send_attempts: int = 0
    last_error: str | None = None
    sent_revision: int | None = None
    sent_at: datetime | None = None
    adjustments: tuple[Adjustment, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)
    # Allocated when the statement is created (the organisation's sequence); empty until
    # then, and for statements made before numbering existed (see ``number``).
    allocated_number: str = ""
    # The customer's address, tax id, locale and payment terms as they were when the
    # statement was billed: a statement is a document of its moment (docs/documents.md).
    customer_profile: CustomerProfile = field(default_factory=CustomerProfile)
    # What SES reported about the mail of the last send (``message_id``), and every
    # event recorded on the statement, oldest first (docs/billing-rules.md "Delivery
    # you can see").
    message_id: str | None = None
    delivery: DeliveryEvent | None = None
    delivery_events: tuple[DeliveryEvent, ...] = ()
    # How it differs from the customer's previous statement, and what held it for
    # review (docs/billing-rules.md "Review with evidence"); None on statements made
    # before evidence was recorded.
    evidence: Evidence | None = None
    # 1 for the first statement of its (org, customer, period); n + 1 for the one a run
    # makes after version n was voided.
    version: int = 1
    # The void notice emailed to a customer who had been sent the statement.
    void_notice_sent_at: datetime | None = None
    void_notice_error: str | None = None
    # Its claim (docs/reliability.md): when taken, when its sender recorded handing the
    # notice to SES; how it reads (``void_notice_state``, as read); who marked it sent.
    void_notice_claimed_at: datetime | None = None
    void_notice_handed_at: datetime | None = None
    void_notice: VoidNoticeState | None = None
    void_notice_marked_by: str | None = None
    # The send claim of the current revision while one is held or was left behind
    # (docs/reliability.md "A sender that stops"): when it was taken, when its sender
    # recorded handing the mail to SES (None: it never did), and when it expires. What
    # is known about a send_unknown.
    claimed_at: datetime | None = None
    handed_to_ses_at: datetime | None = None
    claim_expires_at: datetime | None = None

    @property
    def is_void(self) -> bool:
        return self.status is StatementStatus.VOID

    @property
    def void_adjustment(self) -> Adjustment | None:
        """Who voided it, when and why (the audit trail keeps it as an adjustment)."""
        return next((a for a in self.adjustments if a.kind is AdjustmentKind.VOID), None)

    def amount_due(self) -> Decimal:
        """docs/billing-rules.md "Void": a void statement's amount due is zero; otherwise
        it is the current total."""
        if self.is_void:
            return self.currency_info.round(Decimal(0))
        return self.current().total

    @property
    def number(self) -> str:
        return self.allocated_number or statement_number(self.customer_id, self.period)

    @property
    def currency_info(self) -> Currency:
        return Currency.of(self.currency)

    def effective(self) -> Effective:
        """The effective statement as far as its stored adjustments can be applied,
        never raising: a statement that somehow holds bad data still lists and shows,
        with ``problem`` saying what could not be applied."""
        return effective_or_problem(
            self.lines, self.adjustments, self.tax_percent, self.currency_info
        )

    def current(self) -> Totals:
        """The effective statement: originals with their latest edits, plus credits,
        totals recomputed with the same rounding (docs/billing-rules.md "Adjustments")."""
        if not self.adjustments:
            return Totals(self.lines, self.subtotal, self.tax, self.total)
        return self.effective().totals

    @classmethod
    def from_draft(
        cls, draft: StatementDraft, *, org_id: str, run_id: str, created_at: datetime
    ) -> Statement:
        settings = draft.inputs.settings
        return cls(
            id=statement_id(org_id, draft.customer_id, draft.period),
            org_id=org_id,
            customer_id=draft.customer_id,
            customer_name=draft.customer_name,
            period=draft.period,
            currency=draft.currency,
            status=(
                StatementStatus.READY_TO_SEND
                if settings.auto_send
                else StatementStatus.PENDING_REVIEW
            ),
            revision=0,
            lines=draft.lines,
            subtotal=draft.subtotal,
            tax_percent=draft.tax_percent,
            tax=draft.tax,
            total=draft.total,
            auto_send=settings.auto_send,
            billing_email=settings.billing_email,
            created_at=created_at,
            run_id=run_id,
            inputs=draft.inputs,
            customer_profile=draft.customer_profile,
        )

    def claim_public(self) -> dict[str, Any] | None:
        """What is known of the send claim while one is held or its outcome is unknown
        (docs/reliability.md "A sender that stops"): when it was taken, when its sender
        handed the mail to SES (null: not recorded) and when the claim expires."""
        if self.status not in (StatementStatus.SENDING, StatementStatus.SEND_UNKNOWN):
            return None
        if self.claim_expires_at is None:
            return None

        def iso(moment: datetime | None) -> str | None:
            return moment.isoformat() if moment else None

        return {
            "claimedAt": iso(self.claimed_at),
            "handedToSesAt": iso(self.handed_to_ses_at),
            "expiresAt": iso(self.claim_expires_at),
        }

    def _void_public(self) -> dict[str, Any]:
        """Who voided it, when and why, and whether the customer was told."""
        a = self.void_adjustment
        return {
            "at": a.at if a else None,
            "actor": a.actor if a else None,
            "reason": a.reason if a else None,
            "revision": a.number if a else None,
            "noticeSentAt": self.void_notice_sent_at.isoformat()
            if self.void_notice_sent_at
            else None,
            "noticeError": self.void_notice_error,
            "notice": self.void_notice_public(),
        }

    def void_notice_public(self) -> dict[str, Any] | None:
        """The void notice's state with what is known (None: not void)."""
        if not self.is_void or self.void_notice is None:
            return None

        def iso(moment: datetime | None) -> str | None:
            return moment.isoformat() if moment else None

        claimed = self.void_notice_claimed_at
        held = self.void_notice in (
            VoidNoticeState.SENDING,
            VoidNoticeState.RELEASED,
            VoidNoticeState.UNKNOWN,
        )
        return {
            "state": str(self.void_notice),
            "sentAt": iso(self.void_notice_sent_at),
            "markedSentBy": self.void_notice_marked_by,
            "error": self.void_notice_error,
            "claimedAt": iso(claimed) if held else None,
            "handedToSesAt": iso(self.void_notice_handed_at) if held else None,
            "claimExpiresAt": iso(claimed + timedelta(seconds=CLAIM_SECONDS))
            if held and claimed
            else None,
        }

    def public(self) -> dict[str, Any]:
        """The statement as the API and `--json` show it: money as strings with exactly
        the currency's digits (docs/billing-rules.md "Money")."""
        cur = Currency.of(self.currency)
        eff = self.effective()
        now = eff.totals
        return {
            "id": self.id,
            "number": self.number,
            "orgId": self.org_id,
            "customerId": self.customer_id,
            "customerName": self.customer_name,
            "period": str(self.period),
            "currency": self.currency,
            "status": str(self.status),
            "revision": self.revision,
            "autoSend": self.auto_send,
            "billingEmail": self.billing_email,
            "billTo": self.customer_profile.public(),
            "createdAt": self.created_at.isoformat(),
            "runId": self.run_id,
            "lines": [line_public(line, cur) for line in now.lines],
            "subtotal": format_amount(now.subtotal, cur),
            "taxPercent": format_percent(self.tax_percent),
            "tax": format_amount(now.tax, cur),
            "total": format_amount(now.total, cur),
            "amountDue": format_amount(cur.round(Decimal(0)) if self.is_void else now.total, cur),
            "version": self.version,
            "void": self._void_public() if self.is_void else None,
            "original": {
                "lines": [line_public(line, cur) for line in self.lines],
                "subtotal": format_amount(self.subtotal, cur),
                "tax": format_amount(self.tax, cur),
                "total": format_amount(self.total, cur),
            },
            "adjustments": [adjustment_public(a, cur) for a in self.adjustments],
            "sendAttempts": self.send_attempts,
            "lastError": self.last_error,
            "sentRevision": self.sent_revision,
            "problem": eff.problem,
            "messageId": self.message_id,
            "delivery": self.delivery.public() if self.delivery else None,
            "deliveryEvents": [e.public() for e in self.delivery_events],
            "review": self.evidence.public() if self.evidence else None,
        }


def adjustment_public(a: Adjustment, cur: Currency) -> dict[str, Any]:
    out: dict[str, Any] = {
        "number": a.number,
        "kind": str(a.kind),
        "at": a.at,
        "actor": a.actor,
        "reason": a.reason,
        "lineId": a.line_id,
        "summary": a.summary(cur),
    }
    if a.description is not None:
        out["description"] = a.description
    if a.quantity is not None:
        out["quantity"] = f"{a.quantity.normalize():f}"
    if a.unit_price is not None:
        out["unitPrice"] = format_amount(a.unit_price, cur)
    if a.amount is not None:
        out["amount"] = format_amount(a.amount, cur)
    if a.lines:
        out["lines"] = [line_public(line, cur) for line in a.lines]
    if a.entry_ids:
        out["entryIds"] = list(a.entry_ids)
    return out


def format_percent(value: Decimal) -> str:
    """20 -> "20", 7.50 -> "7.5" (a percentage is not money: no fixed digits)."""
    text = f"{value.normalize():f}"
    return text


TIME_KINDS = frozenset({LineKind.TICKET_TIME, LineKind.INCLUDED_HOURS, LineKind.PROJECT_TIME})


def plain_quantity(value: Decimal) -> str:
    """A count or amount of units as a person writes it: "8", "2.5", never "2.50"."""
    if value == value.to_integral_value():
        return str(int(value))
    return f"{value.normalize():f}"


def format_quantity(line: Line) -> str:
    """The one rule for a line's quantity in the API, the CLI and the CSV: hours to 2
    decimals on time lines (their exact minutes travel beside them), every other
    quantity (devices, a credit, a charge) as a plain number. The documents print the
    same, with time as hours and minutes."""
    if line.kind in TIME_KINDS:
        return f"{line.quantity:.2f}"
    return plain_quantity(line.quantity)


def line_public(line: Line, cur: Currency) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": line.id,
        "kind": str(line.kind),
        "description": line.description,
        "quantity": format_quantity(line),
        "unitPrice": format_amount(line.unit_price, cur),
        "amount": format_amount(line.amount, cur),
    }
    if line.minutes is not None:
        out["minutes"] = f"{line.minutes.normalize():f}"
    if line.ref is not None:
        out["ref"] = line.ref
    if line.coverage is not None:
        out["includedMinutes"] = f"{line.coverage.included_minutes.normalize():f}"
        out["covered"] = [
            {"ticketId": t.ticket_id, "ticket": t.label, "minutes": f"{t.minutes.normalize():f}"}
            for t in line.coverage.tickets
        ]
    return out


def void_notice_refusal(st: Statement, *, anyway: bool, resend: str, mark_sent: str) -> str | None:
    """Why a re-send of a void statement emails no void notice (None: it may): nothing to
    tell, sent already, being sent, or its outcome unknown and not ``anyway``. ``resend``
    and ``mark_sent`` name the caller's ways to decide (the CLI's commands, the API's
    routes)."""
    state = st.void_notice
    if st.sent_revision is None or state is VoidNoticeState.NOT_NEEDED:
        return f"statement {st.id} is void; there is nothing to send"
    if state is VoidNoticeState.SENT:
        return f"statement {st.id} is void and its void notice was sent already"
    if state is VoidNoticeState.SENDING:
        return f"the void notice of {st.id} is being sent right now"
    if state is VoidNoticeState.UNKNOWN and not anyway:
        return (
            f"the void notice of {st.id} was handed to SES and its answer was never "
            "recorded, so it may or may not have arrived; check with the customer, then "
            f"send it anyway ({resend}) or mark it sent ({mark_sent})"
        )
    return None
