"""Helpers shared by the integration and end-to-end tests (not fixtures)."""

from __future__ import annotations

import email
import json
from datetime import datetime
from email.message import Message
from typing import Any

from psa_billing import config, runtime
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
    import_document(json.dumps(doc).encode(), repo, clock=utc_now, leases=runtime.leases())
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


def sent_then_voided(repo: Any, statement_id: str) -> Any:
    """A statement the customer was sent (through its claim, as the send function
    records it), then voided without its void notice having gone out yet."""
    from psa_billing.logic.adjusting import build_void

    claimed = repo.claim_for_sending(statement_id, 0)
    assert claimed is not None and claimed.claimed_at is not None
    assert repo.hand_to_ses(statement_id, 0, claimed.claimed_at)
    assert repo.mark_sent(statement_id, 0, f"ses-{statement_id}", claimed.claimed_at)
    st = repo.get_statement(statement_id)
    repo.void_statement(
        st, build_void(st, at=utc_now().isoformat(timespec="seconds"), actor="ann", reason="dup")
    )
    return repo.get_statement(statement_id)


def leave_notice_claim(repo: Any, statement_id: str, *, handed: bool) -> Any:
    """A void notice sender that stopped: its claim taken (and, ``handed``, the notice
    handed to SES), then CLAIM_SECONDS passed. Returns the stale claim's token."""
    from psa_billing.dal import keys
    from psa_billing.dal.models import StatementItem

    token = repo.claim_void_notice(statement_id)
    assert token is not None
    if handed:
        assert repo.hand_void_notice_to_ses(statement_id, token)
    old = "2000-01-01T00:00:00+00:00"
    item = StatementItem.get(keys.statement_pk(statement_id), keys.STATEMENT_SK)
    item.update(actions=[StatementItem.void_notice_claimed_at.set(old)])
    return datetime.fromisoformat(old)
