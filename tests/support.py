"""Helpers shared by the integration and end-to-end tests (not fixtures)."""

from __future__ import annotations

import email
import json
from email.message import Message
from typing import Any

from psa_billing import config
from psa_billing.domain.model import Period, StatementDraft
from psa_billing.domain.rules import compute_statement
from psa_billing.ingest.grouping import customer_data
from psa_billing.ingest.validate import EmptyExisting, validate_document
from psa_billing.logic.events import RunRequest
from psa_billing.logic.importing import import_document
from psa_billing.runtime import utc_now
from psa_billing_dev.cli.localdemo import sent_messages
from psa_billing_dev.cli.runner import RunResult, start_run, wait_for_run
from psa_billing_dev.demo import demo_document


def load_demo(repo: Any, org_id: str, customers: int, seed: int, period: Period) -> dict[str, Any]:
    doc = demo_document(customers, seed, period, org_id=org_id)
    import_document(json.dumps(doc).encode(), repo, clock=utc_now)
    return doc


def expected_drafts(doc: dict[str, Any], period: Period) -> dict[str, StatementDraft | None]:
    """What the rules say each customer's statement must be, computed in process."""
    v = validate_document(json.dumps(doc), EmptyExisting())
    return {c: compute_statement(data, period) for c, data in customer_data(v).items()}


def start(org_id: str, period: Period, customers: list[str] | None = None) -> str:
    request = RunRequest(orgId=org_id, period=str(period), customerIds=customers)
    return start_run(config.run().state_machine_arn, request)


def bill(repo: Any, org_id: str, period: Period, customers: list[str] | None = None) -> RunResult:
    return wait_for_run(start(org_id, period, customers), repo, poll_seconds=0.2)


def mails() -> list[Message]:
    return [
        email.message_from_string(m.raw_data)
        for m in sent_messages()
        if getattr(m, "raw_data", None)
    ]
