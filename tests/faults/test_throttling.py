"""Faults injected through botocore into the handlers of a real run on the local stack:
DynamoDB and SES answer ThrottlingException to a share of the calls. After the run (and a
re-run for customers whose retries ran out), the invariants hold: one statement per
customer and period, every time entry billed at most once, every statement readable,
and mailed at most once or visibly not (docs/billing-rules.md "Once billed, billed
once", "Delivery")."""

from __future__ import annotations

import random
import threading
from collections import Counter
from collections.abc import Iterator
from typing import Any

import botocore.client
import pytest
from botocore.exceptions import ClientError

from psa_billing.domain.model import Period
from psa_billing.domain.statement import StatementStatus
from psa_billing_dev.local import counting
from tests.support import bill, expected_drafts, load_demo, mails

pytestmark = [pytest.mark.e2e, pytest.mark.local_stack]

PERIOD = Period(2026, 10)
THROTTLED = {("dynamodb", "Query"), ("dynamodb", "TransactWriteItems"), ("sesv2", "SendEmail")}
# The per-customer steps (the run-level plan and close are left alone: a throttle there
# fails or delays the whole run, which the state machine's Retry covers the same way).
PER_CUSTOMER = (
    "functions.monthly_run.app.bill_customer",
    "functions.render_statement.app.handler",
    "functions.send_statement.app.handler",
)


@pytest.fixture
def throttling(request_counter: Any) -> Iterator[Counter[str]]:
    """Throttle a fifth of the per-customer handlers' DynamoDB Queries and transactions
    and of their SES sends (never the test's own calls), deterministically. Raised
    above botocore's own retries, so every injected throttle reaches the handler."""
    injected: Counter[str] = Counter()
    chooser = random.Random(7)
    lock = threading.Lock()
    original = botocore.client.BaseClient._make_api_call

    def make_api_call(self: Any, operation: str, params: Any) -> Any:
        service = self.meta.service_model.service_name
        in_handler = getattr(counting._state, "handler", None) in PER_CUSTOMER
        if in_handler and (service, operation) in THROTTLED:
            with lock:
                hit = chooser.random() < 0.2
            if hit:
                injected[f"{service}.{operation}"] += 1
                raise ClientError(
                    {"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}},
                    operation,
                )
        return original(self, operation, params)

    botocore.client.BaseClient._make_api_call = make_api_call  # type: ignore[method-assign]
    try:
        yield injected
    finally:
        botocore.client.BaseClient._make_api_call = original  # type: ignore[method-assign]


def test_a_run_under_dynamodb_and_ses_throttling_bills_and_mails_everyone_once(
    repo: Any, org_id: str, throttling: Counter[str]
) -> None:
    doc = load_demo(repo, org_id, customers=8, seed=31, period=PERIOD)
    expected = {c for c, d in expected_drafts(doc, PERIOD).items() if d is not None}
    mails_before = len(mails())

    first = bill(repo, org_id, PERIOD)
    again = bill(repo, org_id, PERIOD)  # bills whoever ran out of retries

    assert sum(throttling.values()) > 0, "no fault was injected"
    assert first.summary["status"] in {"succeeded", "succeeded_with_failures"}
    statements = repo.list_statements(org_id, str(PERIOD))
    assert sorted(s.customer_id for s in statements) == sorted(expected)
    assert again.summary["counts"]["already_billed"] + again.summary["counts"]["billed"] == len(
        expected
    )
    entries = [
        u.entry_id
        for s in statements
        for u in repo.get_statement(s.id, with_inputs=True).inputs.entries
        if u.billed_minutes > 0
    ]
    assert len(entries) == len(set(entries)), "a time entry was billed twice"
    sent = [s for s in statements if s.status is StatementStatus.SENT]
    new_mail = mails()[mails_before:]
    # Mailed at most once; an auto-send statement not mailed is visibly so.
    assert len(new_mail) == len(sent)
    for s in statements:
        if s.auto_send and s.status is not StatementStatus.SENT:
            assert s.status in {StatementStatus.SEND_FAILED, StatementStatus.READY_TO_SEND}
            assert s.status is not StatementStatus.SEND_FAILED or s.last_error
