"""How a void notice's claim left behind reads (docs/reliability.md "A sender that
stops", the void notice; docs/data-model.md "Send claims"): the same shape as a
statement's send claim, with no AWS. And what a re-send of a void statement may do."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from psa_billing.dal import serde
from psa_billing.dal.models import StatementItem
from psa_billing.domain.statement import (
    CLAIM_SECONDS,
    NOTICE_STOPPED_BEFORE_SES,
    Statement,
    StatementStatus,
    VoidNoticeState,
    void_notice_refusal,
)
from tests.unit.test_statement_details import billed


def _minutes_ago(minutes: int) -> str:
    """Read when the test runs (not at import: a whole suite takes longer than a claim)."""
    return (datetime.now(UTC) - timedelta(minutes=minutes)).isoformat()


def _void(
    *,
    was_sent: bool = True,
    claimed: int | None = None,
    handed: int | None = None,
    sent: int | None = None,
    error: str | None = None,
) -> StatementItem:
    """A void statement item whose notice was claimed, handed to SES, sent these many
    minutes ago (None: not recorded)."""
    item = serde.statement_item(billed())
    item.status = str(StatementStatus.VOID)
    item.revision = 1
    item.sent_revision = 0 if was_sent else None
    item.void_notice_claimed_at = None if claimed is None else _minutes_ago(claimed)
    item.void_notice_handed_at = None if handed is None else _minutes_ago(handed)
    item.void_notice_sent_at = None if sent is None else _minutes_ago(sent)
    item.void_notice_error = error
    return item


def _read(item: StatementItem) -> Statement:
    return serde.statement_from(item)


EXPIRED = CLAIM_SECONDS // 60 + 1  # minutes: a claim taken this long ago has expired


def test_a_notice_claim_still_held_reads_sending_either_side_of_the_hand_over() -> None:
    for handed in (None, 1):
        st = _read(_void(claimed=1, handed=handed))
        assert st.void_notice is VoidNoticeState.SENDING
        notice = st.void_notice_public()
        assert notice is not None and notice["claimedAt"] and notice["claimExpiresAt"]


def test_an_expired_notice_claim_never_handed_to_ses_is_released_with_why() -> None:
    item = _void(claimed=EXPIRED, error="an earlier failure")
    st = _read(item)
    assert st.void_notice is VoidNoticeState.RELEASED
    assert st.void_notice_error == NOTICE_STOPPED_BEFORE_SES
    notice = st.void_notice_public()
    assert notice is not None and notice["state"] == "released"
    assert notice["claimedAt"] == item.void_notice_claimed_at and notice["handedToSesAt"] is None


def test_an_expired_notice_claim_handed_to_ses_is_unknown_with_what_is_known() -> None:
    item = _void(claimed=EXPIRED, handed=EXPIRED - 1)
    st = _read(item)
    assert st.void_notice is VoidNoticeState.UNKNOWN
    claimed = datetime.fromisoformat(item.void_notice_claimed_at or "")
    assert st.void_notice_public() == {
        "state": "unknown",
        "sentAt": None,
        "markedSentBy": None,
        "error": None,
        "claimedAt": item.void_notice_claimed_at,
        "handedToSesAt": item.void_notice_handed_at,
        "claimExpiresAt": (claimed + timedelta(seconds=CLAIM_SECONDS)).isoformat(),
    }


@pytest.mark.parametrize("handed", [None, EXPIRED])
def test_a_sent_notice_reads_sent_whatever_its_claim_left(handed: int | None) -> None:
    st = _read(_void(claimed=EXPIRED, handed=handed, sent=1))
    assert st.void_notice is VoidNoticeState.SENT
    notice = st.void_notice_public()
    assert notice is not None and notice["sentAt"] and notice["claimedAt"] is None


def test_a_failed_notice_reads_failed_with_its_error_and_no_claim() -> None:
    st = _read(_void(error="MessageRejected: no"))
    assert st.void_notice is VoidNoticeState.FAILED
    assert st.void_notice_error == "MessageRejected: no"


def test_a_due_notice_never_tried_reads_not_sent_and_one_nobody_needs_not_needed() -> None:
    assert _read(_void()).void_notice is VoidNoticeState.NOT_SENT
    assert _read(_void(was_sent=False)).void_notice is VoidNoticeState.NOT_NEEDED


def test_a_statement_that_is_not_void_has_no_notice_state() -> None:
    item = _void(claimed=EXPIRED, handed=EXPIRED)
    item.status = str(StatementStatus.SENT)
    st = _read(item)
    assert st.void_notice is None and st.void_notice_public() is None


def _refusal(st: Statement, *, anyway: bool = False) -> str | None:
    return void_notice_refusal(st, anyway=anyway, resend="RESEND", mark_sent="MARK")


def test_a_re_send_emails_a_notice_that_is_due_failed_or_released() -> None:
    for item in (_void(), _void(error="no"), _void(claimed=EXPIRED)):
        assert _refusal(_read(item)) is None


def test_a_re_send_refuses_an_unknown_notice_unless_the_person_sends_it_anyway() -> None:
    st = _read(_void(claimed=EXPIRED, handed=EXPIRED))
    refused = _refusal(st)
    assert refused is not None
    assert "may or may not have arrived" in refused and "RESEND" in refused and "MARK" in refused
    assert _refusal(st, anyway=True) is None


@pytest.mark.parametrize(
    ("left", "reason"),
    [
        ({"was_sent": False}, "nothing to send"),
        ({"sent": 1}, "sent already"),
        ({"claimed": 1, "handed": 1}, "being sent right now"),
    ],
)
def test_a_re_send_refuses_a_notice_not_needed_sent_or_being_sent_even_anyway(
    left: dict[str, Any], reason: str
) -> None:
    st = _read(_void(**left))  # built when the test runs: a claim's age matters
    for anyway in (False, True):
        refused = _refusal(st, anyway=anyway)
        assert refused is not None and reason in refused


def test_a_notice_marked_sent_by_a_person_says_who() -> None:
    st = replace(_read(_void(sent=1)), void_notice_marked_by="ann@example.com")
    notice = st.void_notice_public()
    assert notice is not None and notice["markedSentBy"] == "ann@example.com"


def _shown(st: Statement) -> str:
    import click
    from click.testing import CliRunner

    from psa_billing_dev.cli.report import print_statement

    @click.command()
    def show() -> None:
        print_statement(st)

    return CliRunner().invoke(show).output


def test_statements_show_says_where_the_void_notice_stands_and_what_to_do() -> None:
    unknown = _void(claimed=EXPIRED, handed=EXPIRED)
    shown = _shown(_read(unknown))
    assert "void notice unknown" in shown and "statements resend --anyway" in shown
    assert f"notice claim taken {unknown.void_notice_claimed_at}" in shown
    assert f"handed to SES {unknown.void_notice_handed_at}" in shown
    released = _shown(_read(_void(claimed=EXPIRED)))
    assert "void notice released" in released and "nothing was sent" in released
    assert "handed to SES (not recorded)" in released
    assert "void notice failed: SES said no" in _shown(_read(_void(error="SES said no")))
    marked = replace(_read(_void(sent=1)), void_notice_marked_by="ann")
    assert "marked sent by ann" in _shown(marked)
    assert "void notice" not in _shown(_read(_void(was_sent=False)))
