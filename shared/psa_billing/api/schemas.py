"""Request and response models (camelCase on the wire; money as strings with exactly
the currency's digits; ``XCreate`` in, ``XPublic`` out)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from psa_billing.domain.fields import AddressLines, LocaleTag, PaymentDays, TaxNumber
from psa_billing.domain.org import OrgSettingsUpdate
from psa_billing.ingest.document import BillingRecord

_MONEY_PATTERN = r"^[0-9]{1,12}(\.[0-9]{1,6})?$"
_PERIOD_PATTERN = r"^[0-9]{4}-[0-9]{2}$"
_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"

MoneyText = Annotated[str, StringConstraints(pattern=_MONEY_PATTERN, max_length=19)]
QuantityText = Annotated[str, StringConstraints(pattern=r"^[0-9]{1,9}(\.[0-9]{1,6})?$")]
Reason = Annotated[str, StringConstraints(min_length=1, max_length=1000)]
Description = Annotated[str, StringConstraints(min_length=1, max_length=300)]
Id = Annotated[str, StringConstraints(pattern=_ID_PATTERN)]
PeriodText = Annotated[str, StringConstraints(pattern=_PERIOD_PATTERN)]


class Wire(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="forbid")


class Out(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="ignore")


# ------------------------------------------------------------------------- sign-in


class LoginCreate(Wire):
    email: Annotated[str, StringConstraints(min_length=3, max_length=254)]
    password: Annotated[str, StringConstraints(min_length=1, max_length=256)]
    mfa_code: Annotated[str, StringConstraints(max_length=10)] | None = Field(
        default=None, alias="mfaCode"
    )


class RefreshCreate(Wire):
    refresh_token: Annotated[str, StringConstraints(min_length=1, max_length=8192)] = Field(
        alias="refreshToken"
    )


class TokensPublic(Out):
    access_token: str = Field(alias="accessToken")
    id_token: str = Field(alias="idToken")
    refresh_token: str = Field(alias="refreshToken")
    expires_in: int = Field(alias="expiresIn")


class LogoutPublic(Out):
    signed_out: bool = Field(alias="signedOut")


# ------------------------------------------------------------------------- statements


class CoveredTicketPublic(Out):
    ticket_id: str = Field(alias="ticketId")
    ticket: str
    minutes: str


class BillToPublic(Out):
    """The customer's details as the statement was billed with them (those set)."""

    address_lines: list[str] | None = Field(default=None, alias="addressLines")
    tax_id: str | None = Field(default=None, alias="taxId")
    locale: str | None = None
    payment_terms_days: int | None = Field(default=None, alias="paymentTermsDays")


class LinePublic(Out):
    id: str
    kind: str
    description: str
    quantity: str
    unit_price: str = Field(alias="unitPrice")
    amount: str
    minutes: str | None = None
    ref: str | None = None
    # Included-hours lines: the contract's included minutes and the tickets that used them.
    included_minutes: str | None = Field(default=None, alias="includedMinutes")
    covered: list[CoveredTicketPublic] | None = None


class AdjustmentPublic(Out):
    number: int
    kind: str
    at: str
    actor: str
    reason: str
    line_id: str = Field(alias="lineId")
    summary: str
    description: str | None = None
    quantity: str | None = None
    unit_price: str | None = Field(default=None, alias="unitPrice")
    amount: str | None = None
    lines: list[LinePublic] | None = None  # late time: the lines it appended
    entry_ids: list[str] | None = Field(default=None, alias="entryIds")  # late time


class TotalsPublic(Out):
    lines: list[LinePublic]
    subtotal: str
    tax: str
    total: str


class MailEventPublic(Out):
    """What SES reported about a statement's mail (docs/billing-rules.md "Delivery you
    can see")."""

    event: Literal["delivered", "bounced", "complained", "rejected"]
    at: str
    message_id: str = Field(alias="messageId")
    revision: int
    recipients: list[str]
    summary: str
    source: str
    bounce_type: str | None = Field(default=None, alias="bounceType")
    bounce_sub_type: str | None = Field(default=None, alias="bounceSubType")
    diagnostic: str | None = None
    feedback_type: str | None = Field(default=None, alias="feedbackType")


