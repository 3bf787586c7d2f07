"""Void and re-bill, and late time, through the real local stack: the state machine, the
DynamoDB transactions, S3 and SES (docs/billing-rules.md "Once billed, billed once",
"Void", "Late time", "Adjustments")."""

from __future__ import annotations

import io
import json
import threading
from email.header import decode_header, make_header
from typing import Any

import boto3
import pytest
from pypdf import PdfReader

from psa_billing import config, runtime
from psa_billing.dal.failures import ConcurrentChangeError
from psa_billing.domain.adjustments import AdjustmentKind
from psa_billing.domain.errors import StatementStateError
from psa_billing.domain.model import Period
from psa_billing.domain.statement import Statement, StatementStatus
from psa_billing.ingest.validate import ImportRejected
from psa_billing.logic import statements as uc
from psa_billing.logic.adjusting import late_waiting
from psa_billing.logic.delivery import statement_pdf_key
from psa_billing.logic.importing import import_document
from psa_billing.runtime import utc_now
from tests.support import bill, load_demo, mails

PERIOD = Period(2026, 10)
pytestmark = pytest.mark.e2e


def _void(statement_id: str, reason: str = "billed the wrong month's contract") -> Statement:
    return uc.void(
        statement_id,
        reason=reason,
        actor="ann@msp.example",
        repo=runtime.repository(),
        store=runtime.object_store(),
        mailer=runtime.mailer(),
        orgs=runtime.org_cache(),
        sender=config.mail().sender_email,
        clock=utc_now,
    )


def _late_time(repo: Any, statement_id: str) -> Statement:
    return uc.adjust(
        repo,
        statement_id,
        uc.LateTimeChange(),
        actor="ann@msp.example",
        reason="imported after the run",
        clock=utc_now,
        store=runtime.object_store(),
        orgs=runtime.org_cache(),
    )


def _text(pdf: bytes) -> str:
    return "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)


def _pdf_text(repo: Any, st: Statement, revision: int) -> str:
    return _text(uc.pdf_bytes(repo, runtime.object_store(), runtime.org_cache(), st.id, revision))


def _number(st: Statement) -> int:
    return int(st.number[-6:])


def _subjects(since: int) -> list[str]:
    return [str(make_header(decode_header(m["Subject"]))) for m in mails()[since:]]


def _sent_one(repo: Any, org_id: str) -> Statement:
    stored = repo.list_statements(org_id, str(PERIOD))
    return next(s for s in stored if s.status is StatementStatus.SENT)


def test_void_then_rerun_bills_the_period_on_a_new_statement_with_a_new_number(
    repo: Any, org_id: str
) -> None:
    load_demo(repo, org_id, customers=6, seed=21, period=PERIOD)
    bill(repo, org_id, PERIOD)
    st = _sent_one(repo, org_id)
    highest = max(_number(s) for s in repo.list_statements(org_id, str(PERIOD)))
    mails_before = len(mails())

    voided = _void(st.id)

    # Kept, with its number, lines and history; nothing due; a VOID revision's PDF.
    assert voided.status is StatementStatus.VOID and voided.number == st.number
    assert voided.lines == st.lines and voided.revision == st.revision + 1
    assert voided.public()["amountDue"].strip("0.") == ""
    assert voided.public()["void"]["actor"] == "ann@msp.example"
    assert "VOID" in _pdf_text(repo, voided, voided.revision)
    assert "VOID" not in _pdf_text(repo, voided, st.revision)  # earlier PDFs are kept
    # It had been sent: the customer is told, once.
    assert _subjects(mails_before) == [
        f"Void: statement {st.number} from {_org_name(repo, org_id)} — nothing to pay"
    ]
    assert voided.void_notice_sent_at is not None
    assert repo.current_statement_id(org_id, st.customer_id, str(PERIOD)) is None

    rerun = bill(repo, org_id, PERIOD)

    counts = rerun.summary["counts"]
    assert counts["billed"] == 1
    again = repo.get_statement(repo.current_statement_id(org_id, st.customer_id, str(PERIOD)))
    assert again.id == f"{st.id}:v2" and again.version == 2
    assert _number(again) == highest + 1  # a new number, next in the gapless sequence
    assert again.lines == st.lines  # the released entries and devices, billed again
    # Its own PDF, never the void one's, and emailed as the new number (auto-send).
    key = statement_pdf_key(again)
    assert "/v2/" in key
    stored = boto3.client("s3").get_object(Bucket=config.bucket().statements_bucket, Key=key)
    assert again.number in _text(stored["Body"].read())
    rebilled_mail = [s for s in _subjects(mails_before) if again.number in s]
    assert len(rebilled_mail) == int(again.auto_send)
    assert repo.get_statement(st.id).status is StatementStatus.VOID  # the void one stays
    listed = [
        s.id for s in repo.list_statements(org_id, str(PERIOD)) if s.customer_id == st.customer_id
    ]
    assert listed == [st.id, again.id]
    # Billed once: a third run bills nothing.
    assert bill(repo, org_id, PERIOD).summary["counts"]["billed"] == 0


