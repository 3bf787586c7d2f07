"""The daily schedule's use case (logic/schedule.py) on in-memory fakes and a fake
clock: which organisations' runs it starts, for which month, and that it starts each
once whatever wakes it (docs/billing-rules.md "The period")."""

from __future__ import annotations

import datetime as dt
from collections.abc import Set
from dataclasses import dataclass, field

import pytest

from psa_billing.domain.model import Period
from psa_billing.domain.org import OrgSettings, parse_org_settings
from psa_billing.logic.events import ScheduledEvent
from psa_billing.logic.schedule import CLAIM_TIMEOUT, scheduled_run_id, start_due_runs


@dataclass
class FakeSchedule:
    orgs: list[OrgSettings]
    records: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict)
    requests: int = 0

    def list_orgs(self) -> list[OrgSettings]:
        self.requests += 1
        return list(self.orgs)

    def started(self, period: Period, now: str) -> Set[str]:
        self.requests += 1
        stale = (dt.datetime.fromisoformat(now) - CLAIM_TIMEOUT).isoformat()
        return {
            org
            for (org, p), rec in self.records.items()
            if p == str(period) and (rec["state"] == "started" or rec["claimedAt"] > stale)
        }

    def claim(self, org_id: str, period: Period, run_id: str, due_at: str, now: str) -> bool:
        rec = self.records.get((org_id, str(period)))
        stale = (dt.datetime.fromisoformat(now) - CLAIM_TIMEOUT).isoformat()
        if rec is not None and not (rec["state"] == "claimed" and rec["claimedAt"] <= stale):
            return False
        self.records[(org_id, str(period))] = {"state": "claimed", "claimedAt": now}
        return True

    def mark_started(self, org_id: str, period: Period, execution_arn: str) -> None:
        self.records[(org_id, str(period))]["state"] = "started"


@dataclass
class FakeStepFunctions:
    executions: dict[str, dict[str, object]] = field(default_factory=dict)
    fail_next: bool = False

    def start_once(self, name: str, payload: dict[str, object]) -> str:
        if self.fail_next:
            self.fail_next = False
            raise ConnectionError("Step Functions unreachable")
        self.executions.setdefault(name, payload)
        return f"arn:aws:states:us-east-1:1:execution:run:{name}"


def org(org_id: str, **settings: object) -> OrgSettings:
    return parse_org_settings({"id": org_id, "name": org_id, **settings})


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


def started_at(now: str, *orgs: OrgSettings) -> dict[str, str]:
    """org id -> period the schedule starts at ``now`` (a fresh record each time)."""
    report = start_due_runs(at(now), FakeSchedule(list(orgs)), FakeStepFunctions())
    return {doc.org_id: doc.period for doc in report.started}


def test_utc_org_with_billing_day_1_is_billed_at_its_first_wake_up_of_the_new_month() -> None:
    acme = org("acme")
    assert started_at("2026-10-31T23:59:59+00:00", acme) == {"acme": "2026-09"}
    assert started_at("2026-11-01T00:15:00+00:00", acme) == {"acme": "2026-10"}


def test_a_month_is_never_started_before_it_has_ended_east_or_west_of_utc() -> None:
    tokyo = org("tokyo", timeZone="Asia/Tokyo")  # UTC+9: October ends 15:00 UTC on 31st
    la = org("la", timeZone="America/Los_Angeles")  # UTC-7 in October: ends 07:00 UTC 1st
    assert started_at("2026-10-31T14:59:00+00:00", tokyo, la) == {
        "tokyo": "2026-09",
        "la": "2026-09",
    }
    assert started_at("2026-10-31T15:00:00+00:00", tokyo, la) == {
        "tokyo": "2026-10",
        "la": "2026-09",
    }
    assert started_at("2026-11-01T06:59:00+00:00", la) == {"la": "2026-09"}
    assert started_at("2026-11-01T07:00:00+00:00", la) == {"la": "2026-10"}


def test_billing_day_and_grace_days_delay_the_run_in_local_time() -> None:
    late = org("late", timeZone="Europe/Berlin", billingDay=5, lateTimeGraceDays=2)
    # Due 00:00 Berlin on 7 November = 23:00 UTC on 6 November (CET, UTC+1).
    assert started_at("2026-11-06T22:59:00+00:00", late) == {"late": "2026-09"}
    assert started_at("2026-11-06T23:00:00+00:00", late) == {"late": "2026-10"}