class ClaimPublic(Out):
    """The send claim while one is held, or of a send whose outcome is unknown
    (docs/reliability.md "A sender that stops"): ``handedToSesAt`` null means the sender
    never recorded handing the mail to SES; ``claimedAt`` is null on claims taken before
    hand-overs were recorded."""

    claimed_at: str | None = Field(default=None, alias="claimedAt")
    handed_to_ses_at: str | None = Field(default=None, alias="handedToSesAt")
    expires_at: str = Field(alias="expiresAt")


class DeliveryPublic(Out):
    status: str
    send_attempts: int = Field(alias="sendAttempts")
    last_error: str | None = Field(default=None, alias="lastError")
    sent_revision: int | None = Field(default=None, alias="sentRevision")
    sent_at: str | None = Field(default=None, alias="sentAt")
    message_id: str | None = Field(default=None, alias="messageId")
    # Only while the send claim is held (sending) or its outcome is unknown (send_unknown).
    claim: ClaimPublic | None = None
    # SES's latest news of the last send's mail; null until SES reports any.
    last_event: MailEventPublic | None = Field(default=None, alias="lastEvent")
    events: list[MailEventPublic] = Field(default_factory=list)


class PreviousStatementPublic(Out):
    statement_id: str = Field(alias="statementId")
    number: str
    period: str
    currency: str
    device_count: int = Field(alias="deviceCount")
    billed_minutes: str = Field(alias="billedMinutes")
    total: str


class ReviewPublic(Out):
    """How the statement differs from the customer's previous one, and why it was held
    for review (docs/billing-rules.md "Review with evidence"). Changes are null with no
    previous statement; ``held`` is empty when no threshold was passed."""

    previous: PreviousStatementPublic | None
    device_count: int = Field(alias="deviceCount")
    device_count_change: int | None = Field(alias="deviceCountChange")
    devices_added_count: int = Field(alias="devicesAddedCount")
    devices_removed_count: int = Field(alias="devicesRemovedCount")
    billed_minutes: str = Field(alias="billedMinutes")
    billed_minutes_change: str | None = Field(alias="billedMinutesChange")
    total: str
    total_change: str | None = Field(alias="totalChange")
    total_change_percent: str | None = Field(alias="totalChangePercent")
    held: list[str]
    note: str | None = None
    # On the statement detail only (the list gives the counts).
    devices_added: list[str] | None = Field(default=None, alias="devicesAdded")
    devices_removed: list[str] | None = Field(default=None, alias="devicesRemoved")


class HistoryEventPublic(Out):
    at: str
    event: Literal[
        "created",
        "adjusted",
        "voided",
        "sent",
        "void notice sent",
        "delivered",
        "bounced",
        "complained",
        "rejected",
    ]
    revision: int
    actor: str | None = None
    reason: str | None = None  # why (adjustments, a void): the audit trail, never printed
    summary: str


class VoidNoticePublic(Out):
    """Where the void notice stands (docs/reliability.md, the void notice): ``state`` is
    not_needed (never sent the statement: nobody to tell), not_sent (due, never tried),
    sending, sent (``markedSentBy``: a person recorded it), failed (``error``),
    released (its sender stopped before handing it to SES: nothing sent, Re-send sends
    it) or unknown (handed to SES, its answer never recorded: resend with anyway=true
    or mark-sent). The claim's times are given while one is held or was left behind."""

    state: str
    sent_at: str | None = Field(default=None, alias="sentAt")
    marked_sent_by: str | None = Field(default=None, alias="markedSentBy")
    error: str | None = None
    claimed_at: str | None = Field(default=None, alias="claimedAt")
    handed_to_ses_at: str | None = Field(default=None, alias="handedToSesAt")
    claim_expires_at: str | None = Field(default=None, alias="claimExpiresAt")


class VoidPublic(Out):
    """Who voided the statement, when and why; whether the customer was told."""

    at: str | None = None
    actor: str | None = None
    reason: str | None = None
    revision: int | None = None
    notice_sent_at: str | None = Field(default=None, alias="noticeSentAt")
    notice_error: str | None = Field(default=None, alias="noticeError")
    notice: VoidNoticePublic | None = None


class LateEntryPublic(Out):
    id: str
    date: str
    minutes: int
    ticket_id: str | None = Field(default=None, alias="ticketId")
    project_id: str | None = Field(default=None, alias="projectId")
    description: str
    user_id: str = Field(alias="userId")


class LateWaitingPublic(Out):
    """Late entries of the statement's period not billed yet: a `late_time` adjustment
    bills them (docs/billing-rules.md "Late time")."""

    count: int
    minutes: int
    hours: str
    entries: list[LateEntryPublic]


