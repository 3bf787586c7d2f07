"""Helpers shared by the integration and end-to-end tests (not fixtures)."""

from __future__ import annotations

import email
import json
from collections import defaultdict
from email.message import Message
from typing import Any

from psa_billing.cli.localdemo import sent_messages
from psa_billing.cli.runner import RunResult, start_run, wait_for_run
from psa_billing.config import get_settings
from psa_billing.domain.model import CustomerPeriodData, Period, StatementDraft
from psa_billing.domain.rules import compute_statement
from psa_billing.ingest.demo import demo_document
from psa_billing.ingest.validate import EmptyExisting, validate_document
from psa_billing.logic.events import RunRequest
from psa_billing.logic.importing import import_document


def load_demo(repo: Any, org_id: str, customers: int, seed: int, period: Period) -> dict[str, Any]:
    doc = demo_document(customers, seed, period, org_id=org_id)
    import_document(json.dumps(doc).encode(), repo)
    return doc


def expected_drafts(doc: dict[str, Any], period: Period) -> dict[str, StatementDraft | None]:
    """What the rules say each customer's statement must be, computed in process."""
    v = validate_document(json.dumps(doc), EmptyExisting())
    by_customer: dict[str, dict[str, list[Any]]] = defaultdict(lambda: defaultdict(list))
    for d in v.devices:
        by_customer[d.customer_id]["devices"].append(d)
    for t in v.tickets:
        by_customer[t.customer_id]["tickets"].append(t)
    for p in v.projects:
        by_customer[p.customer_id]["projects"].append(p)
    for k in v.contracts:
        by_customer[k.customer_id]["contracts"].append(k)
    for e in v.entries:
        by_customer[v.entry_customers[e.id]]["entries"].append(e)
    out: dict[str, StatementDraft | None] = {}
    for c in v.customers:
        parts = by_customer[c.id]
        data = CustomerPeriodData(
            customer=c,
            devices=tuple(parts["devices"]),
            tickets=tuple(parts["tickets"]),
            projects=tuple(parts["projects"]),
            contracts=tuple(parts["contracts"]),
            entries=tuple(parts["entries"]),
        )
        out[c.id] = compute_statement(data, period)
    return out


def start(org_id: str, period: Period, customers: list[str] | None = None) -> str:
    request = RunRequest(orgId=org_id, period=str(period), customerIds=customers)
    return start_run(get_settings().state_machine_arn, request)


def bill(repo: Any, org_id: str, period: Period, customers: list[str] | None = None) -> RunResult:
    return wait_for_run(start(org_id, period, customers), repo, poll_seconds=0.2)


def mails() -> list[Message]:
    return [
        email.message_from_string(m.raw_data)
        for m in sent_messages()
        if getattr(m, "raw_data", None)
    ]
