"""Record what SES reports about statement mails (docs/billing-rules.md "Delivery you
can see").

The send function sends through the SES configuration set in template.yaml; its event
destination publishes each Delivery, Bounce, Complaint and Reject to an SNS topic whose
subscriber is the SES events function. Each notification carries one SES event record
(the JSON SES documents as "event publishing" records); the use case maps it to a
``DeliveryEvent`` and records it on the statement found by the record's
``mail.messageId`` (the send recorded that id with the statement revision it emailed).
Other event types (Send, Open, Click, ...) and mail that is not a statement's are
ignored, and said so in the result.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from psa_billing.domain.delivery import DeliveryEvent, DeliveryKind
from psa_billing.domain.errors import BillingError
from psa_billing.logic.events import Wire


class MalformedSesEventError(BillingError):
    """A notification that is not an SES event record (named by its SNS message id)."""


# -- the SES event record, as SES publishes it (only the fields used) -------------------


class _Ses(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)


class SesMail(_Ses):
    message_id: str = Field(alias="messageId", min_length=1, max_length=200)
    timestamp: datetime
    destination: list[str] = Field(default_factory=list)
    # Configuration-set tags (ses:configuration-set, ses:source-ip, ... and ours).
    tags: dict[str, list[str]] = Field(default_factory=dict)


class SesBouncedRecipient(_Ses):
    email_address: str = Field(alias="emailAddress")
    diagnostic_code: str | None = Field(default=None, alias="diagnosticCode")
    status: str | None = None


class SesBounce(_Ses):
    bounce_type: str = Field(alias="bounceType")
    bounce_sub_type: str | None = Field(default=None, alias="bounceSubType")
    bounced_recipients: list[SesBouncedRecipient] = Field(
        default_factory=list, alias="bouncedRecipients"
    )
    timestamp: datetime


class SesComplainedRecipient(_Ses):
    email_address: str = Field(alias="emailAddress")


class SesComplaint(_Ses):
    complained_recipients: list[SesComplainedRecipient] = Field(
        default_factory=list, alias="complainedRecipients"
    )
    complaint_feedback_type: str | None = Field(default=None, alias="complaintFeedbackType")
    timestamp: datetime


class SesDelivery(_Ses):
    recipients: list[str] = Field(default_factory=list)
    smtp_response: str | None = Field(default=None, alias="smtpResponse")
    timestamp: datetime


class SesReject(_Ses):
    reason: str | None = None


class SesEventRecord(_Ses):
    """``eventType`` with event publishing (a configuration set); ``notificationType``
    in an identity's own feedback notifications, which carry the same objects."""

    event_type: str | None = Field(default=None, alias="eventType")
    notification_type: str | None = Field(default=None, alias="notificationType")
    mail: SesMail
    bounce: SesBounce | None = None
    complaint: SesComplaint | None = None
    delivery: SesDelivery | None = None
    reject: SesReject | None = None

    @property
    def kind(self) -> str:
        return self.event_type or self.notification_type or ""


# -- the SNS notification Lambda receives ----------------------------------------------


class SnsMessage(_Ses):
    message_id: str = Field(alias="MessageId")
    message: str = Field(alias="Message")


class SnsRecord(_Ses):
    sns: SnsMessage = Field(alias="Sns")


class SnsNotification(_Ses):
    records: list[SnsRecord] = Field(alias="Records")


# -- the result ----------------------------------------------------------------------


class Recorded(StrEnum):
    ON_STATEMENT = "recorded"  # on the statement, as its mail's latest news
    QUEUED_FOR_REVIEW = "queued_for_review"  # and back in the review queue
    HISTORY_ONLY = "history_only"  # about an earlier send of it: in its history only
    DUPLICATE = "duplicate"  # the same notification again: nothing changed
    UNKNOWN_MESSAGE = "unknown_message"  # not a statement's mail
    IGNORED = "ignored"  # an event type not recorded (Send, Open, Click, ...)


class RecordedEvent(Wire):
    notification_id: str = Field(alias="notificationId")
    message_id: str | None = Field(default=None, alias="messageId")
    event: str
    outcome: Recorded
    statement_id: str | None = Field(default=None, alias="statementId")


