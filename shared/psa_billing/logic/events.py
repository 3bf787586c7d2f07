"""The state machine's payloads: one pydantic model per step boundary (camelCase on the
wire), each with only the fields that step needs.

    schedule / CLI / API --RunRequest--> PlanRun --PlannedRun--> (Distributed Map over
    manifest batches; inline Map over each batch's customers)
        BillTask --> Bill --BillResult--> RenderTask --> Render --RenderResult-->
        SendTask --> Send --SendResult
        (any step failing for good) FailureTask --> RecordFailure
    --CloseRunEvent--> CloseRun

The state machine keeps the run context (runId, period, orgId, customerId) in its own
state and builds each step's payload with ``Parameters`` from it
(infra/sam/statemachine/monthly_run.asl.json), so no step echoes another's fields.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from psa_billing.domain.model import (
    Coverage,
    CoveredTicket,
    CustomerProfile,
    Line,
    LineKind,
    Period,
)
from psa_billing.domain.run import Outcome
from psa_billing.domain.statement import Statement, StatementStatus


class Wire(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="forbid", frozen=True)

    def wire(self) -> dict[str, Any]:
        """The payload as Step Functions and Lambda see it (JSON-ready, camelCase)."""
        return self.model_dump(by_alias=True, mode="json")


class RunRequest(Wire):
    """What the schedule, ``psa-billing run`` and the API send: the same shape for all.
    The schedule sends no period (bill the month before the execution started) and
    no org (bill every organisation)."""

    model_config = ConfigDict(populate_by_name=True, extra="ignore", frozen=True)

    trigger: str = "manual"
    period: str | None = None
    org_id: str | None = Field(default=None, alias="orgId")
    customer_ids: list[str] | None = Field(default=None, alias="customerIds")

    @field_validator("period")
    @classmethod
    def _period(cls, value: str | None) -> str | None:
        if value is not None:
            Period.parse(value)
        return value


class PlanRunEvent(Wire):
    input: RunRequest = Field(default_factory=RunRequest)
    run_id: str = Field(alias="runId")
    started_at: datetime = Field(alias="startedAt")
    execution_arn: str = Field(default="", alias="executionArn")


class PlannedRun(Wire):
    run_id: str = Field(alias="runId")
    period: str
    bucket: str
    manifest_key: str = Field(alias="manifestKey")
    total: int  # customers in the manifest, already billed ones included (late time)
    batches: int
    already_billed: int = Field(alias="alreadyBilled")  # of them, those billed before


class CustomerRef(Wire):
    """One entry of a manifest batch."""

    org_id: str = Field(alias="orgId")
    customer_id: str = Field(alias="customerId")
    # The period has a statement that is not void: the bill step only reports the late
    # entries waiting for it (docs/billing-rules.md "Late time"). Always present: the
    # state machine reads it by path.
    billed: bool = False


class ManifestBatch(Wire):
    """One item of the run's S3 manifest: the customers one Map child bills."""

    customers: list[CustomerRef]


class BillTask(Wire):
    run_id: str = Field(alias="runId")
    period: str
    org_id: str = Field(alias="orgId")
    customer_id: str = Field(alias="customerId")
    billed: bool = False  # see CustomerRef.billed


class CoveredTicketDoc(Wire):
    ticket_id: str = Field(alias="ticketId")
    label: str
    minutes: Decimal


class CoverageDoc(Wire):
    contract_name: str = Field(alias="contractName")
    included_minutes: Decimal = Field(alias="includedMinutes")
    tickets: list[CoveredTicketDoc] = []

    @classmethod
    def of(cls, c: Coverage) -> CoverageDoc:
        return cls(
            contract_name=c.contract_name,
            included_minutes=c.included_minutes,
            tickets=[
                CoveredTicketDoc(ticket_id=t.ticket_id, label=t.label, minutes=t.minutes)
                for t in c.tickets
            ],
        )

    def coverage(self) -> Coverage:
        return Coverage(
            self.contract_name,
            self.included_minutes,
            tuple(CoveredTicket(t.ticket_id, t.label, t.minutes) for t in self.tickets),
        )


