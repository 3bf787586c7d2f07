"""docs/billing-rules.md "Late time" and "Adjustments" (late time): late entries are
billed by the rules, using the included minutes the statement's contract had left, at
the statement's rates, and once ever."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from psa_billing.domain.adjustments import AdjustmentKind, effective
from psa_billing.domain.errors import StatementStateError
from psa_billing.domain.late import LateTime, billed_entry_ids, contract_minutes_used, late_time
from psa_billing.domain.model import CustomerPeriodData, LineKind, Project, TimeEntry
from psa_billing.domain.statement import Statement, StatementStatus
from psa_billing.logic.adjusting import LateTimeChange, build_adjustment
from tests.unit.test_rules import (
    MARCH,
    contract,
    device,
    make_data,
    mar,
    project_entry,
    statement,
    ticket_entry,
)

D = Decimal
AT = "2026-04-03T10:00:00+00:00"


def _stored(data: CustomerPeriodData) -> Statement:
    """The statement a run made of ``data`` (with its recorded inputs)."""
    return Statement.from_draft(
        statement(data), org_id="o1", run_id="run-1", created_at=datetime(2025, 4, 1, tzinfo=UTC)
    )


def _with(data: CustomerPeriodData, *entries: TimeEntry) -> CustomerPeriodData:
    return replace(data, entries=(*data.entries, *entries))


def _bill_late(st: Statement, data: CustomerPeriodData) -> Statement:
    late = late_time(data, st)
    adj = build_adjustment(
        st, LateTimeChange(), at=AT, actor="ann", reason="imported late", late=late
    )
    return replace(st, revision=adj.number, adjustments=(*st.adjustments, adj))


def test_entries_billed_on_the_statement_are_not_late() -> None:
    data = make_data(entries=(ticket_entry("e1", mar(3), 60),))
    st = _stored(data)

    assert late_time(data, st) == LateTime()
    assert billed_entry_ids(st) == {"e1"}


def test_a_billable_entry_imported_after_the_run_is_late() -> None:
    data = make_data(entries=(ticket_entry("e1", mar(3), 60),))
    st = _stored(data)
    now = _with(data, ticket_entry("e2", mar(20), 45))

    late = late_time(now, st)

    assert late.entry_ids == ("e2",)
    assert (late.minutes, late.public()["hours"], late.public()["count"]) == (45, "0.75", 1)
    (line,) = late.lines
    # 45 minutes at the default 100.00/h = 75.00
    assert (line.kind, line.amount, line.minutes) == (LineKind.TICKET_TIME, D("75.00"), D(45))


def test_non_billable_late_entries_are_never_billed() -> None:
    data = make_data(entries=(ticket_entry("e1", mar(3), 60),))
    st = _stored(data)

    late = late_time(_with(data, ticket_entry("e2", mar(4), 30, billable=False)), st)

    assert late == LateTime()


def test_late_entries_use_the_included_minutes_the_contract_had_left() -> None:
    # 2 h included; the statement used 90 minutes of them, so 30 are left.
    data = make_data(
        contracts=(contract(included_hours="2"),), entries=(ticket_entry("e1", mar(3), 90),)
    )
    st = _stored(data)
    assert contract_minutes_used(st) == {"k1": D(90)}

    late = late_time(_with(data, ticket_entry("e2", mar(10), 20)), st)

    lines = {ln.kind: ln for ln in late.lines}
    assert set(lines) == {LineKind.INCLUDED_HOURS}  # fully covered by what was left
    assert lines[LineKind.INCLUDED_HOURS].minutes == D(20)
    assert "1.83 of 2.00 in all" in lines[LineKind.INCLUDED_HOURS].description


def test_a_late_entry_crossing_what_the_contract_had_left_is_split() -> None:
    data = make_data(
        contracts=(contract(included_hours="2"),), entries=(ticket_entry("e1", mar(3), 90),)
    )
    st = _stored(data)

    late = late_time(_with(data, ticket_entry("e2", mar(10), 50)), st)

    time = [ln for ln in late.lines if ln.kind is LineKind.TICKET_TIME]
    covered = [ln for ln in late.lines if ln.kind is LineKind.INCLUDED_HOURS]
    # 30 minutes covered (what was left), 20 billed at 100.00/h = 33.33
    assert [(ln.minutes, ln.amount) for ln in time] == [(D(20), D("33.33"))]
    assert [ln.minutes for ln in covered] == [D(30)]


def test_later_late_time_uses_only_what_earlier_late_time_left() -> None:
    data = make_data(
        contracts=(contract(included_hours="2"),), entries=(ticket_entry("e1", mar(3), 90),)
    )
    st = _bill_late(_stored(data), _with(data, ticket_entry("e2", mar(10), 20)))
    assert contract_minutes_used(st) == {"k1": D(110)}

    late = late_time(
        _with(data, ticket_entry("e2", mar(10), 20), ticket_entry("e3", mar(11), 30)), st
    )

    # 10 minutes were left: 10 covered, 20 billed.
    assert late.entry_ids == ("e3",)
    assert [ln.minutes for ln in late.lines if ln.kind is LineKind.TICKET_TIME] == [D(20)]


def test_late_time_is_billed_at_the_rates_the_statement_was_billed_at() -> None:
    data = make_data(entries=(ticket_entry("e1", mar(3), 60),))
    st = _stored(data)
    raised = make_data(entries=data.entries, default_hourly_rate="150.00")

    late = late_time(_with(raised, ticket_entry("e2", mar(20), 60)), st)

    assert [ln.unit_price for ln in late.lines] == [D("100.00")]


def test_project_late_time_never_uses_contract_hours() -> None:
    project = Project("p1", "c1", "P-1", "Migration", billable=True)
    data = make_data(
        projects=(project,),
        contracts=(contract(included_hours="10"),),
        entries=(ticket_entry("e1", mar(3), 30),),
    )
    st = _stored(data)

    late = late_time(_with(data, project_entry("e2", mar(5), 60)), st)

    assert [ln.kind for ln in late.lines] == [LineKind.PROJECT_TIME]
    assert late.lines[0].amount == D("100.00")


def test_late_time_adds_no_device_line() -> None:
    data = make_data(
        devices=(device("d1", date(2025, 1, 1)),), entries=(ticket_entry("e1", mar(3), 60),)
    )
    st = _stored(data)

    late = late_time(_with(data, ticket_entry("e2", mar(4), 60)), st)

    assert LineKind.DEVICES not in {ln.kind for ln in late.lines}


def test_late_time_adjustment_appends_the_lines_and_raises_the_revision() -> None:
    data = make_data(entries=(ticket_entry("e1", mar(3), 60),), tax_percent="20")
    st = _stored(data)

    adjusted = _bill_late(st, _with(data, ticket_entry("e2", mar(20), 30)))

    (adj,) = adjusted.adjustments
    assert (adj.kind, adj.number, adj.entry_ids) == (AdjustmentKind.LATE_TIME, 1, ("e2",))
    assert [ln.id for ln in adj.lines] == ["T1"]
    now = effective(st.lines, adjusted.adjustments, st.tax_percent, st.currency_info)
    # 100.00 + 50.00 = 150.00; tax 30.00
    assert (now.subtotal, now.tax, now.total) == (D("150.00"), D("30.00"), D("180.00"))


def test_late_entries_are_billed_once_ever() -> None:
    data = make_data(entries=(ticket_entry("e1", mar(3), 60),))
    now = _with(data, ticket_entry("e2", mar(20), 30))
    adjusted = _bill_late(_stored(data), now)

    assert late_time(now, adjusted) == LateTime()
    with pytest.raises(StatementStateError, match="no late entries waiting"):
        _bill_late(adjusted, now)


def test_late_time_with_nothing_waiting_is_refused_with_the_reason() -> None:
    data = make_data(entries=(ticket_entry("e1", mar(3), 60),))

    with pytest.raises(StatementStateError, match="no late entries waiting"):
        _bill_late(_stored(data), data)


def test_a_void_statement_has_no_late_time_its_entries_are_released() -> None:
    data = make_data(entries=(ticket_entry("e1", mar(3), 60),))
    st = replace(_stored(data), status=StatementStatus.VOID)

    assert late_time(_with(data, ticket_entry("e2", mar(20), 30)), st) == LateTime()


def test_late_entries_are_listed_in_date_then_entry_id_order() -> None:
    data = make_data(entries=(ticket_entry("e1", mar(3), 60),))
    now = _with(
        data,
        ticket_entry("b", mar(9), 10),
        ticket_entry("a", mar(9), 10),
        ticket_entry("c", mar(4), 10),
    )

    assert late_time(now, _stored(data)).entry_ids == ("c", "a", "b")
    assert MARCH.contains(mar(9))