class StatementSummaryPublic(Out):
    id: str
    number: str
    org_id: str = Field(alias="orgId")
    customer_id: str = Field(alias="customerId")
    customer_name: str = Field(alias="customerName")
    period: str
    currency: str
    status: str
    revision: int
    subtotal: str
    tax_percent: str = Field(alias="taxPercent")
    tax: str
    total: str
    amount_due: str = Field(alias="amountDue")  # zero once void; else the total
    version: int  # 2, 3, ... : billed again after the earlier versions were voided
    created_at: str = Field(alias="createdAt")
    # The last send's mail: delivered, bounced, complained or rejected (null: no news).
    mail_event: str | None = Field(default=None, alias="mailEvent")
    review: ReviewPublic | None = None


class StatementPublic(StatementSummaryPublic):
    auto_send: bool = Field(alias="autoSend")
    billing_email: str = Field(alias="billingEmail")
    bill_to: BillToPublic = Field(default_factory=BillToPublic, alias="billTo")
    run_id: str = Field(alias="runId")
    lines: list[LinePublic]
    original: TotalsPublic
    adjustments: list[AdjustmentPublic]
    delivery: DeliveryPublic
    history: list[HistoryEventPublic]
    void: VoidPublic | None = None
    late_waiting: LateWaitingPublic | None = Field(default=None, alias="lateWaiting")


class StatementPagePublic(Out):
    items: list[StatementSummaryPublic]
    next_cursor: str | None = Field(default=None, alias="nextCursor")


class EditAdjustmentCreate(Wire):
    """Change one original line's description, quantity and/or unit price."""

    kind: Literal["edit"]
    line_id: Annotated[str, StringConstraints(min_length=1, max_length=20)] = Field(alias="lineId")
    description: Description | None = None
    quantity: QuantityText | None = None
    unit_price: MoneyText | None = Field(default=None, alias="unitPrice")
    reason: Reason


class CreditAdjustmentCreate(Wire):
    """A credit note: a positive amount, shown as a negative line."""

    kind: Literal["credit"]
    amount: MoneyText
    description: Description
    reason: Reason


class ChargeAdjustmentCreate(Wire):
    """An extra line: quantity times unit price."""

    kind: Literal["charge"]
    description: Description
    quantity: QuantityText
    unit_price: MoneyText = Field(alias="unitPrice")
    reason: Reason


class LateTimeAdjustmentCreate(Wire):
    """Bill the late entries waiting, as lines computed by the rules (the contract's
    included minutes still left on the statement, then the rates); refused when none
    is waiting."""

    kind: Literal["late_time"]
    reason: Reason


# Discriminated on "kind".
AdjustmentCreate = Annotated[
    EditAdjustmentCreate
    | CreditAdjustmentCreate
    | ChargeAdjustmentCreate
    | LateTimeAdjustmentCreate,
    Field(discriminator="kind"),
]


class VoidCreate(Wire):
    """Why the statement should not have been issued (kept in the audit trail)."""

    reason: Reason


class SendPublic(Out):
    statement: StatementPublic
    sent: bool
    pdf_key: str = Field(alias="pdfKey")


# ------------------------------------------------------------------------- runs


class RunCreate(Wire):
    period: PeriodText
    org_id: Id | None = Field(default=None, alias="orgId")
    customer_ids: Annotated[list[Id], Field(min_length=1, max_length=1000)] | None = Field(
        default=None, alias="customerIds"
    )


class RunStartedPublic(Out):
    run_id: str = Field(alias="runId")
    org_id: str = Field(alias="orgId")
    period: str
    status: str


class ProgressPublic(Out):
    done: int
    failed: int
    total: int | None


class OutcomePublic(Out):
    customer_id: str = Field(alias="customerId")
    outcome: str
    statement_id: str | None = Field(default=None, alias="statementId")
    error: str | None = None
    # Already billed: late entries waiting for a late_time adjustment of the statement.
    late_entries: int = Field(default=0, alias="lateEntries")
    late_minutes: int = Field(default=0, alias="lateMinutes")


class RunSummaryPublic(Out):
    run_id: str = Field(alias="runId")
    org_id: str = Field(alias="orgId")
    period: str
    status: str
    started_at: str = Field(alias="startedAt")
    started_by: str | None = Field(default=None, alias="startedBy")
    finished_at: str | None = Field(default=None, alias="finishedAt")


