"""Delivery you can see, wired on the local stack: a statement the run emailed through
the configuration set is found by its SES message id when the real SES events function
gets SES's notification, and a bounce puts it back in the review queue."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from psa_billing.dal import keys
from psa_billing.dal.models import MessageItem
from psa_billing.domain.delivery import DeliveryKind
from psa_billing.domain.model import Period
from psa_billing.domain.statement import StatementStatus
from psa_billing.logic.billing_api import statement_view, summary_view
from psa_billing_dev.ses_events import ses_record, sns_notification
from tests.support import bill, load_demo

pytestmark = pytest.mark.local_stack
PERIOD = Period(2026, 8)


def notify(local_stack: Any, *records: dict[str, Any]) -> dict[str, Any]:
    res = local_stack.resources
    resp = boto3.client("lambda", region_name=res.region).invoke(
        FunctionName=res.functions["DeliveryEventsFunction"],
        Payload=json.dumps(sns_notification(*records)).encode(),
    )
    body = json.loads(resp["Payload"].read())
    assert not resp.get("FunctionError"), body
    return dict(body)


@pytest.fixture
def emailed(repo: Any, org_id: str) -> Any:
    load_demo(repo, org_id, customers=8, seed=5, period=PERIOD)
    bill(repo, org_id, PERIOD)
    sent = [
        s for s in repo.list_statements(org_id, str(PERIOD)) if s.status is StatementStatus.SENT
    ]
    assert sent, "the demo has auto-send customers"
    return sent[0]


def test_the_send_records_the_ses_message_id_by_which_events_find_the_statement(
    emailed: Any,
) -> None:
    assert emailed.message_id
    item = MessageItem.get(keys.message_pk(emailed.message_id), keys.MESSAGE_SK)
    assert (item.statement_id, int(item.revision)) == (emailed.id, emailed.revision)


def test_a_bounce_is_recorded_on_the_statement_and_puts_it_in_the_review_queue(
    repo: Any, local_stack: Any, emailed: Any
) -> None:
    report = notify(
        local_stack,
        ses_record(
            "Bounce",
            message_id=emailed.message_id,
            to=emailed.billing_email,
            diagnostic="smtp; 550 5.1.1 <ap@x.example>: Recipient address rejected",
        ),
    )
    assert [e["outcome"] for e in report["events"]] == ["queued_for_review"]

    st = repo.get_statement(emailed.id)
    assert st.status is StatementStatus.PENDING_REVIEW
    assert st.delivery.kind is DeliveryKind.BOUNCED
    assert st.delivery.bounce_type == "Permanent"
    assert "Recipient address rejected" in st.last_error
    assert [e.kind for e in st.delivery_events] == [DeliveryKind.BOUNCED]
    # In the review queue: the list's status filter, and the summary says why.
    queued = [s for s in repo.list_statements(emailed.org_id, str(PERIOD)) if s.id == emailed.id]
    assert queued[0].status is StatementStatus.PENDING_REVIEW
    assert summary_view(queued[0])["mailEvent"] == "bounced"
    view = statement_view(st)
    assert view["delivery"]["lastEvent"]["diagnostic"].startswith("smtp; 550")
    assert [h["event"] for h in view["history"]][-1] == "bounced"
    assert st.public()["delivery"]["event"] == "bounced"


def test_a_delivery_and_a_redelivered_notification_are_recorded_once(
    repo: Any, local_stack: Any, emailed: Any
) -> None:
    record = ses_record("Delivery", message_id=emailed.message_id, to=emailed.billing_email)
    note = sns_notification(record)
    res = local_stack.resources
    client = boto3.client("lambda", region_name=res.region)
    outcomes = []
    for _ in range(2):
        resp = client.invoke(
            FunctionName=res.functions["DeliveryEventsFunction"], Payload=json.dumps(note).encode()
        )
        outcomes += [e["outcome"] for e in json.loads(resp["Payload"].read())["events"]]
    assert outcomes == ["recorded", "duplicate"]
    st = repo.get_statement(emailed.id)
    assert st.status is StatementStatus.SENT
    assert st.delivery.kind is DeliveryKind.DELIVERED
    assert len(st.delivery_events) == 1