class DeliveryReport(Wire):
    events: list[RecordedEvent]


@dataclass(frozen=True, slots=True)
class MessageTarget:
    org_id: str
    statement_id: str
    revision: int


class DeliveryLog(Protocol):
    def find_message(self, message_id: str) -> MessageTarget | None: ...
    def record(
        self, target: MessageTarget, event: DeliveryEvent, notification_id: str
    ) -> Recorded: ...


def _at(value: datetime) -> str:
    return value.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def delivery_event(
    record: SesEventRecord, revision: int, source: str = "ses"
) -> DeliveryEvent | None:
    """The event the statement records, or None for a type it does not record."""
    mail = record.mail
    kind = record.kind
    if kind == "Bounce" and record.bounce is not None:
        b = record.bounce
        diagnostics = [r.diagnostic_code for r in b.bounced_recipients if r.diagnostic_code]
        return DeliveryEvent(
            kind=DeliveryKind.BOUNCED,
            at=_at(b.timestamp),
            message_id=mail.message_id,
            revision=revision,
            recipients=tuple(r.email_address for r in b.bounced_recipients),
            bounce_type=b.bounce_type,
            bounce_sub_type=b.bounce_sub_type,
            diagnostic="; ".join(diagnostics)[:1000] or None,
            source=source,
        )
    if kind == "Complaint" and record.complaint is not None:
        c = record.complaint
        return DeliveryEvent(
            kind=DeliveryKind.COMPLAINED,
            at=_at(c.timestamp),
            message_id=mail.message_id,
            revision=revision,
            recipients=tuple(r.email_address for r in c.complained_recipients),
            feedback_type=c.complaint_feedback_type,
            source=source,
        )
    if kind == "Delivery" and record.delivery is not None:
        d = record.delivery
        return DeliveryEvent(
            kind=DeliveryKind.DELIVERED,
            at=_at(d.timestamp),
            message_id=mail.message_id,
            revision=revision,
            recipients=tuple(d.recipients),
            diagnostic=(d.smtp_response or None),
            source=source,
        )
    if kind == "Reject":
        return DeliveryEvent(
            kind=DeliveryKind.REJECTED,
            at=_at(mail.timestamp),
            message_id=mail.message_id,
            revision=revision,
            recipients=tuple(mail.destination),
            diagnostic=record.reject.reason if record.reject else None,
            source=source,
        )
    return None


def parse_record(notification_id: str, text: str) -> SesEventRecord:
    try:
        return SesEventRecord.model_validate(json.loads(text))
    except (ValueError, ValidationError) as exc:
        raise MalformedSesEventError(
            f"SNS message {notification_id}: not an SES event record ({type(exc).__name__})"
        ) from None


def record_ses_events(notification: SnsNotification, log: DeliveryLog) -> DeliveryReport:
    """Record each SES event the notification carries. AWS requests per event: a
    GetItem (the message id) and one TransactWriteItems (more only when the statement
    moved on since that send)."""
    out: list[RecordedEvent] = []
    for rec in notification.records:
        nid = rec.sns.message_id
        record = parse_record(nid, rec.sns.message)
        target = log.find_message(record.mail.message_id)
        base = {"notification_id": nid, "message_id": record.mail.message_id}
        if target is None:
            out.append(RecordedEvent(**base, event=record.kind, outcome=Recorded.UNKNOWN_MESSAGE))
            continue
        event = delivery_event(record, target.revision, source=_source(record))
        if event is None:
            out.append(
                RecordedEvent(
                    **base,
                    event=record.kind,
                    outcome=Recorded.IGNORED,
                    statement_id=target.statement_id,
                )
            )
            continue
        out.append(
            RecordedEvent(
                **base,
                event=str(event.kind),
                outcome=log.record(target, event, nid),
                statement_id=target.statement_id,
            )
        )
    return DeliveryReport(events=out)


# What `psa-billing local bounce` puts in the record's tags, so the statement says that
# the bounce was simulated (SES sets ses:* tags of its own; these are ours).
SIMULATED_TAG = "psa-billing:simulated"


def _source(record: SesEventRecord) -> str:
    return "local simulation" if SIMULATED_TAG in record.mail.tags else "ses"
