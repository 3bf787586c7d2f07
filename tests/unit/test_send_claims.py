"""How a send claim left behind reads (docs/reliability.md "A sender that stops";
docs/data-model.md "Send claims"): the item's delivery state mapped to the status the
review queue, the pending send and people see, with no AWS."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from psa_billing.dal import serde
from psa_billing.dal.models import StatementItem
from psa_billing.domain.statement import STOPPED_BEFORE_SES, StatementStatus
from tests.unit.test_statement_details import billed


def _minutes_from_now(minutes: int) -> str:
    """Read when the test runs (not at import: a whole suite takes longer than a claim)."""
    return (datetime.now(UTC) + timedelta(minutes=minutes)).isoformat()


# A claim taken 11 minutes ago; its expiry 1 minute ago, or (still held) in 9 minutes.
CLAIMED, PAST, FUTURE = (-11, -1, 9)


def _claimed(*, expires: int, claimed_at: int | None, handed: int | None) -> StatementItem:
    """A statement item whose claim was taken, handed over and expires these many
    minutes from now (None: not recorded)."""
    item = serde.statement_item(billed())
    item.status = str(StatementStatus.SENDING)
    item.claimed_revision = 0
    item.claim_expires_at = _minutes_from_now(expires)
    item.claimed_at = None if claimed_at is None else _minutes_from_now(claimed_at)
    item.handed_to_ses_at = None if handed is None else _minutes_from_now(handed)
    return item


def test_a_claim_still_held_reads_sending_either_side_of_the_hand_over() -> None:
    for handed in (None, CLAIMED):
        item = _claimed(expires=FUTURE, claimed_at=CLAIMED, handed=handed)
        assert serde.statement_from(item).status is StatementStatus.SENDING


def test_an_expired_claim_never_handed_to_ses_is_released_as_send_failed_with_why() -> None:
    item = _claimed(expires=PAST, claimed_at=CLAIMED, handed=None)
    item.last_error = "an earlier failure"
    st = serde.statement_from(item)
    assert st.status is StatementStatus.SEND_FAILED
    assert st.last_error == STOPPED_BEFORE_SES
    assert st.claim_public() is None  # nothing to decide: the queue shows it as failed


def test_an_expired_claim_handed_to_ses_is_send_unknown_with_what_is_known() -> None:
    item = _claimed(expires=PAST, claimed_at=CLAIMED, handed=CLAIMED)
    st = serde.statement_from(item)
    assert st.status is StatementStatus.SEND_UNKNOWN
    assert st.claim_public() == {
        "claimedAt": item.claimed_at,
        "handedToSesAt": item.handed_to_ses_at,
        "expiresAt": item.claim_expires_at,
    }


def test_an_expired_claim_from_before_hand_overs_were_recorded_is_send_unknown() -> None:
    item = _claimed(expires=PAST, claimed_at=None, handed=None)
    st = serde.statement_from(item)
    assert st.status is StatementStatus.SEND_UNKNOWN
    assert st.claim_public() == {
        "claimedAt": None,
        "handedToSesAt": None,
        "expiresAt": item.claim_expires_at,
    }


@pytest.mark.parametrize("status", [StatementStatus.SENT, StatementStatus.SEND_FAILED])
def test_an_outcome_recorded_is_read_as_recorded_whatever_the_claim_left(
    status: StatementStatus,
) -> None:
    item = _claimed(expires=PAST, claimed_at=CLAIMED, handed=None)
    item.status = str(status)
    item.last_error = "SES said no" if status is StatementStatus.SEND_FAILED else None
    st = serde.statement_from(item)
    assert st.status is status and st.last_error == item.last_error
    assert st.claim_public() is None
