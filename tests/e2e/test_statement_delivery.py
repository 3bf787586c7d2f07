"""Statements people receive, on the local stack: the review queue, sending once,
send failures kept and retried, adjustments appended, re-sends with a new PDF."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from psa_billing import config, runtime
from psa_billing.dal.errors import TransientError
from psa_billing.dal.mailer import SesMailer
from psa_billing.domain.errors import InvalidAdjustmentError
from psa_billing.domain.model import Period
from psa_billing.domain.statement import Statement, StatementStatus
from psa_billing.logic.delivery import SendRejectedError, send_statement, statement_pdf_key
from psa_billing.logic.events import SendTask
from psa_billing.logic.statements import Credit, LineEdit, NotSendableError, adjust, deliver
from psa_billing_dev.local.stack import read_outbox
from tests.support import bill, load_demo

pytestmark = pytest.mark.e2e
PERIOD = Period(2026, 10)


def _now() -> datetime:
    return datetime.now(UTC)


def _pdfs() -> dict[str, Any]:
    """Where `adjust` renders each new revision's PDF."""
    return {"store": runtime.object_store(), "orgs": runtime.org_cache()}


def _deliver(
    statement_id: str, *, sender: str | None = None, again: bool = False, mailer: Any = None
) -> Statement:
    return deliver(
        statement_id,
        repo=runtime.repository(),
        store=runtime.object_store(),
        mailer=mailer or runtime.mailer(),
        orgs=runtime.org_cache(),
        sender=sender or config.mail().sender_email,
        clock=_now,
        again=again,
    )


@pytest.fixture
def billed(repo: Any, org_id: str) -> list[Statement]:
    load_demo(repo, org_id, customers=8, seed=21, period=PERIOD)
    bill(repo, org_id, PERIOD)
    return repo.list_statements(org_id, str(PERIOD))


def _pending(statements: list[Statement]) -> Statement:
    return next(s for s in statements if s.status is StatementStatus.PENDING_REVIEW)


def _outbox_to(local_stack: Any, address: str) -> list[dict[str, Any]]:
    return [m for m in read_outbox(local_stack.endpoint) if address in m["to"]]


def test_statement_without_auto_send_waits_until_someone_sends_it(
    local_stack: Any, billed: list[Statement]
) -> None:
    st = _pending(billed)
    before = len(_outbox_to(local_stack, st.billing_email))  # other tests share the outbox

    sent = _deliver(st.id)

    assert sent.status is StatementStatus.SENT and sent.sent_revision == 0
    mails = _outbox_to(local_stack, st.billing_email)[before:]
    assert len(mails) == 1
    assert mails[0]["subject"] == f"Statement {st.number} for October 2026 from Demo MSP Ltd"
    assert [a["filename"] for a in mails[0]["attachments"]] == [f"{st.number}.pdf"]
    with pytest.raises(NotSendableError, match="already sent"):
        _deliver(st.id)


