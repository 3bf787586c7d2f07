"""A customer with a very big month is billed like any other: its statement's lines and
inputs do not fit in one DynamoDB item (400 KB), so they live in S3 beside it, and bill,
render, send, show, list and adjust all work (docs/billing-rules.md: every customer
with a line gets a statement)."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from psa_billing import config, runtime
from psa_billing.dal import keys
from psa_billing.dal.models import StatementItem
from psa_billing.domain.model import LineKind, Period
from psa_billing.domain.statement import StatementStatus
from psa_billing.logic.importing import import_document
from psa_billing.logic.statements import Credit, adjust
from tests.support import bill

pytestmark = pytest.mark.e2e

PERIOD = Period(2026, 10)
TICKETS = 3_000


def _big_month(org_id: str) -> dict[str, Any]:
    """One auto-send customer with 3,000 tickets, each with billable time: 3,000 lines."""
    return {
        "orgId": org_id,
        "orgName": "Big Month MSP",
        "customers": [
            {
                "id": "big",
                "name": "Big Customer plc",
                "billing": {
                    "perDeviceRate": "5.00",
                    "defaultHourlyRate": "90.00",
                    "taxPercent": "20",
                    "currency": "GBP",
                    "autoSend": True,
                    "billingEmail": "ap@big.example",
                },
            }
        ],
        "devices": [{"id": "d1", "customerId": "big", "linkedOn": "2026-01-01"}],
        "tickets": [
            {"id": f"t{n:05d}", "customerId": "big", "subject": f"Ticket {n} " + "x" * 120}
            for n in range(TICKETS)
        ],
        "timeEntries": [
            {
                "id": f"e{n:05d}",
                "ticketId": f"t{n:05d}",
                "date": f"2026-10-{1 + n % 28:02d}",
                "minutes": 15 + n % 60,
                "billable": True,
                "description": "work",
            }
            for n in range(TICKETS)
        ],
    }


def test_a_month_too_big_for_one_item_is_billed_rendered_sent_listed_and_adjusted(
    repo: Any, org_id: str
) -> None:
    doc = _big_month(org_id)
    import_document(json.dumps(doc).encode(), repo, clock=runtime.utc_now, leases=runtime.leases())

    result = bill(repo, org_id, PERIOD)

    assert result.summary["counts"]["billed"] == 1, result.summary
    st_id = f"{org_id}:big:{PERIOD}"
    item = StatementItem.get(keys.statement_pk(st_id), keys.STATEMENT_SK)
    assert item.body_key and item.lines == "", "the lines live in S3, not in the item"
    st = repo.get_statement(st_id, with_inputs=True)
    ticket_lines = [ln for ln in st.lines if ln.kind is LineKind.TICKET_TIME]
    assert len(ticket_lines) == TICKETS
    assert st.inputs is not None and len(st.inputs.entries) == TICKETS
    assert st.subtotal == sum((ln.amount for ln in st.lines), start=st.subtotal * 0)
    assert st.status is StatementStatus.SENT  # rendered and emailed by the run

    pdf = (
        boto3.client("s3")
        .get_object(
            Bucket=config.bucket().statements_bucket, Key=f"statements/{org_id}/{PERIOD}/big-r0.pdf"
        )["Body"]
        .read()
    )
    assert pdf.startswith(b"%PDF") and len(pdf) > 50_000

    (listed,) = repo.list_statements(org_id, str(PERIOD))
    assert listed.total == st.total and len(listed.lines) == len(st.lines)

    credited = adjust(
        repo,
        st_id,
        Credit("10.00", "Goodwill"),
        actor="ann",
        reason="r",
        clock=runtime.utc_now,
        store=runtime.object_store(),
        orgs=runtime.org_cache(),
    )
    assert credited.current().subtotal == st.subtotal - 10
    assert repo.get_statement(st_id).revision == 1
