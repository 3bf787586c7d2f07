"""What SES reports about a statement's mail is recorded on the statement by its SES
message id (logic/delivery_events.py), from SES event records in the shapes AWS
documents, on an in-memory log with the DynamoDB adapter's rules."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pytest

from psa_billing.domain.delivery import DeliveryEvent, DeliveryKind
from psa_billing.logic.delivery_events import (
    MalformedSesEventError,
    MessageTarget,
    Recorded,
    SnsNotification,
    record_ses_events,
)
from psa_billing_dev.ses_events import ses_record, sns_notification

# The Bounce record of AWS's "Examples of event data that Amazon SES publishes to Amazon
# SNS", as published (headers shortened).
DOCUMENTED_BOUNCE = """{
  "eventType":"Bounce",
  "bounce":{
    "bounceType":"Permanent",
    "bounceSubType":"General",
    "bouncedRecipients":[
      {"emailAddress":"recipient@example.com","action":"failed","status":"5.1.1",
       "diagnosticCode":"smtp; 550 5.1.1 user unknown"}
    ],
    "timestamp":"2017-08-05T00:41:02.669Z",
    "feedbackId":"01000157c44f053b-61b59c11-9236-11e6-8f96-7be8aexample-000000",
    "reportingMTA":"dsn; mta.example.com"
  },
  "mail":{
    "timestamp":"2017-08-05T00:40:02.012Z",
    "source":"Sender Name <sender@example.com>",
    "sourceArn":"arn:aws:ses:us-east-1:123456789012:identity/sender@example.com",
    "sendingAccountId":"123456789012",
    "messageId":"EXAMPLE7c191be45-e9aedb9a-02f9-4d12-a87d-dd0099a07f8a-000000",
    "destination":["recipient@example.com"],
    "headersTruncated":false,
    "headers":[{"name":"From","value":"Sender Name <sender@example.com>"}],
    "commonHeaders":{"from":["Sender Name <sender@example.com>"],
                     "to":["recipient@example.com"],
                     "messageId":"EXAMPLE7c191be45-e9aedb9a-02f9-4d12-a87d-dd0099a07f8a-000000",
                     "subject":"Message sent from Amazon SES"},
    "tags":{"ses:configuration-set":["ConfigSet"],"ses:source-ip":["192.0.2.0"]}
  }
}"""


@dataclass
class Stmt:
    message_id: str
    status: str = "sent"
    delivery: DeliveryEvent | None = None
    last_error: str | None = None
    history: dict[str, DeliveryEvent] = field(default_factory=dict)


@dataclass
class FakeLog:
    """The adapter's rules: the event is appended once per notification; it is the
    statement's delivery only while the statement's last send is that message; a
    bounce or reject of a sent statement puts it back in the review queue."""

    statements: dict[str, Stmt] = field(default_factory=dict)
    messages: dict[str, MessageTarget] = field(default_factory=dict)

    def sent(self, statement_id: str, message_id: str, revision: int = 0) -> Stmt:
        st = self.statements.setdefault(statement_id, Stmt(message_id))
        st.message_id, st.status, st.delivery = message_id, "sent", None
        self.messages[message_id] = MessageTarget("org", statement_id, revision)
        return st

    def find_message(self, message_id: str) -> MessageTarget | None:
        return self.messages.get(message_id)

    def record(self, target: MessageTarget, event: DeliveryEvent, nid: str) -> Recorded:
        st = self.statements[target.statement_id]
        if nid in st.history:
            return Recorded.DUPLICATE
        st.history[nid] = event
        if st.message_id != event.message_id:
            return Recorded.HISTORY_ONLY
        st.delivery = event
        if event.needs_review and st.status == "sent":
            st.status, st.last_error = "pending_review", event.summary()
            return Recorded.QUEUED_FOR_REVIEW
        return Recorded.ON_STATEMENT


def notify(*records: dict[str, object]) -> SnsNotification:
    return SnsNotification.model_validate(sns_notification(*records))


def test_a_documented_ses_bounce_record_is_read_with_its_type_and_diagnostic() -> None:
    log = FakeLog()
    st = log.sent("org:c1:2026-10", "EXAMPLE7c191be45-e9aedb9a-02f9-4d12-a87d-dd0099a07f8a-000000")
    note = sns_notification({})
    note["Records"][0]["Sns"]["Message"] = DOCUMENTED_BOUNCE
    report = record_ses_events(SnsNotification.model_validate(note), log)
    assert [e.outcome for e in report.events] == [Recorded.QUEUED_FOR_REVIEW]
    assert st.delivery is not None
    assert st.delivery.kind is DeliveryKind.BOUNCED
    assert (st.delivery.bounce_type, st.delivery.bounce_sub_type) == ("Permanent", "General")
    assert st.delivery.diagnostic == "smtp; 550 5.1.1 user unknown"
    assert st.delivery.recipients == ("recipient@example.com",)
    assert st.delivery.at == "2017-08-05T00:41:02.669Z"
    assert st.delivery.source == "ses"


def test_a_bounced_statement_goes_back_to_the_review_queue_with_the_reason() -> None:
    log = FakeLog()
    st = log.sent("org:c1:2026-10", "m-1")
    record_ses_events(notify(ses_record("Bounce", message_id="m-1", to="ap@cust.example")), log)
    assert st.status == "pending_review"
    assert st.last_error == (
        "bounced (Permanent/General) for ap@cust.example: smtp; 550 5.1.1 user unknown"
    )


def test_a_delivery_is_recorded_and_leaves_the_statement_sent() -> None:
    log = FakeLog()
    st = log.sent("org:c1:2026-10", "m-1")
    report = record_ses_events(
        notify(ses_record("Delivery", message_id="m-1", to="ap@cust.example")), log
    )
    assert report.events[0].outcome is Recorded.ON_STATEMENT
    assert st.status == "sent" and st.delivery is not None
    assert st.delivery.kind is DeliveryKind.DELIVERED
    assert st.delivery.summary() == "delivered to ap@cust.example"


def test_a_complaint_is_recorded_but_does_not_queue_the_statement() -> None:
    log = FakeLog()
    st = log.sent("org:c1:2026-10", "m-1")
    record_ses_events(notify(ses_record("Complaint", message_id="m-1", to="ap@c.example")), log)
    assert st.status == "sent" and st.delivery is not None
    assert st.delivery.kind is DeliveryKind.COMPLAINED
    assert st.delivery.summary() == "ap@c.example marked it as spam (abuse)"


def test_a_rejected_mail_queues_the_statement_with_ses_reason() -> None:
    log = FakeLog()
    st = log.sent("org:c1:2026-10", "m-1")
    record_ses_events(notify(ses_record("Reject", message_id="m-1", to="ap@c.example")), log)
    assert st.status == "pending_review"
    assert st.last_error == "rejected by SES: Bad content"


def test_the_same_notification_delivered_twice_is_recorded_once() -> None:
    log = FakeLog()
    log.sent("org:c1:2026-10", "m-1")
    note = notify(ses_record("Bounce", message_id="m-1", to="ap@c.example"))
    record_ses_events(note, log)
    again = record_ses_events(note, log)
    assert [e.outcome for e in again.events] == [Recorded.DUPLICATE]
    assert len(log.statements["org:c1:2026-10"].history) == 1


def test_a_late_event_about_an_earlier_send_goes_to_history_only() -> None:
    log = FakeLog()
    log.sent("org:c1:2026-10", "m-1")
    st = log.sent("org:c1:2026-10", "m-2", revision=1)  # adjusted and sent again
    report = record_ses_events(
        notify(ses_record("Bounce", message_id="m-1", to="old@c.example")), log
    )
    assert report.events[0].outcome is Recorded.HISTORY_ONLY
    assert st.status == "sent" and st.delivery is None


def test_mail_that_is_not_a_statements_and_untracked_event_types_are_ignored() -> None:
    log = FakeLog()
    log.sent("org:c1:2026-10", "m-1")
    report = record_ses_events(
        notify(
            ses_record("Delivery", message_id="someone-else", to="x@y.example"),
            ses_record("Send", message_id="m-1", to="ap@c.example"),
            ses_record("Open", message_id="m-1", to="ap@c.example"),
        ),
        log,
    )
    assert [e.outcome for e in report.events] == [
        Recorded.UNKNOWN_MESSAGE,
        Recorded.IGNORED,
        Recorded.IGNORED,
    ]


def test_a_simulated_bounce_says_it_was_simulated() -> None:
    log = FakeLog()
    st = log.sent("org:c1:2026-10", "m-1")
    record = ses_record("Bounce", message_id="m-1", to="a@c.example", simulated=True)
    record_ses_events(notify(record), log)
    assert st.delivery is not None and st.delivery.source == "local simulation"


def test_a_notification_that_is_not_an_ses_record_is_refused_naming_it() -> None:
    note = sns_notification({})
    note["Records"][0]["Sns"]["Message"] = json.dumps({"hello": "world"})
    nid = note["Records"][0]["Sns"]["MessageId"]
    with pytest.raises(MalformedSesEventError, match=nid):
        record_ses_events(SnsNotification.model_validate(note), FakeLog())


def test_delivery_events_keep_every_field_through_their_stored_form() -> None:
    event = DeliveryEvent(
        kind=DeliveryKind.BOUNCED,
        at="2026-11-01T00:00:02.000Z",
        message_id="m",
        revision=2,
        recipients=("a@b.example",),
        bounce_type="Transient",
        bounce_sub_type="MailboxFull",
        diagnostic="smtp; 452 4.2.2 mailbox full",
    )
    assert DeliveryEvent.from_public(json.loads(json.dumps(event.public()))) == event
