"""Void and late time over the API (docs/billing-rules.md "Void", "Late time"): the
billing-write role only, refusals with the reason, retries with an Idempotency-Key
changing nothing, and the statement's page listing late entries waiting."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from psa_billing import runtime
from psa_billing.domain.adjustments import AdjustmentKind
from psa_billing.domain.rules import compute_statement
from psa_billing.domain.run import CustomerOutcome, Outcome
from psa_billing.domain.statement import Statement, StatementStatus
from psa_billing.logic.importing import import_document
from psa_billing.runtime import utc_now
from tests.integration.api.conftest import FakeWorkers, bearer
from tests.integration.api.seed import PERIOD, seed
from tests.support import load_demo

VOID = {"reason": "issued for the wrong month"}


def _url(st: Statement, what: str) -> str:
    return f"/api/billing/statements/{st.id}/{what}"


def test_a_void_keeps_the_statement_and_records_who_when_and_why(
    http: Any, repo: Any, org_id: str, admin: Any, workers: FakeWorkers
) -> None:
    user, t = admin
    (st,) = seed(repo, org_id, ["c1"])
    st = repo.get_statement(st.id)  # with its number

    resp = http.post(_url(st, "void"), json=VOID, headers=t)

    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert (body["status"], body["number"], body["total"]) == (
        "void",
        st.number,
        st.public()["total"],
    )
    assert body["amountDue"] == "0.00" and body["revision"] == 1
    assert body["void"]["actor"] == user.email and body["void"]["reason"] == VOID["reason"]
    assert [e["event"] for e in body["history"]] == ["created", "voided"]
    assert body["history"][1]["reason"] == VOID["reason"]
    assert workers.rendered == [(st.id, 1)]  # the VOID-stamped revision, by the render function
    assert workers.notices == []  # never sent: nobody to tell
    assert repo.current_statement_id(org_id, "c1", str(PERIOD)) is None  # released


def test_voiding_a_sent_statement_emails_the_void_notice(
    http: Any, repo: Any, org_id: str, admin: Any, workers: FakeWorkers
) -> None:
    _, t = admin
    (st,) = seed(repo, org_id, ["c1"])
    claimed = repo.claim_for_sending(st.id, 0)
    assert claimed is not None and claimed.claimed_at is not None
    assert repo.mark_sent(st.id, 0, "ses-1", claimed.claimed_at)

    resp = http.post(_url(st, "void"), json=VOID, headers=t)

    assert resp.status_code == 200, resp.text
    assert workers.notices == [(st.id, 1, f"statements/fake/{st.id}-r1.pdf")]


def test_voiding_twice_is_a_conflict_with_the_reason(
    http: Any, repo: Any, org_id: str, admin: Any, workers: FakeWorkers
) -> None:
    _, t = admin
    (st,) = seed(repo, org_id, ["c1"])
    assert http.post(_url(st, "void"), json=VOID, headers=t).status_code == 200

    again = http.post(_url(st, "void"), json=VOID, headers=t)

    assert again.status_code == 409
    assert "already void" in again.json()["error"]["message"]
    assert len(repo.get_statement(st.id).adjustments) == 1


def test_voiding_while_it_is_being_sent_is_a_conflict_and_writes_nothing(
    http: Any, repo: Any, org_id: str, admin: Any, workers: FakeWorkers
) -> None:
    _, t = admin
    (st,) = seed(repo, org_id, ["c1"])
    assert repo.claim_for_sending(st.id, 0) is not None

    resp = http.post(_url(st, "void"), json=VOID, headers=t)

    assert resp.status_code == 409
    assert "being sent right now" in resp.json()["error"]["message"]
    now = repo.get_statement(st.id)
    assert (now.status, now.revision, now.adjustments) == (StatementStatus.SENDING, 0, ())


def test_a_void_without_a_reason_is_refused(
    http: Any, repo: Any, org_id: str, admin: Any, workers: FakeWorkers
) -> None:
    _, t = admin
    (st,) = seed(repo, org_id, ["c1"])

    assert http.post(_url(st, "void"), json={}, headers=t).status_code == 422
    assert http.post(_url(st, "void"), json={"reason": ""}, headers=t).status_code == 422
    assert repo.get_statement(st.id).revision == 0


def test_a_retried_void_with_the_same_idempotency_key_changes_nothing(
    http: Any, repo: Any, org_id: str, admin: Any, workers: FakeWorkers
) -> None:
    _, t = admin
    (st,) = seed(repo, org_id, ["c1"])
    headers = {**t, "Idempotency-Key": f"void-{org_id}"}

    first = http.post(_url(st, "void"), json=VOID, headers=headers)
    again = http.post(_url(st, "void"), json=VOID, headers=headers)

    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    kinds = [a.kind for a in repo.get_statement(st.id).adjustments]
    assert kinds == [AdjustmentKind.VOID]


def test_a_machine_client_cannot_void(
    http: Any, api: Any, repo: Any, org_id: str, workers: FakeWorkers, access: Any
) -> None:
    from psa_billing.dal.access import MachineClient
    from psa_billing_dev.local.cognito import READ_SCOPE

    (st,) = seed(repo, org_id, ["c1"])
    access.put_machine_client(MachineClient(f"mc-{org_id}", org_id, "books", READ_SCOPE))
    t = bearer(api.issuer.mint(f"mc-{org_id}", [READ_SCOPE]))

    assert http.post(_url(st, "void"), json=VOID, headers=t).status_code == 403
    assert repo.get_statement(st.id).revision == 0


def _billed_with_late_entry(repo: Any, org_id: str) -> tuple[Statement, str]:
    """A customer billed by the rules, then an entry of its month imported late."""
    doc = load_demo(repo, org_id, customers=4, seed=31, period=PERIOD)
    customer_id = next(t["customerId"] for t in doc["tickets"])
    data = repo.load_customer_period(org_id, customer_id, PERIOD)
    draft = compute_statement(data, PERIOD)
    assert draft is not None
    st = Statement.from_draft(draft, org_id=org_id, run_id="r1", created_at=datetime.now(UTC))
    outcome = CustomerOutcome("r1", org_id, customer_id, Outcome.BILLED, st.id)
    made = repo.create_statement(st, outcome)
    assert made is not None
    ticket = next(t["id"] for t in doc["tickets"] if t["customerId"] == customer_id)
    entry = {
        "id": "late-1",
        "ticketId": ticket,
        "date": str(PERIOD.last_day),
        "minutes": 50,
        "billable": True,
        "description": "logged late",
        "userId": "u1",
    }
    later = {**doc, "timeEntries": [*doc["timeEntries"], entry]}
    import_document(json.dumps(later).encode(), repo, clock=utc_now, leases=runtime.leases())
    return made, "late-1"


def test_the_statement_page_lists_late_entries_and_late_time_bills_them_once(
    http: Any, repo: Any, org_id: str, admin: Any, workers: FakeWorkers
) -> None:
    user, t = admin
    st, entry_id = _billed_with_late_entry(repo, org_id)

    page = http.get(f"/api/billing/statements/{st.id}", headers=t).json()
    assert page["lateWaiting"]["count"] == 1 and page["lateWaiting"]["hours"] == "0.83"
    assert [e["id"] for e in page["lateWaiting"]["entries"]] == [entry_id]

    change = {"kind": "late_time", "reason": "imported after the run"}
    resp = http.post(_url(st, "adjustments"), json=change, headers=t)

    assert resp.status_code == 201, resp.text
    (adj,) = resp.json()["adjustments"]
    assert (adj["kind"], adj["entryIds"], adj["actor"]) == ("late_time", [entry_id], user.email)
    assert [ln["id"] for ln in adj["lines"]] == [
        ln["id"] for ln in resp.json()["lines"][len(st.lines) :]
    ]
    assert workers.rendered == [(st.id, 1)]
    after = http.get(f"/api/billing/statements/{st.id}", headers=t).json()
    assert after["lateWaiting"]["count"] == 0
    again = http.post(_url(st, "adjustments"), json=change, headers=t)
    assert again.status_code == 409
    assert "no late entries waiting" in again.json()["error"]["message"]


@pytest.mark.parametrize("path", ["/api/billing/statements/{id}/void"])
def test_the_void_route_is_in_the_openapi_document(http: Any, path: str) -> None:
    doc = http.get("/api/openapi.json").json()
    assert "post" in doc["paths"][path.replace("{id}", "{statement_id}")]
    kinds = json.dumps(doc["components"]["schemas"])
    assert "LateTimeAdjustmentCreate" in kinds and "VoidCreate" in kinds