def test_concurrent_sends_email_a_revision_once(local_stack: Any, billed: list[Statement]) -> None:
    st = _pending(billed)
    before = len(_outbox_to(local_stack, st.billing_email))
    outcomes: list[str] = []

    def send() -> None:
        try:
            _deliver(st.id)
            outcomes.append("sent")
        except NotSendableError:
            outcomes.append("refused")

    threads = [threading.Thread(target=send) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert outcomes.count("sent") == 1
    assert len(_outbox_to(local_stack, st.billing_email)) - before == 1


def test_a_retried_send_step_does_not_email_twice(
    local_stack: Any, billed: list[Statement]
) -> None:
    st = next(s for s in billed if s.status is StatementStatus.SENT)  # sent by the run
    before = len(_outbox_to(local_stack, st.billing_email))

    again = send_statement(
        SendTask(statement_id=st.id, revision=0, pdf_key=statement_pdf_key(st)),
        repo=runtime.repository(),
        store=runtime.object_store(),
        mailer=runtime.mailer(),
        orgs=runtime.org_cache(),
        sender=config.mail().sender_email,
        clock=_now,
    )

    assert again.sent is False
    assert len(_outbox_to(local_stack, st.billing_email)) == before


def test_rejected_send_keeps_the_statement_marked_and_a_later_send_succeeds(
    repo: Any, local_stack: Any, billed: list[Statement]
) -> None:
    st = _pending(billed)
    before = len(_outbox_to(local_stack, st.billing_email))

    with pytest.raises(SendRejectedError):
        _deliver(st.id, sender="billing@not-verified.example")  # SES refuses this sender

    failed = repo.get_statement(st.id)
    assert failed.status is StatementStatus.SEND_FAILED
    assert failed.send_attempts == 1
    assert "MessageRejected" in (failed.last_error or "")
    assert failed.lines == st.lines

    sent = _deliver(st.id)
    assert sent.status is StatementStatus.SENT
    assert sent.send_attempts == 2
    assert len(_outbox_to(local_stack, st.billing_email)) - before == 1


class _ThrottledOnceClient:
    """An SESv2 client whose first SendEmail is throttled, as SES does at its rate limit."""

    def __init__(self) -> None:
        self.calls = 0
        self._real = boto3.client("sesv2")

    def send_email(self, **kwargs: Any) -> Any:
        self.calls += 1
        if self.calls == 1:
            raise ClientError(
                {"Error": {"Code": "Throttling", "Message": "Maximum sending rate exceeded."}},
                "SendEmail",
            )
        return self._real.send_email(**kwargs)


def test_throttled_send_is_retryable_and_then_goes_out(
    repo: Any, local_stack: Any, billed: list[Statement]
) -> None:
    st = _pending(billed)
    before = len(_outbox_to(local_stack, st.billing_email))
    mailer = SesMailer(client=_ThrottledOnceClient())

    with pytest.raises(TransientError):
        _deliver(st.id, mailer=mailer)
    assert repo.get_statement(st.id).status is StatementStatus.SEND_FAILED

    assert _deliver(st.id, mailer=mailer).status is StatementStatus.SENT
    assert len(_outbox_to(local_stack, st.billing_email)) - before == 1


def test_adjustments_are_appended_and_a_resend_emails_a_new_pdf(
    repo: Any, local_stack: Any, billed: list[Statement]
) -> None:
    st = next(s for s in billed if s.status is StatementStatus.SENT)
    before = len(_outbox_to(local_stack, st.billing_email)) - 1  # the run's mail is the last
    cur = st.currency_info
    credit = str(cur.quantum * 100)  # 1.00 GBP, 100 JPY, 0.100 BHD

    edited = adjust(
        repo,
        st.id,
        LineEdit("L1", description="Agreed: devices"),
        actor="ann",
        reason="customer asked",
        clock=_now,
        **_pdfs(),
    )
    credited = adjust(
        repo, st.id, Credit(credit, "Goodwill"), actor="bob", reason="outage", clock=_now, **_pdfs()
    )

    assert (edited.revision, credited.revision) == (1, 2)
    assert credited.lines == st.lines  # the originals, untouched
    assert [a.actor for a in credited.adjustments] == ["ann", "bob"]
    assert credited.status is StatementStatus.PENDING_REVIEW
    now = credited.current()
    assert now.subtotal == st.subtotal - Decimal(credit)
    public = credited.public()
    assert public["revision"] == 2 and public["lines"][-1]["kind"] == "credit"
    assert public["original"]["total"] == st.public()["total"]

    with pytest.raises(InvalidAdjustmentError):
        adjust(
            repo,
            st.id,
            LineEdit("C1", description="x"),
            actor="ann",
            reason="r",
            clock=_now,
            **_pdfs(),
        )
    assert repo.get_statement(st.id).revision == 2  # nothing appended

    resent = _deliver(st.id, again=True)

    assert resent.status is StatementStatus.SENT and resent.sent_revision == 2
    s3 = boto3.client("s3")
    bucket = config.bucket().statements_bucket

    # Every revision has its PDF: revision 1 was rendered when it was made, never sent.
    for rev in (0, 1, 2):
        key = statement_pdf_key(replace(st, revision=rev))
        assert s3.get_object(Bucket=bucket, Key=key)["Body"].read().startswith(b"%PDF")
    mails = _outbox_to(local_stack, st.billing_email)[before:]
    assert [m["attachments"][0]["filename"] for m in mails] == [f"{st.number}.pdf"] * 2
    # Revision 0 was sent by the run, so revision 2 says what it replaces.
    assert mails[1]["subject"].startswith("Revised statement")


class _Died(BaseException):
    """The sending process stopped here (killed, timed out): no handler of its own runs."""


class _DiesBeforeHandOver:
    """The repository of a sender that dies after its claim, before it hands the mail to
    SES."""

    def __init__(self, repo: Any) -> None:
        self._repo = repo

    def __getattr__(self, name: str) -> Any:
        return getattr(self._repo, name)

    def hand_to_ses(self, *args: Any) -> bool:
        raise _Died("stopped before the hand-over")


class _DiesAfterSes:
    """A mailer whose process dies right after SES accepted the mail."""

    def __init__(self) -> None:
        self._real = runtime.mailer()

    def send_raw(self, raw: bytes, *, sender: str, to: str) -> str:
        self._real.send_raw(raw, sender=sender, to=to)
        raise _Died("stopped before recording the message id")


def _deliver_with(statement_id: str, *, repo: Any, mailer: Any, again: bool = False) -> Statement:
    return deliver(
        statement_id,
        repo=repo,
        store=runtime.object_store(),
        mailer=mailer,
        orgs=runtime.org_cache(),
        sender=config.mail().sender_email,
        clock=_now,
        again=again,
    )


def _expire_claim(statement_id: str) -> None:
    """As if the claim's CLAIM_SECONDS had passed."""
    from psa_billing.dal import keys
    from psa_billing.dal.models import StatementItem

    item = StatementItem.get(keys.statement_pk(statement_id), keys.STATEMENT_SK)
    item.update(actions=[StatementItem.claim_expires_at.set("2000-01-01T00:00:00+00:00")])


def _queue(org_id: str, status: str) -> list[str]:
    """The review queue's status filter (the run page's and the API's list)."""
    from psa_billing.dal.access import AccessRepository

    cfg = config.storage()
    found, _ = AccessRepository(cfg.data_table, cfg.aws_default_region).statements_page(
        [org_id], period=str(PERIOD), status=status, limit=100, after=None
    )
    return [s.id for s in found]


def test_a_send_that_stops_before_the_hand_over_is_send_failed_then_sent_exactly_once(
    repo: Any, org_id: str, local_stack: Any, billed: list[Statement]
) -> None:
    """docs/reliability.md "A sender that stops": killed after the claim, before SES was
    called. Nothing was sent; once the claim expires the statement reads send_failed with
    why, the review queue and the pending send find it, and two senders racing to send
    it again email it once."""
    from psa_billing.domain.statement import STOPPED_BEFORE_SES
    from psa_billing.logic.statements import sendable

    st = _pending(billed)
    before = len(_outbox_to(local_stack, st.billing_email))
    with pytest.raises(_Died):
        _deliver_with(st.id, repo=_DiesBeforeHandOver(repo), mailer=runtime.mailer())
    assert repo.get_statement(st.id).status is StatementStatus.SENDING
    with pytest.raises(NotSendableError, match="being sent right now"):
        _deliver(st.id)

    _expire_claim(st.id)
    released = repo.get_statement(st.id)
    assert released.status is StatementStatus.SEND_FAILED
    assert released.last_error == STOPPED_BEFORE_SES
    assert st.id in _queue(org_id, "send_failed") and st.id not in _queue(org_id, "send_unknown")
    assert st.id in [s.id for s in sendable(repo, org_id, str(PERIOD))]

    outcomes: list[str] = []

    def send() -> None:
        try:
            outcomes.append(str(_deliver(st.id).status))
        except NotSendableError:
            outcomes.append("refused")

    threads = [threading.Thread(target=send) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert outcomes.count("sent") == 1, outcomes
    assert len(_outbox_to(local_stack, st.billing_email)) - before == 1
    sent = repo.get_statement(st.id)
    assert sent.status is StatementStatus.SENT and sent.message_id and sent.send_attempts == 2


def test_a_send_that_stops_after_ses_accepted_it_is_send_unknown_and_never_sent_again_by_itself(
    repo: Any, org_id: str, local_stack: Any, billed: list[Statement]
) -> None:
    """Killed after SES accepted the mail, before its message id was recorded: once the
    claim expires it reads send_unknown with what is known (claimed, handed to SES, the
    expiry); the pending send and a plain send leave it alone; a person marks it sent."""
    from psa_billing.logic.statements import mark_sent, sendable
    from psa_billing_dev.cli.report import print_statement

    st = _pending(billed)
    before = len(_outbox_to(local_stack, st.billing_email))
    with pytest.raises(_Died):
        _deliver_with(st.id, repo=repo, mailer=_DiesAfterSes())
    assert len(_outbox_to(local_stack, st.billing_email)) - before == 1

    _expire_claim(st.id)
    unknown = repo.get_statement(st.id)
    assert unknown.status is StatementStatus.SEND_UNKNOWN
    assert unknown.claimed_at is not None and unknown.handed_to_ses_at is not None
    assert unknown.claimed_at <= unknown.handed_to_ses_at
    assert st.id in _queue(org_id, "send_unknown") and st.id not in _queue(org_id, "send_failed")
    assert st.id not in [s.id for s in sendable(repo, org_id, str(PERIOD))]
    with pytest.raises(NotSendableError, match="may or may not have arrived"):
        _deliver(st.id)
    shown = _shown(print_statement, unknown)
    assert "handed to SES " + unknown.handed_to_ses_at.isoformat() in shown
    assert "mark-sent" in shown

    assert mark_sent(repo, st.id, actor="ann").status is StatementStatus.SENT
    assert len(_outbox_to(local_stack, st.billing_email)) - before == 1


class _StallsInSes:
    """A mailer whose sender stalls inside the SES call past its claim's expiry, while
    ``meanwhile`` runs (another sender taking the claim over); then SES accepts the mail
    (``rejects``: refuses it)."""

    def __init__(self, meanwhile: Any, *, rejects: bool = False) -> None:
        self._real, self._meanwhile, self._rejects = runtime.mailer(), meanwhile, rejects
        self.message_id = ""

    def send_raw(self, raw: bytes, *, sender: str, to: str) -> str:
        self._meanwhile()
        if self._rejects:
            raise ValueError("MessageRejected: the stale sender's mail")
        self.message_id = self._real.send_raw(raw, sender=sender, to=to)
        return self.message_id


def test_a_stale_sender_cannot_record_its_outcome_over_the_claim_that_took_it_over(
    repo: Any, org_id: str, local_stack: Any, billed: list[Statement]
) -> None:
    """docs/data-model.md "Send claims": a sender stalls in SES until its claim
    expires; a person re-sends (the claim is taken over) and that send is recorded. When
    the stale sender's SES call returns, its "sent" is refused: the send says so (no
    traceback, no retry) and the statement keeps the newer send's message id."""
    st = _pending(billed)
    before = len(_outbox_to(local_stack, st.billing_email))
    newer: list[Statement] = []

    def resend() -> None:
        _expire_claim(st.id)
        assert _deliver(st.id, again=True).status is StatementStatus.SENT
        newer.append(repo.get_statement(st.id))

    stalls = _StallsInSes(resend)
    with pytest.raises(NotSendableError, match="SES accepted this send's mail"):
        _deliver(st.id, mailer=stalls)

    assert len(_outbox_to(local_stack, st.billing_email)) - before == 2  # both went out
    stored = repo.get_statement(st.id)
    assert stored.status is StatementStatus.SENT and stored.send_attempts == 2
    assert stored.message_id == newer[0].message_id
    assert stalls.message_id and stalls.message_id != stored.message_id


def test_a_stale_senders_failure_does_not_release_a_claim_being_sent(
    repo: Any, org_id: str, local_stack: Any, billed: list[Statement]
) -> None:
    """The stale sender's SES refuses its mail while a newer send holds the claim (handed
    to SES, its answer not recorded yet): the failure is not written, so the statement is
    not released to a third sender (a double mail); the send function returns, without
    an error to retry."""
    st = _pending(billed)
    newer: list[Statement] = []

    def take_over() -> None:
        _expire_claim(st.id)
        claimed = repo.claim_for_sending(st.id, 0, again=True)
        assert claimed is not None and claimed.claimed_at is not None
        assert repo.hand_to_ses(st.id, 0, claimed.claimed_at)
        newer.append(claimed)

    task = SendTask(statementId=st.id, revision=0, pdfKey=statement_pdf_key(st))
    runtime.object_store().put_new(task.pdf_key, b"%PDF-1.7 stand-in", "application/pdf")
    result = send_statement(
        task,
        repo=repo,
        store=runtime.object_store(),
        mailer=_StallsInSes(take_over, rejects=True),
        orgs=runtime.org_cache(),
        sender=config.mail().sender_email,
        clock=_now,
    )

    assert result.sent is False
    stored = repo.get_statement(st.id)
    assert stored.status is StatementStatus.SENDING and stored.claimed_at == newer[0].claimed_at
    assert stored.last_error is None or "stale" not in stored.last_error
    assert repo.claim_for_sending(st.id, 0) is None, "no third sender"


def _shown(printer: Any, st: Statement) -> str:
    import click
    from click.testing import CliRunner

    @click.command()
    def show() -> None:
        printer(st)

    return CliRunner().invoke(show).output


def test_a_released_claim_takes_adjustments_like_a_failed_send(
    repo: Any, org_id: str, billed: list[Statement]
) -> None:
    """A statement whose sender stopped before the hand-over is not stuck: it can be
    corrected (and then sent) as any send_failed statement."""
    st = _pending(billed)
    with pytest.raises(_Died):
        _deliver_with(st.id, repo=_DiesBeforeHandOver(repo), mailer=runtime.mailer())
    _expire_claim(st.id)
    adjusted = adjust(
        repo,
        st.id,
        LineEdit("L1", description="Agreed: devices"),
        actor="ann",
        reason="customer asked",
        clock=_now,
        **_pdfs(),
    )
    assert adjusted.revision == 1 and adjusted.status is StatementStatus.PENDING_REVIEW
    assert _deliver(st.id).status is StatementStatus.SENT
