"""Review with evidence (domain/review.py, logic/monthly.py with_evidence): each new
statement records how it differs from the customer's previous one, and is held for
review past the organisation's thresholds, even with auto-send."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

from psa_billing.domain.model import BillingSettings, EntryUse, Period, StatementInputs
from psa_billing.domain.org import ReviewThresholds
from psa_billing.domain.review import StatementHistory, StatementSummary, evidence
from psa_billing.domain.statement import Statement, StatementStatus
from psa_billing.logic.monthly import with_evidence

SETTINGS = BillingSettings(
    per_device_rate=Decimal("10"),
    default_hourly_rate=Decimal("100"),
    tax_percent=Decimal("20"),
    currency="EUR",
    auto_send=True,
    billing_email="ap@cust.example",
)


def inputs(devices: list[str], billed: list[int]) -> StatementInputs:
    return StatementInputs(
        settings=SETTINGS,
        device_ids=tuple(devices),
        entries=tuple(
            EntryUse(f"e{n}", m, Decimal(0), Decimal(m), Decimal(100), "L2", None)
            for n, m in enumerate(billed)
        ),
    )


def summary(period: Period, total: str, devices: list[str], minutes: int = 60) -> StatementSummary:
    return StatementSummary.of(
        statement_id=f"o:c:{period}",
        number=f"N-{period}",
        period=period,
        currency="EUR",
        total=Decimal(total),
        inputs=inputs(devices, [minutes]),
    )


def thresholds(**kw: object) -> ReviewThresholds:
    return ReviewThresholds.model_validate(kw)


OCT, NOV, DEC = Period(2026, 10), Period(2026, 11), Period(2026, 12)


def test_the_evidence_gives_device_hours_and_total_changes_against_the_previous_statement() -> None:
    prev = summary(OCT, "100.00", ["d1", "d2", "d3"], minutes=90)
    ev = evidence(
        currency="EUR",
        total=Decimal("150.00"),
        inputs=inputs(["d2", "d3", "d4", "d5"], [60, 90]),
        period=NOV,
        history=StatementHistory(latest=prev),
        thresholds=None,
    )
    assert ev.previous == prev
    assert (ev.device_count, ev.device_count_change) == (4, 1)
    assert (ev.devices_added, ev.devices_removed) == (("d4", "d5"), ("d1",))
    assert (ev.billed_minutes, ev.billed_minutes_change) == (Decimal(150), Decimal(60))
    assert (ev.total_change, ev.total_change_percent) == (Decimal("50.00"), Decimal("50"))
    pub = ev.public()
    assert pub["previous"]["number"] == "N-2026-10"
    assert pub["totalChange"] == "50.00" and pub["totalChangePercent"] == "50"
    assert pub["devicesAdded"] == ["d4", "d5"] and pub["devicesRemoved"] == ["d1"]
    assert "devicesAdded" not in ev.public(compact=True)
    assert ev.held == ()


def test_a_first_statement_has_nothing_to_compare_and_is_never_held() -> None:
    ev = evidence(
        currency="EUR",
        total=Decimal("9999.00"),
        inputs=inputs(["d1"], []),
        period=NOV,
        history=None,
        thresholds=thresholds(totalChangePercent="1", devicesChangedCount=0),
    )
    assert ev.previous is None and ev.held == ()
    assert ev.public()["totalChange"] is None
    assert ev.lines() == ["no previous statement to compare with"]


def test_a_total_up_more_than_the_threshold_holds_the_statement_with_the_reason() -> None:
    history = StatementHistory(latest=summary(OCT, "100.00", ["d1"]))
    ev = evidence(
        currency="EUR",
        total=Decimal("150.01"),
        inputs=inputs(["d1"], []),
        period=NOV,
        history=history,
        thresholds=thresholds(totalChangePercent="50"),
    )
    assert ev.held == ("total up 50.01% on N-2026-10 (threshold 50%)",)


def test_a_total_exactly_at_the_threshold_is_not_held() -> None:
    history = StatementHistory(latest=summary(OCT, "100.00", ["d1"]))
    ev = evidence(
        currency="EUR",
        total=Decimal("150.00"),
        inputs=inputs(["d1"], []),
        period=NOV,
        history=history,
        thresholds=thresholds(totalChangePercent="50"),
    )
    assert ev.held == ()


def test_a_total_down_more_than_the_threshold_is_held_too() -> None:
    history = StatementHistory(latest=summary(OCT, "100.00", ["d1"]))
    ev = evidence(
        currency="EUR",
        total=Decimal("20.00"),
        inputs=inputs(["d1"], []),
        period=NOV,
        history=history,
        thresholds=thresholds(totalChangePercent="50"),
    )
    assert ev.held == ("total down 80% on N-2026-10 (threshold 50%)",)


def test_devices_that_came_and_went_past_the_threshold_hold_the_statement() -> None:
    history = StatementHistory(latest=summary(OCT, "100.00", [f"d{n}" for n in range(10)]))
    now = [f"d{n}" for n in range(4, 10)] + [f"n{n}" for n in range(6)]  # 4 went, 6 came
    ev = evidence(
        currency="EUR",
        total=Decimal("100.00"),
        inputs=inputs(now, []),
        period=NOV,
        history=history,
        thresholds=thresholds(devicesChangedCount=9),
    )
    assert ev.device_count_change == 2
    assert ev.held == ("10 devices changed (6 came, 4 went; threshold 9)",)


def test_a_month_billed_again_after_a_void_is_compared_with_the_month_before() -> None:
    history = StatementHistory(
        latest=summary(NOV, "500.00", ["d1"]), before=summary(OCT, "100.00", ["d1"])
    )
    assert history.previous_for(NOV) == history.before
    again = history.after(summary(NOV, "120.00", ["d1"]))
    assert again is not None
    assert (again.latest and again.latest.total, again.before) == (
        Decimal("120.00"),
        history.before,
    )


def test_the_history_keeps_the_latest_two_and_ignores_an_older_month_billed_late() -> None:
    h = StatementHistory().after(summary(OCT, "1", []))
    assert h is not None
    h = h.after(summary(NOV, "2", []))
    assert h is not None
    h2 = h.after(summary(DEC, "3", []))
    assert h2 is not None
    assert (h2.latest and h2.latest.period, h2.before and h2.before.period) == (DEC, NOV)
    assert h2.version == 3
    assert h2.after(summary(Period(2026, 9), "9", [])) is None
    late = evidence(
        currency="EUR",
        total=Decimal(1),
        inputs=inputs([], []),
        period=Period(2026, 9),
        history=h2,
        thresholds=None,
    )
    assert late.previous is None and late.note and "later month" in late.note


def test_a_currency_change_is_not_compared_as_a_percentage_and_holds_with_a_threshold() -> None:
    prev = replace(summary(OCT, "100.00", ["d1"]), currency="USD")
    ev = evidence(
        currency="EUR",
        total=Decimal("100.00"),
        inputs=inputs(["d1"], []),
        period=NOV,
        history=StatementHistory(latest=prev),
        thresholds=thresholds(totalChangePercent="50"),
    )
    assert ev.total_change is None
    assert ev.held == ("currency changed from USD to EUR",)


def _statement(total: str, auto_send: bool = True) -> Statement:
    return Statement(
        id="o:c:2026-11",
        org_id="o",
        customer_id="c",
        customer_name="C",
        period=NOV,
        currency="EUR",
        status=StatementStatus.READY_TO_SEND if auto_send else StatementStatus.PENDING_REVIEW,
        revision=0,
        lines=(),
        subtotal=Decimal(total),
        tax_percent=Decimal(0),
        tax=Decimal(0),
        total=Decimal(total),
        auto_send=auto_send,
        billing_email="ap@cust.example",
        created_at=datetime(2026, 12, 1, tzinfo=UTC),
        run_id="r",
    )


def test_a_held_statement_is_not_auto_sent_and_says_why() -> None:
    last = StatementHistory(latest=summary(OCT, "100.00", ["d1"]), version=4)
    st, history = with_evidence(
        _statement("300.00"), inputs(["d1"], []), last, thresholds(totalChangePercent="50")
    )
    assert st.status is StatementStatus.PENDING_REVIEW
    assert st.last_error == "held: total up 200% on N-2026-10 (threshold 50%)"
    assert st.evidence is not None and st.evidence.total_change == Decimal("200.00")
    assert history is not None and history.version == 5
    assert history.latest is not None and history.latest.statement_id == st.id
    assert history.before == last.latest
    assert st.public()["review"]["held"] == ["total up 200% on N-2026-10 (threshold 50%)"]


def test_without_thresholds_an_auto_send_statement_stays_ready_to_send() -> None:
    last = StatementHistory(latest=summary(OCT, "100.00", ["d1"]))
    st, _ = with_evidence(_statement("300.00"), inputs(["d1"], []), last, None)
    assert st.status is StatementStatus.READY_TO_SEND and st.last_error is None