class RunPublic(RunSummaryPublic):
    progress: ProgressPublic
    counts: dict[str, int]
    outcomes: list[OutcomePublic]


class RunPagePublic(Out):
    items: list[RunSummaryPublic]
    next_cursor: str | None = Field(default=None, alias="nextCursor")


# ------------------------------------------------------------------------- customers


def _billing_schema(schema: dict[str, Any]) -> None:
    money = {"type": "string", "pattern": _MONEY_PATTERN, "examples": ["12.50"]}
    props = schema.setdefault("properties", {})
    props["perDeviceRate"] = dict(money)
    props["defaultHourlyRate"] = dict(money)
    props["taxPercent"] = {
        "type": "string",
        "pattern": r"^[0-9]{1,3}(\.[0-9]{1,4})?$",
        "examples": ["20"],
    }
    props["currency"] = {"type": "string", "pattern": "^[A-Z]{3}$", "examples": ["GBP"]}
    props["autoSend"] = {"type": "boolean"}
    props["billingEmail"] = {"type": "string", "format": "email", "maxLength": 254}
    # The statement details: left out, kept; null, cleared (docs/api.md).
    props["paymentTermsDays"] = {"type": ["integer", "null"], "minimum": 0, "maximum": 365}
    props["addressLines"] = {
        "type": ["array", "null"],
        "maxItems": 6,
        "items": {"type": "string", "minLength": 1, "maxLength": 100},
    }
    props["taxId"] = {"type": ["string", "null"], "pattern": r"^[A-Za-z0-9][A-Za-z0-9 ./-]{0,39}$"}
    props["locale"] = {
        "type": ["string", "null"],
        "examples": ["en-GB", "de-DE"],
        "description": "A locale Babel has data for",
    }


# The customer's statement details: a field left out is kept, null clears it (the
# organisation's setting applies again); validated with the import's field types.
_PROFILE_FIELDS = ("address_lines", "tax_id", "locale", "payment_terms_days")


class CustomerBillingUpdate(BillingRecord):
    """The import document's billing settings, validated by the same model, and the
    customer's statement details (address, tax id, locale, payment terms)."""

    model_config = ConfigDict(json_schema_extra=_billing_schema)

    payment_terms_days: PaymentDays | None = Field(default=None, alias="paymentTermsDays")
    address_lines: AddressLines | None = Field(default=None, alias="addressLines")
    tax_id: TaxNumber | None = Field(default=None, alias="taxId")
    locale: LocaleTag | None = None

    def profile_changes(self) -> dict[str, object]:
        """The details given, in their camelCase names (None: clear it)."""
        return self.model_dump(
            mode="json",
            by_alias=True,
            include={f for f in _PROFILE_FIELDS if f in self.model_fields_set},
        )


class SettingsChangePublic(Out):
    at: str
    actor: str
    changes: dict[str, dict[str, Any]]


class CustomerBillingPublic(Out):
    customer_id: str = Field(alias="customerId")
    org_id: str = Field(alias="orgId")
    name: str
    per_device_rate: str = Field(alias="perDeviceRate")
    default_hourly_rate: str = Field(alias="defaultHourlyRate")
    tax_percent: str = Field(alias="taxPercent")
    currency: str
    auto_send: bool = Field(alias="autoSend")
    billing_email: str = Field(alias="billingEmail")
    address_lines: list[str] = Field(default=[], alias="addressLines")
    tax_id: str | None = Field(default=None, alias="taxId")
    locale: str | None = None
    payment_terms_days: int | None = Field(default=None, alias="paymentTermsDays")
    history: list[SettingsChangePublic]


# ------------------------------------------------------------------------- organisations


class FeaturesPublic(Out):
    projects: bool = False


class FeaturesUpdate(Wire):
    projects: bool | None = None


class OrgPublic(Out):
    """The organisation's settings in their own camelCase names (domain/org.py
    OrgSettings: address, legal and tax details, payment terms, numbering, locale, time
    zone, billing day, review thresholds...), its feature flags, and the caller's role."""

    model_config = ConfigDict(populate_by_name=True, extra="allow")

    id: str
    name: str
    features: FeaturesPublic
    role: str | None = None


class OrgUpdate(OrgSettingsUpdate):
    """Only the settings given change (null clears one back to its default); validated
    whole, as an import's organisation is."""

    features: FeaturesUpdate | None = None