def _org_name(repo: Any, org_id: str) -> str:
    org = repo.get_org(org_id)
    assert org is not None
    return str(org.name)


class _Died(BaseException):
    """The sending process stopped here (killed, timed out): no handler of its own runs."""


class _DiesAfterSes:
    """A mailer whose process dies right after SES accepted the mail."""

    def send_raw(self, raw: bytes, *, sender: str, to: str) -> str:
        runtime.mailer().send_raw(raw, sender=sender, to=to)
        raise _Died("stopped before recording the message id")


class _DiesBeforeHandOver:
    """The repository of a notice sender that dies after its claim, before the hand-over."""

    def __init__(self, repo: Any) -> None:
        self._repo = repo

    def __getattr__(self, name: str) -> Any:
        return getattr(self._repo, name)

    def hand_void_notice_to_ses(self, *args: Any) -> bool:
        raise _Died("stopped before the hand-over")


def _resend(repo: Any, statement_id: str, *, anyway: bool = False) -> Statement:
    return uc.deliver(
        statement_id,
        repo=repo,
        store=runtime.object_store(),
        mailer=runtime.mailer(),
        orgs=runtime.org_cache(),
        sender=config.mail().sender_email,
        clock=utc_now,
        again=True,
        anyway=anyway,
    )


def _expire_notice_claim(statement_id: str) -> None:
    from psa_billing.dal import keys
    from psa_billing.dal.models import StatementItem

    item = StatementItem.get(keys.statement_pk(statement_id), keys.STATEMENT_SK)
    item.update(actions=[StatementItem.void_notice_claimed_at.set("2000-01-01T00:00:00+00:00")])


def test_a_void_notice_whose_sender_died_after_ses_is_never_sent_twice_by_a_plain_resend(
    repo: Any, org_id: str
) -> None:
    """docs/reliability.md, the void notice: its sender died after SES accepted it. Once
    the claim expires it reads unknown; `statements resend` refuses it with the reason
    (no second notice by accident) until the person sends it anyway, or marks it sent."""
    from psa_billing.domain.statement import VoidNoticeState
    from psa_billing.logic.statements import NotSendableError

    load_demo(repo, org_id, customers=6, seed=21, period=PERIOD)
    bill(repo, org_id, PERIOD)
    first, second = [
        s for s in repo.list_statements(org_id, str(PERIOD)) if s.status is StatementStatus.SENT
    ][:2]
    for st in (first, second):
        with pytest.raises(_Died):
            uc.void(
                st.id,
                reason="duplicate",
                actor="ann@msp.example",
                repo=repo,
                store=runtime.object_store(),
                mailer=_DiesAfterSes(),
                orgs=runtime.org_cache(),
                sender=config.mail().sender_email,
                clock=utc_now,
            )
        assert repo.get_statement(st.id).void_notice is VoidNoticeState.SENDING
        with pytest.raises(NotSendableError, match="being sent right now"):
            _resend(repo, st.id)
        _expire_notice_claim(st.id)
        assert repo.get_statement(st.id).void_notice is VoidNoticeState.UNKNOWN
    before = len(mails())

    with pytest.raises(NotSendableError, match=r"may or may not have arrived.*--anyway"):
        _resend(repo, first.id)
    assert len(mails()) == before
    assert _resend(repo, first.id, anyway=True).void_notice is VoidNoticeState.SENT
    assert len(mails()) == before + 1  # the person chose a second notice

    marked = uc.mark_sent(repo, second.id, actor="bob")
    assert marked.void_notice is VoidNoticeState.SENT and marked.void_notice_marked_by == "bob"
    for sid in (first.id, second.id):
        with pytest.raises(NotSendableError, match="sent already"):
            _resend(repo, sid, anyway=True)
    assert len(mails()) == before + 1