class ProfileDoc(Wire):
    """The customer's statement details the statement was billed with."""

    address_lines: list[str] = Field(default=[], alias="addressLines")
    tax_id: str | None = Field(default=None, alias="taxId")
    locale: str | None = None
    payment_terms_days: int | None = Field(default=None, alias="paymentTermsDays")

    @classmethod
    def of(cls, p: CustomerProfile) -> ProfileDoc:
        return cls(
            address_lines=list(p.address_lines),
            tax_id=p.tax_id,
            locale=p.locale,
            payment_terms_days=p.payment_terms_days,
        )

    def profile(self) -> CustomerProfile:
        return CustomerProfile(
            tuple(self.address_lines), self.tax_id, self.locale, self.payment_terms_days
        )


class LineDoc(Wire):
    id: str
    kind: LineKind
    description: str
    quantity: Decimal
    unit_price: Decimal = Field(alias="unitPrice")
    amount: Decimal
    minutes: Decimal | None = None
    ref: str | None = None
    coverage: CoverageDoc | None = None

    @classmethod
    def of(cls, line: Line) -> LineDoc:
        return cls(
            id=line.id,
            kind=line.kind,
            description=line.description,
            quantity=line.quantity,
            unit_price=line.unit_price,
            amount=line.amount,
            minutes=line.minutes,
            ref=line.ref,
            coverage=CoverageDoc.of(line.coverage) if line.coverage else None,
        )

    def line(self) -> Line:
        return Line(
            id=self.id,
            kind=self.kind,
            description=self.description,
            quantity=self.quantity,
            unit_price=self.unit_price,
            amount=self.amount,
            minutes=self.minutes,
            ref=self.ref,
            coverage=self.coverage.coverage() if self.coverage else None,
        )


class StatementDoc(Wire):
    """A new statement (revision 0, no adjustments yet, without its inputs) as it travels
    from Bill to Render, which saves Render a read. Decimals travel as exact strings."""

    id: str
    org_id: str = Field(alias="orgId")
    customer_id: str = Field(alias="customerId")
    customer_name: str = Field(alias="customerName")
    period: str
    currency: str
    status: StatementStatus
    lines: list[LineDoc]
    subtotal: Decimal
    tax_percent: Decimal = Field(alias="taxPercent")
    tax: Decimal
    total: Decimal
    auto_send: bool = Field(alias="autoSend")
    billing_email: str = Field(alias="billingEmail")
    created_at: datetime = Field(alias="createdAt")
    run_id: str = Field(alias="runId")
    number: str
    profile: ProfileDoc = Field(default_factory=ProfileDoc)
    version: int = 1  # a re-bill after a void: its PDFs have keys of their own

    @classmethod
    def of(cls, st: Statement) -> StatementDoc:
        return cls(
            id=st.id,
            number=st.number,
            org_id=st.org_id,
            customer_id=st.customer_id,
            customer_name=st.customer_name,
            period=str(st.period),
            currency=st.currency,
            status=st.status,
            lines=[LineDoc.of(ln) for ln in st.lines],
            subtotal=st.subtotal,
            tax_percent=st.tax_percent,
            tax=st.tax,
            total=st.total,
            auto_send=st.auto_send,
            billing_email=st.billing_email,
            created_at=st.created_at,
            run_id=st.run_id,
            profile=ProfileDoc.of(st.customer_profile),
            version=st.version,
        )

    def statement(self) -> Statement:
        return Statement(
            id=self.id,
            org_id=self.org_id,
            customer_id=self.customer_id,
            customer_name=self.customer_name,
            period=Period.parse(self.period),
            currency=self.currency,
            status=self.status,
            revision=0,
            lines=tuple(doc.line() for doc in self.lines),
            subtotal=self.subtotal,
            tax_percent=self.tax_percent,
            tax=self.tax,
            total=self.total,
            auto_send=self.auto_send,
            billing_email=self.billing_email,
            created_at=self.created_at,
            run_id=self.run_id,
            allocated_number=self.number,
            customer_profile=self.profile.profile(),
            version=self.version,
        )


