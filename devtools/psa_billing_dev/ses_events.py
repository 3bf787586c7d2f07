"""SES event records and the SNS notifications that carry them, in the shapes AWS
documents ("Examples of event data that Amazon SES publishes to Amazon SNS"; the SNS
"Lambda event" envelope). moto publishes no SES events, so `psa-billing local bounce`
and the tests build them here. Dev only: never shipped."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from psa_billing.logic.delivery_events import SIMULATED_TAG

ACCOUNT = "123456789012"


def _ts(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _domain(address: str) -> str:
    return address.rsplit("@", maxsplit=1)[-1]


def mail_object(message_id: str, sender: str, to: str, sent_at: datetime) -> dict[str, Any]:
    return {
        "timestamp": _ts(sent_at),
        "source": sender,
        "sourceArn": f"arn:aws:ses:us-east-1:{ACCOUNT}:identity/{_domain(sender)}",
        "sendingAccountId": ACCOUNT,
        "messageId": message_id,
        "destination": [to],
        "headersTruncated": False,
        "headers": [
            {"name": "From", "value": sender},
            {"name": "To", "value": to},
            {"name": "MIME-Version", "value": "1.0"},
        ],
        "commonHeaders": {"from": [sender], "to": [to], "messageId": message_id},
        "tags": {},
    }


def ses_record(
    kind: str,
    *,
    message_id: str,
    to: str,
    sender: str = "billing@msp.example",
    sent_at: datetime | None = None,
    bounce_type: str = "Permanent",
    bounce_sub_type: str = "General",
    diagnostic: str = "smtp; 550 5.1.1 user unknown",
    simulated: bool = False,
) -> dict[str, Any]:
    """One SES event record of ``kind`` (Delivery, Bounce, Complaint, Reject, Send,
    Open) about the mail ``message_id``, as SES's event publishing writes it."""
    sent = sent_at or datetime.now(UTC)
    later = _ts(sent + timedelta(seconds=2))
    mail = mail_object(message_id, sender, to, sent)
    mail["tags"] = {
        "ses:configuration-set": ["psa-billing-statements"],
        "ses:source-ip": ["192.0.2.0"],
        "ses:from-domain": [sender.rsplit("@", maxsplit=1)[-1]],
        **({SIMULATED_TAG: ["true"]} if simulated else {}),
    }
    record: dict[str, Any] = {"eventType": kind, "mail": mail}
    if kind == "Bounce":
        record["bounce"] = {
            "bounceType": bounce_type,
            "bounceSubType": bounce_sub_type,
            "bouncedRecipients": [
                {
                    "emailAddress": to,
                    "action": "failed",
                    "status": "5.1.1",
                    "diagnosticCode": diagnostic,
                }
            ],
            "timestamp": later,
            "feedbackId": f"0100{uuid.uuid4().hex}-000000",
            "reportingMTA": "dsn; a8-70.smtp-out.amazonses.com",
        }
    elif kind == "Complaint":
        record["complaint"] = {
            "complainedRecipients": [{"emailAddress": to}],
            "timestamp": later,
            "feedbackId": f"0100{uuid.uuid4().hex}-000000",
            "userAgent": "Mozilla/5.0",
            "complaintFeedbackType": "abuse",
            "arrivalDate": later,
        }
    elif kind == "Delivery":
        record["delivery"] = {
            "timestamp": later,
            "processingTimeMillis": 2003,
            "recipients": [to],
            "smtpResponse": "250 2.6.0 Message received",
            "reportingMTA": "a8-70.smtp-out.amazonses.com",
        }
    elif kind == "Reject":
        record["reject"] = {"reason": "Bad content"}
    elif kind == "Send":
        record["send"] = {}
    elif kind == "Open":
        record["open"] = {"ipAddress": "192.0.2.1", "timestamp": later, "userAgent": "Mozilla/5.0"}
    return record


def sns_notification(
    *records: dict[str, Any], topic: str = "statement-mail-events"
) -> dict[str, Any]:
    """The event Lambda receives from an SNS subscription: one record per message."""
    topic_arn = f"arn:aws:sns:us-east-1:{ACCOUNT}:{topic}"
    return {
        "Records": [
            {
                "EventSource": "aws:sns",
                "EventVersion": "1.0",
                "EventSubscriptionArn": f"{topic_arn}:{uuid.uuid4()}",
                "Sns": {
                    "Type": "Notification",
                    "MessageId": str(uuid.uuid4()),
                    "TopicArn": topic_arn,
                    "Subject": None,
                    "Message": json.dumps(record),
                    "Timestamp": _ts(datetime.now(UTC)),
                    "SignatureVersion": "1",
                    "Signature": "EXAMPLE",
                    "SigningCertUrl": "https://sns.us-east-1.amazonaws.com/cert.pem",
                    "UnsubscribeUrl": "https://sns.us-east-1.amazonaws.com/unsubscribe",
                    "MessageAttributes": {},
                },
            }
            for record in records
        ]
    }