def test_a_void_notice_whose_sender_died_before_the_hand_over_is_released_and_sent_once(
    repo: Any, org_id: str
) -> None:
    from psa_billing.domain.statement import VoidNoticeState
    from psa_billing.logic.statements import NotSendableError

    load_demo(repo, org_id, customers=6, seed=21, period=PERIOD)
    bill(repo, org_id, PERIOD)
    st = _sent_one(repo, org_id)
    before = len(mails())
    with pytest.raises(_Died):
        uc.void(
            st.id,
            reason="duplicate",
            actor="ann@msp.example",
            repo=_DiesBeforeHandOver(repo),
            store=runtime.object_store(),
            mailer=runtime.mailer(),
            orgs=runtime.org_cache(),
            sender=config.mail().sender_email,
            clock=utc_now,
        )
    _expire_notice_claim(st.id)
    assert repo.get_statement(st.id).void_notice is VoidNoticeState.RELEASED
    with pytest.raises(NotSendableError, match="only a void notice whose outcome is unknown"):
        uc.mark_sent(repo, st.id, actor="bob")  # nothing was sent: send it, don't mark it

    outcomes: list[str] = []

    def resend() -> None:
        try:
            outcomes.append(str(_resend(repo, st.id).void_notice))
        except NotSendableError:
            outcomes.append("refused")

    threads = [threading.Thread(target=resend) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes.count("sent") == 1 and len(mails()) == before + 1, outcomes


def test_a_rebilled_statement_can_be_voided_and_billed_again(repo: Any, org_id: str) -> None:
    load_demo(repo, org_id, customers=3, seed=22, period=PERIOD)
    bill(repo, org_id, PERIOD)
    first = repo.list_statements(org_id, str(PERIOD))[0]
    _void(first.id)
    bill(repo, org_id, PERIOD, [first.customer_id])
    second = repo.get_statement(f"{first.id}:v2")
    assert second is not None and not second.is_void

    _void(second.id, reason="wrong rate again")
    bill(repo, org_id, PERIOD, [first.customer_id])

    third = repo.get_statement(f"{first.id}:v3")
    assert third is not None and third.version == 3 and _number(third) == _number(second) + 1
    live = [
        s
        for s in repo.list_statements(org_id, str(PERIOD))
        if s.customer_id == first.customer_id and not s.is_void
    ]
    assert [s.id for s in live] == [third.id]  # at most one statement that is not void


def test_voiding_twice_is_refused_with_the_reason(repo: Any, org_id: str) -> None:
    load_demo(repo, org_id, customers=2, seed=23, period=PERIOD)
    bill(repo, org_id, PERIOD)
    st = repo.list_statements(org_id, str(PERIOD))[0]
    _void(st.id)

    with pytest.raises(StatementStateError, match="already void"):
        _void(st.id)

    assert [a.kind for a in repo.get_statement(st.id).adjustments].count(AdjustmentKind.VOID) == 1


def test_voiding_while_it_is_being_sent_is_refused_and_writes_nothing(
    repo: Any, org_id: str
) -> None:
    load_demo(repo, org_id, customers=3, seed=24, period=PERIOD)
    bill(repo, org_id, PERIOD)
    st = repo.list_statements(org_id, str(PERIOD))[0]
    again = st.status is StatementStatus.SENT  # a re-send holds the claim just the same
    assert repo.claim_for_sending(st.id, st.revision, again=again) is not None  # a sender holds it

    with pytest.raises(StatementStateError, match="being sent right now"):
        _void(st.id)
    # Read before the claim was taken: the conditional transaction refuses it too.
    with pytest.raises(ConcurrentChangeError):
        from psa_billing.logic.adjusting import build_void

        repo.void_statement(
            st, build_void(st, at="2026-11-02T10:00:00+00:00", actor="a", reason="r")
        )

    now = repo.get_statement(st.id)
    assert now.status is StatementStatus.SENDING and now.revision == st.revision
    assert now.adjustments == ()
    assert repo.current_statement_id(org_id, st.customer_id, str(PERIOD)) == st.id  # not released


def test_a_void_statement_releases_its_entries_to_the_import(repo: Any, org_id: str) -> None:
    doc = load_demo(repo, org_id, customers=3, seed=25, period=PERIOD)
    bill(repo, org_id, PERIOD)
    st = repo.list_statements(org_id, str(PERIOD))[0]
    billed = repo.get_statement(st.id, with_inputs=True).inputs.entries
    entry_id = billed[0].entry_id
    changed = json.loads(json.dumps(doc))
    for e in changed["timeEntries"]:
        if e["id"] == entry_id:
            e["minutes"] += 15
    with pytest.raises(ImportRejected, match="already billed"):
        import_document(json.dumps(changed).encode(), repo, clock=utc_now, leases=runtime.leases())

    _void(st.id)

    import_document(json.dumps(changed).encode(), repo, clock=utc_now, leases=runtime.leases())
    bill(repo, org_id, PERIOD, [st.customer_id])
    again = repo.get_statement(f"{st.id}:v2", with_inputs=True)
    minutes = {u.entry_id: u.minutes for u in again.inputs.entries}
    assert minutes[entry_id] == billed[0].minutes + 15


def _add_late_entry(repo: Any, doc: dict[str, Any], customer_id: str, minutes: int) -> str:
    ticket = next(t for t in doc["tickets"] if t["customerId"] == customer_id)
    entry = {
        "id": f"late-{customer_id}",
        "ticketId": ticket["id"],
        "date": str(PERIOD.last_day),
        "minutes": minutes,
        "billable": True,
        "description": "on-site visit logged late",
        "userId": "u-late",
    }
    later = {**doc, "timeEntries": [*doc["timeEntries"], entry]}
    result = import_document(
        json.dumps(later).encode(), repo, clock=utc_now, leases=runtime.leases()
    )
    assert any("late time" in w.reason for w in result.warnings)
    return str(entry["id"])


def _billed_with_tickets(repo: Any, org_id: str, doc: dict[str, Any]) -> Statement:
    with_tickets = {t["customerId"] for t in doc["tickets"]}
    return next(
        s for s in repo.list_statements(org_id, str(PERIOD)) if s.customer_id in with_tickets
    )


def test_late_entries_are_reported_by_the_run_and_billed_once_by_late_time(
    repo: Any, org_id: str
) -> None:
    doc = load_demo(repo, org_id, customers=6, seed=26, period=PERIOD)
    bill(repo, org_id, PERIOD)
    st = _billed_with_tickets(repo, org_id, doc)
    entry_id = _add_late_entry(repo, doc, st.customer_id, 75)

    rerun = bill(repo, org_id, PERIOD)

    assert rerun.summary["counts"]["billed"] == 0
    assert rerun.summary["late"] == [
        {
            "orgId": org_id,
            "customerId": st.customer_id,
            "statementId": st.id,
            "entries": 1,
            "minutes": 75,
            "hours": "1.25",
        }
    ]
    _, waiting = late_waiting(repo, repo.get_statement(st.id))
    assert waiting.entry_ids == (entry_id,)

    adjusted = _late_time(repo, st.id)

    (adj,) = adjusted.adjustments
    assert adj.kind is AdjustmentKind.LATE_TIME and adj.entry_ids == (entry_id,)
    assert adjusted.revision == st.revision + 1
    assert adjusted.current().total > st.total
    assert late_waiting(repo, repo.get_statement(st.id))[1].entries == ()
    with pytest.raises(StatementStateError, match="no late entries waiting"):
        _late_time(repo, st.id)
    assert "late" not in {k for k, v in bill(repo, org_id, PERIOD).summary.items() if v}


def test_concurrent_late_time_adjustments_bill_the_entries_once(repo: Any, org_id: str) -> None:
    doc = load_demo(repo, org_id, customers=6, seed=27, period=PERIOD)
    bill(repo, org_id, PERIOD)
    st = _billed_with_tickets(repo, org_id, doc)
    _add_late_entry(repo, doc, st.customer_id, 40)
    outcomes: list[str] = []
    start = threading.Barrier(4)

    def attempt() -> None:
        start.wait()
        try:
            _late_time(repo, st.id)
            outcomes.append("billed")
        except (ConcurrentChangeError, StatementStateError) as exc:
            outcomes.append(type(exc).__name__)

    threads = [threading.Thread(target=attempt) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert outcomes.count("billed") == 1, outcomes
    late = [a for a in repo.get_statement(st.id).adjustments if a.kind is AdjustmentKind.LATE_TIME]
    assert len(late) == 1