class BillResult(Wire):
    """Every field is always present (null when it does not apply), because the state
    machine's Choice and Parameters read them by path."""

    outcome: Outcome
    statement_id: str | None = Field(default=None, alias="statementId")
    revision: int | None = None
    auto_send: bool | None = Field(default=None, alias="autoSend")
    # Already billed: late entries waiting for a late-time adjustment of the statement.
    late_entries: int = Field(default=0, alias="lateEntries")
    late_minutes: int = Field(default=0, alias="lateMinutes")
    # The new statement itself while it is small enough for the state payload (Step
    # Functions allows 256 KB); otherwise null and Render reads it.
    statement: StatementDoc | None = None


class RenderTask(Wire):
    statement_id: str = Field(alias="statementId")
    revision: int
    statement: StatementDoc | None = None


class RenderResult(Wire):
    statement_id: str = Field(alias="statementId")
    revision: int
    pdf_key: str = Field(alias="pdfKey")
    # Why it must not go out as it is (e.g. characters no font can draw): the statement
    # is held for review with this reason, and the run does not email it.
    held: str | None = None


class SendTask(Wire):
    statement_id: str = Field(alias="statementId")
    revision: int
    pdf_key: str = Field(alias="pdfKey")
    # An explicit re-send of a revision already sent; of a void notice, one whose outcome
    # is unknown sent anyway.
    again: bool = False
    # "void": the void notice of a void statement (docs/billing-rules.md "Void").
    notice: Literal["statement", "void"] = "statement"


class SendResult(Wire):
    statement_id: str = Field(alias="statementId")
    revision: int
    sent: bool


class FailureTask(Wire):
    run_id: str = Field(alias="runId")
    org_id: str = Field(alias="orgId")
    customer_id: str = Field(alias="customerId")
    error: dict[str, Any]  # Step Functions' {Error, Cause}
    billed: bool = False  # see CustomerRef.billed: only its late-time report failed


class FailureResult(Wire):
    outcome: Outcome = Outcome.FAILED
    error: str


class CloseRunEvent(Wire):
    model_config = ConfigDict(populate_by_name=True, extra="ignore", frozen=True)

    run_id: str = Field(alias="runId")
    period: str
    map_error: dict[str, Any] | None = Field(default=None, alias="mapError")


class LateWaiting(Wire):
    org_id: str = Field(alias="orgId")
    customer_id: str = Field(alias="customerId")
    statement_id: str | None = Field(default=None, alias="statementId")
    entries: int
    minutes: int
    hours: str  # minutes / 60, to 2 decimals


class RunSummary(Wire):
    run_id: str = Field(alias="runId")
    period: str
    status: str
    total: int
    counts: dict[str, int]
    failures: list[dict[str, str]]
    error: str | None = None
    # docs/billing-rules.md "Late time": per already-billed customer with late entries
    # waiting, the statement a late-time adjustment would bill them on.
    late: list[LateWaiting] = Field(default_factory=list)


# -- the daily schedule (logic/schedule.py) ---------------------------------------------


class ScheduledEvent(Wire):
    """What EventBridge's schedule sends (a "Scheduled Event"): only its ``time`` is
    read, the instant the rule fired, so a late or repeated delivery of one trigger
    decides the same. ``psa-billing local schedule --now`` sends the same document."""

    model_config = ConfigDict(populate_by_name=True, extra="ignore", frozen=True)

    time: datetime

    @field_validator("time")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("time must carry its UTC offset (e.g. 2026-12-01T00:15:00Z)")
        return value


class ScheduledRunDoc(Wire):
    org_id: str = Field(alias="orgId")
    period: str
    run_id: str = Field(alias="runId")
    due_at: str = Field(alias="dueAt")
    execution_arn: str | None = Field(default=None, alias="executionArn")


class ScheduleReport(Wire):
    now: str
    organisations: int
    already_started: int = Field(alias="alreadyStarted")
    started: list[ScheduledRunDoc]
    # Due, but another wake-up claimed it first (it starts it).
    skipped: list[ScheduledRunDoc]
