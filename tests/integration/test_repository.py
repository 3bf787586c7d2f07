"""The DynamoDB adapter against the local stack: reads by key, writes at most once."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from psa_billing import runtime
from psa_billing.dal import keys
from psa_billing.domain.model import Period
from psa_billing.domain.rules import compute_statement
from psa_billing.domain.run import CustomerOutcome, Outcome
from psa_billing.domain.statement import Statement
from psa_billing.ingest.validate import ImportRejected
from psa_billing.logic.importing import import_document
from psa_billing.runtime import utc_now
from tests.support import load_demo

PERIOD = Period(2026, 10)


def _doc(org_id: str, **extra: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "orgId": org_id,
        "orgName": "Northwind IT",
        "customers": [
            {
                "id": "c1",
                "name": "Müller & Søn",
                "billing": {
                    "perDeviceRate": "12.50",
                    "defaultHourlyRate": "90",
                    "taxPercent": "20",
                    "currency": "GBP",
                    "autoSend": False,
                    "billingEmail": "ap@muller.example",
                },
            }
        ],
        "devices": [{"id": "d1", "customerId": "c1", "linkedOn": "2026-01-01"}],
        "tickets": [{"id": "t1", "customerId": "c1", "subject": "Printer", "number": "1001"}],
        "timeEntries": [
            {"id": "e1", "ticketId": "t1", "date": "2026-10-05", "minutes": 30, "billable": True},
            {"id": "e2", "ticketId": "t1", "date": "2026-09-30", "minutes": 45, "billable": True},
        ],
    }
    doc.update(extra)
    return doc


def _import(repo: Any, doc: dict[str, Any]) -> Any:
    return import_document(json.dumps(doc).encode(), repo, clock=utc_now, leases=runtime.leases())


def test_one_customer_period_is_read_with_two_queries(
    repo: Any, org_id: str, request_counter: Any
) -> None:
    load_demo(repo, org_id, customers=3, seed=4, period=PERIOD)
    request_counter.reset()

    data = repo.load_customer_period(org_id, "cust-0001", PERIOD)

    _, outside = request_counter.snapshot()
    assert data is not None and data.customer.id == "cust-0001"
    assert outside == {("dynamodb", "Query"): 2}
    assert all(PERIOD.contains(e.date) for e in data.entries)


def test_import_upserts_by_id_and_a_moved_entry_leaves_its_old_period(
    repo: Any, org_id: str
) -> None:
    _import(repo, _doc(org_id))
    moved = _doc(org_id)
    moved["timeEntries"][1]["date"] = "2026-10-20"  # e2 moves from September into October
    _import(repo, moved)

    october = repo.load_customer_period(org_id, "c1", PERIOD)
    september = repo.load_customer_period(org_id, "c1", Period(2026, 9))

    assert sorted(e.id for e in october.entries) == ["e1", "e2"]
    assert september.entries == ()
    assert len(october.devices) == 1 and len(october.tickets) == 1


def test_a_refused_import_writes_nothing(repo: Any, org_id: str) -> None:
    bad = _doc(org_id)
    bad["customers"][0]["billing"]["currency"] = "ZZZ"
    bad["timeEntries"][0]["ticketId"] = "nope"

    with pytest.raises(ImportRejected) as refused:
        _import(repo, bad)

    fields = {(p.kind, p.id, p.field) for p in refused.value.problems}
    assert ("customer", "c1", "billing.currency") in fields
    assert ("timeEntry", "e1", "ticketId") in fields
    assert repo.get_org(org_id) is None
    assert repo.load_customer_period(org_id, "c1", PERIOD) is None


def _statement(repo: Any, org_id: str, run_id: str) -> Statement:
    data = repo.load_customer_period(org_id, "c1", PERIOD)
    draft = compute_statement(data, PERIOD)
    assert draft is not None
    return Statement.from_draft(draft, org_id=org_id, run_id=run_id, created_at=datetime.now(UTC))


def test_a_statement_is_created_at_most_once_per_customer_and_period(
    repo: Any, org_id: str
) -> None:
    _import(repo, _doc(org_id))
    results: list[bool] = []

    def create(run_id: str) -> None:
        st = _statement(repo, org_id, run_id)
        outcome = CustomerOutcome(run_id, org_id, "c1", Outcome.BILLED, st.id)
        results.append(repo.create_statement(st, outcome) is not None)

    threads = [threading.Thread(target=create, args=(f"run-{n}",)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert sorted(results) == [False, False, False, True]
    assert [s.customer_id for s in repo.list_statements(org_id, str(PERIOD))] == ["c1"]


def test_a_revision_can_be_claimed_for_sending_only_once(repo: Any, org_id: str) -> None:
    _import(repo, _doc(org_id))
    st = _statement(repo, org_id, "run-1")
    repo.create_statement(st, CustomerOutcome("run-1", org_id, "c1", Outcome.BILLED, st.id))
    claims: list[Any] = []

    def claim() -> None:
        claims.append(repo.claim_for_sending(st.id, 0))

    threads = [threading.Thread(target=claim) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    granted = [c for c in claims if c is not None]
    assert len(granted) == 1
    assert granted[0].billing_email == "ap@muller.example"
    assert granted[0].claimed_at is not None
    assert repo.mark_sent(st.id, 0, "ses-message-1", granted[0].claimed_at)
    assert repo.claim_for_sending(st.id, 0) is None
    assert repo.get_statement(st.id).sent_revision == 0


def _expire_claim(statement_id: str) -> None:
    """As if CLAIM_SECONDS had passed since the claim was taken."""
    from psa_billing.dal.models import StatementItem

    item = StatementItem.get(keys.statement_pk(statement_id), keys.STATEMENT_SK)
    item.update(actions=[StatementItem.claim_expires_at.set("2000-01-01T00:00:00+00:00")])


def _claimed(repo: Any, org_id: str) -> Statement:
    _import(repo, _doc(org_id))
    st = _statement(repo, org_id, "run-1")
    repo.create_statement(st, CustomerOutcome("run-1", org_id, "c1", Outcome.BILLED, st.id))
    claimed = repo.claim_for_sending(st.id, 0)
    assert claimed is not None and claimed.claimed_at is not None
    return claimed


def test_a_claim_that_expires_before_the_hand_over_to_ses_is_released_as_send_failed(
    repo: Any, org_id: str
) -> None:
    """docs/reliability.md "A sender that stops": a sender that stops between claiming
    and handing the mail to SES sent nothing. Past the claim's expiry the statement reads
    send_failed (with why), is sendable again by exactly one sender, and is not one a
    person may mark sent; the stopped sender, if it wakes up, may not hand it over."""
    from psa_billing.domain.statement import STOPPED_BEFORE_SES, StatementStatus
    from psa_billing.logic.statements import NotSendableError, mark_sent, sendable

    claimed = _claimed(repo, org_id)  # ... and the sender dies here
    assert repo.claim_for_sending(claimed.id, 0) is None  # nobody else may send it meanwhile
    _expire_claim(claimed.id)

    released = repo.get_statement(claimed.id)
    assert released.status is StatementStatus.SEND_FAILED
    assert released.last_error == STOPPED_BEFORE_SES
    assert released.claim_public() is None
    assert [s.id for s in sendable(repo, org_id, str(PERIOD))] == [claimed.id]
    with pytest.raises(NotSendableError, match="only a send whose outcome is unknown"):
        mark_sent(repo, claimed.id, actor="ann")

    claims: list[Any] = []
    threads = [
        threading.Thread(target=lambda: claims.append(repo.claim_for_sending(claimed.id, 0)))
        for _ in range(5)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    (again,) = [c for c in claims if c is not None]
    assert again.status is StatementStatus.SENDING and again.send_attempts == 2
    assert again.claimed_at is not None and claimed.claimed_at is not None
    assert not repo.hand_to_ses(claimed.id, 0, claimed.claimed_at), "the stale sender"
    assert repo.hand_to_ses(claimed.id, 0, again.claimed_at), "the new holder"


def test_a_claim_that_expires_after_the_hand_over_is_send_unknown_until_a_person_decides(
    repo: Any, org_id: str
) -> None:
    """A sender that stops after handing the mail to SES and before recording its
    message id leaves an unknown outcome: past the claim's expiry it reads send_unknown
    with what is known; the pending send does not touch it; a person re-sends it
    (explicitly) or marks it sent."""
    from psa_billing.domain.statement import StatementStatus
    from psa_billing.logic.statements import NotSendableError, mark_sent, sendable

    claimed = _claimed(repo, org_id)
    assert claimed.claimed_at is not None
    assert repo.hand_to_ses(claimed.id, 0, claimed.claimed_at)  # ... and the sender dies here
    assert repo.get_statement(claimed.id).status is StatementStatus.SENDING
    _expire_claim(claimed.id)

    unknown = repo.get_statement(claimed.id)
    assert unknown.status is StatementStatus.SEND_UNKNOWN
    claim = unknown.claim_public()
    assert claim is not None
    assert claim["claimedAt"] == claimed.claimed_at.isoformat()
    assert claim["handedToSesAt"] is not None and claim["expiresAt"].startswith("2000-01-01")
    assert sendable(repo, org_id, str(PERIOD)) == []
    assert repo.claim_for_sending(claimed.id, 0) is None, "not re-sent without a decision"
    assert repo.claim_for_sending(claimed.id, 0, again=True) is not None, "an explicit re-send"

    _expire_claim(claimed.id)  # that re-send stopped too, before its hand-over
    assert repo.get_statement(claimed.id).status is StatementStatus.SEND_FAILED
    again = repo.claim_for_sending(claimed.id, 0)
    assert again is not None and again.claimed_at is not None
    assert repo.hand_to_ses(claimed.id, 0, again.claimed_at)
    _expire_claim(claimed.id)
    marked = mark_sent(repo, claimed.id, actor="ann")
    assert marked.status is StatementStatus.SENT
    stored = repo.get_statement(claimed.id)
    assert stored.status is StatementStatus.SENT and "marked sent by ann" in stored.last_error
    with pytest.raises(NotSendableError, match="only a send whose outcome is unknown"):
        mark_sent(repo, claimed.id, actor="ann")


def test_a_claim_taken_before_hand_overs_were_recorded_stays_send_unknown(
    repo: Any, org_id: str
) -> None:
    """A claim written by the code before hand-overs existed (no ``claimed_at``) may have
    reached SES: once expired it is send_unknown, never released automatically."""
    from psa_billing.dal.models import StatementItem
    from psa_billing.domain.statement import StatementStatus

    claimed = _claimed(repo, org_id)
    item = StatementItem.get(keys.statement_pk(claimed.id), keys.STATEMENT_SK)
    item.update(actions=[StatementItem.claimed_at.remove()])
    _expire_claim(claimed.id)

    assert repo.get_statement(claimed.id).status is StatementStatus.SEND_UNKNOWN
    assert repo.claim_for_sending(claimed.id, 0) is None


def _taken_over(repo: Any, org_id: str) -> tuple[Statement, Statement]:
    """A sender's claim (handed to SES) that expired and was taken over by an explicit
    re-send: the stale claim and the newer one."""
    stale = _claimed(repo, org_id)
    assert stale.claimed_at is not None
    assert repo.hand_to_ses(stale.id, 0, stale.claimed_at)
    _expire_claim(stale.id)
    newer = repo.claim_for_sending(stale.id, 0, again=True)
    assert newer is not None and newer.claimed_at not in (None, stale.claimed_at)
    return stale, newer


def _stored(statement_id: str) -> dict[str, Any]:
    from psa_billing.dal.models import StatementItem

    item = StatementItem.get(keys.statement_pk(statement_id), keys.STATEMENT_SK)
    return {k: v for k, v in item.attribute_values.items() if k != "inputs"}


def test_a_stale_senders_outcome_is_refused_and_the_newer_claim_is_untouched(
    repo: Any, org_id: str
) -> None:
    """docs/data-model.md "Send claims": the outcome writes are conditional on the
    claim they were made under. A sender whose claim was taken over may record neither
    "sent" (its mail's message id included) nor "failed" (which would release the newer
    claim mid-send to a third sender: a double mail); the newer claim's state stays
    exactly as it was, and its own outcome is recorded."""
    from psa_billing.dal.delivery import DynamoDeliveryLog
    from psa_billing.domain.statement import StatementStatus

    stale, newer = _taken_over(repo, org_id)
    assert stale.claimed_at is not None and newer.claimed_at is not None
    before = _stored(stale.id)

    assert not repo.mark_sent(stale.id, 0, "ses-stale", stale.claimed_at)
    assert not repo.mark_send_failed(stale.id, 0, "SES said no", stale.claimed_at)

    assert _stored(stale.id) == before
    assert repo.get_statement(stale.id).status is StatementStatus.SENDING
    assert repo.claim_for_sending(stale.id, 0) is None, "no third sender"
    assert DynamoDeliveryLog().find_message("ses-stale") is None
    assert repo.hand_to_ses(stale.id, 0, newer.claimed_at)
    assert repo.mark_sent(stale.id, 0, "ses-newer", newer.claimed_at)
    sent = repo.get_statement(stale.id)
    assert sent.status is StatementStatus.SENT and sent.message_id == "ses-newer"
    assert not repo.mark_send_failed(stale.id, 0, "too late", newer.claimed_at), "once sent"


def test_a_sender_whose_claim_only_expired_still_records_its_outcome(
    repo: Any, org_id: str
) -> None:
    """Nobody took the claim over: the outcome is still this sender's (its mail did go
    out), so it is recorded rather than left as send_unknown."""
    from psa_billing.domain.statement import StatementStatus

    claimed = _claimed(repo, org_id)
    assert claimed.claimed_at is not None
    assert repo.hand_to_ses(claimed.id, 0, claimed.claimed_at)
    _expire_claim(claimed.id)
    assert repo.get_statement(claimed.id).status is StatementStatus.SEND_UNKNOWN

    assert repo.mark_sent(claimed.id, 0, "ses-late", claimed.claimed_at)
    assert repo.get_statement(claimed.id).status is StatementStatus.SENT


def test_a_released_claim_voided_meanwhile_stays_void_when_its_sender_reports(
    repo: Any, org_id: str
) -> None:
    """A released claim may be voided (or adjusted); the stopped sender waking up to
    report a failure must not turn the void statement back into send_failed."""
    from psa_billing.domain.statement import StatementStatus
    from psa_billing.logic.adjusting import build_void

    claimed = _claimed(repo, org_id)
    assert claimed.claimed_at is not None
    _expire_claim(claimed.id)
    st = repo.get_statement(claimed.id)
    repo.void_statement(
        st, build_void(st, at="2026-11-03T10:00:00+00:00", actor="ann", reason="dup")
    )

    assert not repo.mark_send_failed(claimed.id, 0, "build failed", claimed.claimed_at)
    assert not repo.mark_sent(claimed.id, 0, "ses-x", claimed.claimed_at)
    assert repo.get_statement(claimed.id).status is StatementStatus.VOID


def test_a_mark_sent_retried_after_a_lost_answer_changes_nothing(
    repo: Any, org_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """mark_sent retries transient errors itself; the first write landed but its answer
    was lost, so the retry finds its own write under the same claim and succeeds."""
    from botocore.exceptions import ReadTimeoutError

    from psa_billing.dal import repository
    from psa_billing.domain.statement import StatementStatus

    lost: list[bool] = []

    class LosesTheFirstAnswer(repository.TransactWrite):  # type: ignore[misc]
        def __exit__(self, *exc: Any) -> None:
            super().__exit__(*exc)
            if not lost:
                lost.append(True)
                raise ReadTimeoutError(endpoint_url="http://dynamodb")

    claimed = _claimed(repo, org_id)
    assert claimed.claimed_at is not None
    assert repo.hand_to_ses(claimed.id, 0, claimed.claimed_at)
    monkeypatch.setattr(repository, "TransactWrite", LosesTheFirstAnswer)

    assert repo.mark_sent(claimed.id, 0, "ses-1", claimed.claimed_at)

    assert lost == [True]
    sent = repo.get_statement(claimed.id)
    assert sent.status is StatementStatus.SENT and sent.message_id == "ses-1"


def _voided(repo: Any, org_id: str) -> Statement:
    from tests.support import sent_then_voided

    _import(repo, _doc(org_id))
    st = _statement(repo, org_id, "run-1")
    repo.create_statement(st, CustomerOutcome("run-1", org_id, "c1", Outcome.BILLED, st.id))
    return sent_then_voided(repo, st.id)


def test_a_void_notice_is_claimed_by_one_sender_and_handed_over_only_under_its_claim(
    repo: Any, org_id: str
) -> None:
    """docs/data-model.md "Send claims", the void notice: one claim at a time; the
    hand-over to SES and the outcome are written under the claim's token only."""
    from psa_billing.domain.statement import VoidNoticeState

    st = _voided(repo, org_id)
    assert st.void_notice is VoidNoticeState.NOT_SENT
    claims: list[Any] = []
    threads = [
        threading.Thread(target=lambda: claims.append(repo.claim_void_notice(st.id)))
        for _ in range(5)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    (token,) = [c for c in claims if c is not None]
    assert repo.get_statement(st.id).void_notice is VoidNoticeState.SENDING
    assert repo.claim_void_notice(st.id, anyway=True) is None, "held: not even anyway"
    other = token - timedelta(seconds=1)
    assert not repo.hand_void_notice_to_ses(st.id, other), "not this claim"
    assert not repo.mark_void_notice_sent(st.id, "ses-x", other)
    assert not repo.mark_void_notice_failed(st.id, "no", other)
    assert repo.hand_void_notice_to_ses(st.id, token)
    assert repo.mark_void_notice_sent(st.id, "ses-notice", token)
    assert repo.mark_void_notice_sent(st.id, "ses-notice", token), "a retry: the same write"
    sent = repo.get_statement(st.id)
    assert sent.void_notice is VoidNoticeState.SENT and sent.void_notice_sent_at is not None
    assert repo.claim_void_notice(st.id, anyway=True) is None, "sent: never again"


def test_an_expired_void_notice_claim_without_hand_over_is_released_to_the_next_sender(
    repo: Any, org_id: str
) -> None:
    """A notice sender that stopped before the hand-over sent nothing: its claim is taken
    again (a re-send), and the stopped sender, waking up, may neither hand over nor
    record an outcome over the new claim."""
    from psa_billing.domain.statement import NOTICE_STOPPED_BEFORE_SES, VoidNoticeState
    from tests.support import leave_notice_claim

    st = _voided(repo, org_id)
    stale = leave_notice_claim(repo, st.id, handed=False)
    released = repo.get_statement(st.id)
    assert released.void_notice is VoidNoticeState.RELEASED
    assert released.void_notice_error == NOTICE_STOPPED_BEFORE_SES

    newer = repo.claim_void_notice(st.id)
    assert newer is not None
    assert not repo.hand_void_notice_to_ses(st.id, stale)
    assert not repo.mark_void_notice_failed(st.id, "late failure", stale)
    assert not repo.mark_void_notice_sent(st.id, "ses-stale", stale)
    assert repo.get_statement(st.id).void_notice is VoidNoticeState.SENDING
    assert repo.mark_void_notice_failed(st.id, "MessageRejected", newer)
    failed = repo.get_statement(st.id)
    assert failed.void_notice is VoidNoticeState.FAILED
    assert failed.void_notice_error == "MessageRejected"
    assert repo.claim_void_notice(st.id) is not None, "a failed notice is sent again"


def test_an_expired_void_notice_claim_after_the_hand_over_is_unknown_until_a_person_decides(
    repo: Any, org_id: str
) -> None:
    """Handed to SES, its answer never recorded: no plain re-send takes it (a second
    notice), only one the person sends anyway; a person may mark it sent instead (only
    such a notice)."""
    from psa_billing.dal.failures import ConcurrentChangeError
    from psa_billing.domain.statement import VoidNoticeState
    from tests.support import leave_notice_claim

    st = _voided(repo, org_id)
    with pytest.raises(ConcurrentChangeError, match="not one whose outcome is unknown"):
        repo.mark_void_notice_sent_by_person(st.id, "ann")  # never tried: nothing to mark
    leave_notice_claim(repo, st.id, handed=True)
    unknown = repo.get_statement(st.id)
    assert unknown.void_notice is VoidNoticeState.UNKNOWN
    notice = unknown.void_notice_public()
    assert notice is not None and notice["claimedAt"] and notice["handedToSesAt"]
    assert repo.claim_void_notice(st.id) is None, "not sent twice without a decision"

    repo.mark_void_notice_sent_by_person(st.id, "ann")
    marked = repo.get_statement(st.id)
    assert marked.void_notice is VoidNoticeState.SENT and marked.void_notice_marked_by == "ann"
    with pytest.raises(ConcurrentChangeError):
        repo.mark_void_notice_sent_by_person(st.id, "ann")


def test_an_unknown_void_notice_sent_anyway_is_claimed_afresh(repo: Any, org_id: str) -> None:
    from psa_billing.domain.statement import VoidNoticeState
    from tests.support import leave_notice_claim

    st = _voided(repo, org_id)
    stale = leave_notice_claim(repo, st.id, handed=True)
    token = repo.claim_void_notice(st.id, anyway=True)
    assert token is not None and token != stale
    again = repo.get_statement(st.id)
    assert again.void_notice is VoidNoticeState.SENDING and again.void_notice_handed_at is None
    assert not repo.mark_void_notice_sent(st.id, "ses-stale", stale), "the stopped sender"
    assert repo.hand_void_notice_to_ses(st.id, token)


def test_statements_are_listed_by_period_across_shards(repo: Any, org_id: str) -> None:
    load_demo(repo, org_id, customers=20, seed=9, period=PERIOD)
    for n in range(1, 21):
        customer = f"cust-{n:04d}"
        data = repo.load_customer_period(org_id, customer, PERIOD)
        draft = compute_statement(data, PERIOD)
        if draft is None:
            continue
        st = Statement.from_draft(draft, org_id=org_id, run_id="r", created_at=datetime.now(UTC))
        repo.create_statement(st, CustomerOutcome("r", org_id, customer, Outcome.BILLED, st.id))

    listed = repo.list_statements(org_id, str(PERIOD))

    assert [s.customer_id for s in listed] == sorted(s.customer_id for s in listed)
    assert len(listed) >= 15
    assert repo.list_statements(org_id, "2026-09") == []
    assert repo.billed_customers(org_id, str(PERIOD)) == {s.customer_id: s.status for s in listed}