@pytest.mark.parametrize(
    ("billing_day", "before", "due"),
    [
        (28, "2028-02-27T23:59:00+00:00", "2028-02-28T00:00:00+00:00"),
        (29, "2028-02-28T23:59:00+00:00", "2028-02-29T00:00:00+00:00"),  # leap year
        (30, "2028-02-28T23:59:00+00:00", "2028-02-29T00:00:00+00:00"),
        (31, "2028-02-28T23:59:00+00:00", "2028-02-29T00:00:00+00:00"),
        (29, "2027-02-27T23:59:00+00:00", "2027-02-28T00:00:00+00:00"),  # not a leap year
        (31, "2027-02-27T23:59:00+00:00", "2027-02-28T00:00:00+00:00"),
        (31, "2027-04-29T23:59:00+00:00", "2027-04-30T00:00:00+00:00"),
    ],
)
def test_a_billing_day_past_the_end_of_a_short_month_is_its_last_day(
    billing_day: int, before: str, due: str
) -> None:
    monthly = org("m", billingDay=billing_day)
    month_billed = str(Period.before(at(due).date()))
    assert started_at(before, monthly)["m"] != month_billed
    assert started_at(due, monthly) == {"m": month_billed}


def test_january_bills_december_of_the_year_before() -> None:
    assert started_at("2027-01-01T00:15:00+00:00", org("acme")) == {"acme": "2026-12"}


def test_each_run_is_started_once_however_often_the_schedule_wakes() -> None:
    store = FakeSchedule([org("acme"), org("tokyo", timeZone="Asia/Tokyo")])
    sfn = FakeStepFunctions()
    first = start_due_runs(at("2026-11-01T00:15:00+00:00"), store, sfn)
    again = start_due_runs(at("2026-11-01T00:15:00+00:00"), store, sfn)  # a redelivery
    next_day = start_due_runs(at("2026-11-02T00:15:00+00:00"), store, sfn)
    assert [d.org_id for d in first.started] == ["acme", "tokyo"]
    assert again.started == [] and next_day.started == []
    assert next_day.already_started == 2
    assert sorted(sfn.executions) == ["acme-2026-10-scheduled", "tokyo-2026-10-scheduled"]
    assert sfn.executions["acme-2026-10-scheduled"] == {
        "trigger": "schedule",
        "period": "2026-10",
        "orgId": "acme",
    }


def test_a_concurrent_wake_up_that_loses_the_claim_starts_nothing() -> None:
    store, sfn = FakeSchedule([org("acme")]), FakeStepFunctions()
    store.claim("acme", Period(2026, 10), "x", "", "2026-11-01T00:15:00+00:00")  # the other one
    report = start_due_runs(at("2026-11-01T00:15:01+00:00"), store, sfn)
    assert report.started == [] and sfn.executions == {}


def test_a_claim_whose_start_failed_is_taken_again_after_the_timeout_and_started_once() -> None:
    store, sfn = FakeSchedule([org("acme")]), FakeStepFunctions(fail_next=True)
    with pytest.raises(ConnectionError):
        start_due_runs(at("2026-11-01T00:15:00+00:00"), store, sfn)
    soon = start_due_runs(at("2026-11-01T00:20:00+00:00"), store, sfn)
    assert soon.started == []  # still claimed by the wake-up that failed
    later = start_due_runs(at("2026-11-02T00:15:00+00:00"), store, sfn)
    assert [d.period for d in later.started] == ["2026-10"]
    assert list(sfn.executions) == ["acme-2026-10-scheduled"]


def test_a_missed_day_is_caught_up_but_an_older_month_is_never_started() -> None:
    store, sfn = FakeSchedule([org("acme")]), FakeStepFunctions()
    report = start_due_runs(at("2026-11-20T00:15:00+00:00"), store, sfn)
    assert [d.period for d in report.started] == ["2026-10"]
    assert "acme-2026-09-scheduled" not in sfn.executions


def test_the_schedule_reads_two_queries_for_any_number_of_organisations() -> None:
    store = FakeSchedule([org(f"o{n}") for n in range(50)])
    start_due_runs(at("2026-11-01T00:15:00+00:00"), store, FakeStepFunctions())
    assert store.requests == 2  # the organisations, the records of one due period


def test_run_ids_are_unique_per_organisation_and_fit_step_functions() -> None:
    long_a, long_b = "a" * 60 + "x", "a" * 60 + "y"
    ids = {scheduled_run_id(o, Period(2026, 10)) for o in (long_a, long_b, "acme")}
    assert len(ids) == 3 and all(len(i) <= 80 for i in ids)


def test_the_scheduled_event_needs_an_aware_time() -> None:
    event = {"detail-type": "Scheduled Event", "time": "2026-11-01T00:15:00Z"}
    assert ScheduledEvent.model_validate(event).time == at("2026-11-01T00:15:00+00:00")
    with pytest.raises(ValueError, match="UTC offset"):
        ScheduledEvent.model_validate({"time": "2026-11-01T00:15:00"})
