"""docs/billing-rules.md "Void": a void statement is kept (number, lines, history), owes
nothing, is voided once and never while it is being emailed; the next run bills its
period on a new statement whose keys never collide with the void one's."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from psa_billing.dal import keys
from psa_billing.domain.adjustments import AdjustmentKind
from psa_billing.domain.errors import InvalidAdjustmentError, StatementStateError
from psa_billing.domain.statement import Statement, StatementStatus, statement_id
from psa_billing.logic.adjusting import Charge, build_adjustment, build_void
from tests.unit.test_rules import make_data, mar, statement, ticket_entry

AT = "2026-04-03T10:00:00+00:00"


def _stored(**kw: object) -> Statement:
    data = make_data(entries=(ticket_entry("e1", mar(3), 90),), tax_percent="20")
    st = Statement.from_draft(
        statement(data), org_id="o1", run_id="run-1", created_at=datetime(2025, 4, 1, tzinfo=UTC)
    )
    return replace(st, allocated_number="KW-000007", **kw)  # type: ignore[arg-type]


def _void(st: Statement, reason: str = "billed to the wrong customer") -> Statement:
    adj = build_void(st, at=AT, actor="ann", reason=reason)
    return replace(
        st, revision=adj.number, status=StatementStatus.VOID, adjustments=(*st.adjustments, adj)
    )


def test_a_void_statement_is_kept_with_its_number_and_lines_and_owes_nothing() -> None:
    st = _stored()
    voided = _void(st)

    assert voided.number == "KW-000007" and voided.lines == st.lines
    assert voided.current().total == st.total == Decimal("180.00")  # the record is kept
    assert voided.amount_due() == Decimal("0.00")
    pub = voided.public()
    assert (pub["status"], pub["amountDue"], pub["total"]) == ("void", "0.00", "180.00")
    assert pub["void"]["reason"] == "billed to the wrong customer"
    assert pub["void"]["actor"] == "ann" and pub["void"]["at"] == AT


def test_voiding_is_appended_with_who_when_and_why_and_raises_the_revision() -> None:
    voided = _void(_stored())

    (adj,) = voided.adjustments
    assert (adj.kind, adj.number, adj.actor, adj.at) == (AdjustmentKind.VOID, 1, "ann", AT)
    assert voided.revision == 1
    assert "nothing is due" in adj.summary(voided.currency_info)


def test_an_unvoided_statement_owes_its_current_total() -> None:
    assert _stored().amount_due() == Decimal("180.00")
    assert _stored().public()["void"] is None


def test_voiding_twice_is_refused_with_the_reason() -> None:
    voided = _void(_stored())

    with pytest.raises(StatementStateError, match="already void"):
        _void(voided)


def test_voiding_while_it_is_being_sent_is_refused_with_the_reason() -> None:
    with pytest.raises(StatementStateError, match="being sent right now"):
        _void(_stored(status=StatementStatus.SENDING))


def test_voiding_a_send_whose_outcome_is_unknown_is_refused_until_resolved() -> None:
    with pytest.raises(StatementStateError, match="mark-sent"):
        _void(_stored(status=StatementStatus.SEND_UNKNOWN))


def test_a_sent_statement_can_be_voided() -> None:
    st = _stored(status=StatementStatus.SENT, sent_revision=0)

    assert _void(st).is_void


def test_a_void_needs_a_reason() -> None:
    with pytest.raises(InvalidAdjustmentError, match="reason"):
        _void(_stored(), reason="  ")


def test_a_void_statement_takes_no_further_adjustment() -> None:
    voided = _void(_stored())

    with pytest.raises(StatementStateError, match="is void"):
        build_adjustment(
            voided,
            Charge(description="Extra", quantity="1", unit_price="10.00"),
            at=AT,
            actor="ann",
            reason="late",
        )


def test_the_rebilled_statement_has_a_new_id_and_keys_that_never_collide() -> None:
    first = statement_id("o1", "c1", "2026-10")
    second = statement_id("o1", "c1", "2026-10", 2)

    assert first == "o1:c1:2026-10"  # the id statements always had: nothing migrated
    assert second == "o1:c1:2026-10:v2"
    assert keys.statement_pk(first) != keys.statement_pk(second)
    assert keys.org_statements_sk("2026-10", "c1", 2) != keys.org_statements_sk("2026-10", "c1")
    assert keys.statement_view_sk("2026-10", 2) != keys.statement_view_sk("2026-10")
    pdfs = {
        keys.pdf_key("o1", "2026-10", "c1", 0),
        keys.pdf_key("o1", "2026-10", "c1", 0, 2),
        # a customer whose id looks like a version suffix still gets its own keys
        keys.pdf_key("o1", "2026-10", "c1-v2", 0),
    }
    assert len(pdfs) == 3


def test_a_rebill_sorts_after_the_void_statement_and_its_adjustments() -> None:
    """One Query lists each statement followed by its adjustments (docs/data-model.md)."""
    order = [
        keys.org_statements_sk("2026-10", "c1"),
        keys.org_adjustment_sk("2026-10", "c1", 1),
        keys.org_statements_sk("2026-10", "c1", 2),
        keys.org_adjustment_sk("2026-10", "c1", 1, 2),
        keys.org_statements_sk("2026-10", "c1-x"),  # the next customer
    ]

    assert sorted(order) == order
