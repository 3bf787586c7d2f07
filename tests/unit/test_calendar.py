"""The billing calendar (docs/billing-rules.md "The period"): a month is billed once it
has ended in the organisation's time zone, on its billing day plus the grace days."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from psa_billing.domain.calendar import (
    CalendarSettings,
    DueRun,
    billing_date,
    billing_moment,
    due_runs,
    ensure_period_ended,
    latest_due_period,
    period_end,
    period_has_ended,
)
from psa_billing.domain.errors import BillingError, PeriodNotEndedError
from psa_billing.domain.model import Period


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# ---------------------------------------------------------------- has the period ended?


@pytest.mark.parametrize(
    ("zone", "ends_utc"),
    [
        ("UTC", utc(2027, 2, 1, 0, 0)),
        ("Europe/London", utc(2027, 2, 1, 0, 0)),  # GMT in winter
        ("Pacific/Auckland", utc(2027, 1, 31, 11, 0)),  # NZDT, UTC+13
        ("America/Los_Angeles", utc(2027, 2, 1, 8, 0)),  # PST, UTC-8
        ("Asia/Kolkata", utc(2027, 1, 31, 18, 30)),  # IST, UTC+5:30
    ],
)
def test_a_month_ends_at_midnight_local_time_on_the_next_first(
    zone: str, ends_utc: datetime
) -> None:
    january = Period(2027, 1)

    assert period_end(january, zone) == ends_utc
    assert not period_has_ended(january, ends_utc - timedelta(seconds=1), zone)
    assert period_has_ended(january, ends_utc, zone)


def test_auckland_bills_january_while_it_is_still_january_in_utc() -> None:
    now = utc(2027, 1, 31, 12, 0)

    assert period_has_ended(Period(2027, 1), now, "Pacific/Auckland")
    assert not period_has_ended(Period(2027, 1), now, "UTC")


def test_los_angeles_has_not_ended_january_when_utc_is_in_february() -> None:
    now = utc(2027, 2, 1, 7, 59)

    assert not period_has_ended(Period(2027, 1), now, "America/Los_Angeles")
    assert period_has_ended(Period(2027, 1), now, "UTC")


def test_a_summer_month_ends_by_the_summer_offset() -> None:
    # London is on BST (UTC+1) at the end of July; Auckland on NZST (UTC+12).
    assert period_end(Period(2027, 7), "Europe/London") == utc(2027, 7, 31, 23, 0)
    assert period_end(Period(2027, 7), "Pacific/Auckland") == utc(2027, 7, 31, 12, 0)


def test_the_current_month_is_refused_with_when_it_ends() -> None:
    with pytest.raises(PeriodNotEndedError) as caught:
        ensure_period_ended(Period(2027, 1), utc(2027, 1, 15, 9, 0), "Europe/London")

    assert str(caught.value) == (
        "2027-01 has not ended yet in Europe/London (it ends 2027-01-31 24:00 local)"
    )
    assert isinstance(caught.value, BillingError)


def test_a_future_month_is_refused() -> None:
    with pytest.raises(PeriodNotEndedError, match="2027-03 has not ended yet in UTC"):
        ensure_period_ended(Period(2027, 3), utc(2027, 1, 15), "UTC")


def test_a_past_month_is_not_refused() -> None:
    ensure_period_ended(Period(2026, 12), utc(2027, 1, 1), "UTC")


def test_a_naive_clock_is_refused() -> None:
    with pytest.raises(BillingError, match="aware"):
        period_has_ended(Period(2027, 1), datetime(2027, 2, 2), "UTC")


def test_leap_february_ends_after_the_29th() -> None:
    assert period_end(Period(2028, 2), "UTC") == utc(2028, 3, 1)
    with pytest.raises(PeriodNotEndedError, match=r"it ends 2028-02-29 24:00 local"):
        ensure_period_ended(Period(2028, 2), utc(2028, 2, 29, 23, 59), "UTC")


# ---------------------------------------------------------------- when is the run due?


@pytest.mark.parametrize(
    ("billing_day", "period", "expected"),
    [
        (1, Period(2027, 1), "2027-02-01"),
        (28, Period(2027, 1), "2027-02-28"),
        (29, Period(2027, 1), "2027-02-28"),  # February 2027 has 28 days
        (31, Period(2027, 1), "2027-02-28"),
        (29, Period(2028, 1), "2028-02-29"),  # leap year
        (30, Period(2028, 1), "2028-02-29"),
        (31, Period(2027, 3), "2027-04-30"),
        (31, Period(2027, 4), "2027-05-31"),
        (31, Period(2027, 12), "2028-01-31"),
    ],
)
def test_billing_day_past_the_end_of_a_short_month_means_its_last_day(
    billing_day: int, period: Period, expected: str
) -> None:
    assert billing_date(period, CalendarSettings(billing_day=billing_day)).isoformat() == expected


def test_grace_days_come_after_the_billing_day() -> None:
    settings = CalendarSettings(billing_day=28, late_time_grace_days=5)

    assert billing_date(Period(2028, 1), settings).isoformat() == "2028-03-04"


def test_billing_moment_is_midnight_local_on_the_billing_date() -> None:
    settings = CalendarSettings(time_zone="Asia/Kolkata", billing_day=3)

    assert billing_moment(Period(2027, 1), settings) == utc(2027, 2, 2, 18, 30)


def test_billing_moment_crosses_the_spring_dst_change_in_the_zone() -> None:
    # Los Angeles moves to PDT on 2027-03-14: midnight on the 15th is UTC-7, the 1st UTC-8.
    before = CalendarSettings(time_zone="America/Los_Angeles", billing_day=1)
    after = CalendarSettings(time_zone="America/Los_Angeles", billing_day=15)

    assert billing_moment(Period(2027, 2), before) == utc(2027, 3, 1, 8, 0)
    assert billing_moment(Period(2027, 2), after) == utc(2027, 3, 15, 7, 0)


def test_billing_moment_across_auckland_autumn_dst_change() -> None:
    # Auckland leaves NZDT (UTC+13) for NZST (UTC+12) on 2027-04-04.
    settings = CalendarSettings(time_zone="Pacific/Auckland", billing_day=3, late_time_grace_days=2)

    assert billing_date(Period(2027, 3), settings).isoformat() == "2027-04-05"
    assert billing_moment(Period(2027, 3), settings) == utc(2027, 4, 4, 12, 0)


def test_a_day_that_starts_at_a_dst_jump_begins_at_the_jump() -> None:
    # Santiago's clocks jump from 24:00 to 01:00 on the first Sunday of September
    # (2027-09-05): 00:00 local does not exist; the day begins at 04:00 UTC.
    settings = CalendarSettings(time_zone="America/Santiago", billing_day=5)

    assert billing_moment(Period(2027, 8), settings) == utc(2027, 9, 5, 4, 0)


def test_the_billing_moment_is_never_before_the_period_has_ended() -> None:
    for zone in ("Pacific/Auckland", "America/Los_Angeles", "Asia/Kolkata", "Pacific/Kiritimati"):
        for month in range(1, 13):
            period = Period(2028, month)
            moment = billing_moment(period, CalendarSettings(time_zone=zone))
            assert moment == period_end(period, zone)
            assert period_has_ended(period, moment, zone)


def test_settings_outside_their_ranges_are_refused() -> None:
    for bad in (
        {"billing_day": 0},
        {"billing_day": 32},
        {"late_time_grace_days": 29},
        {"late_time_grace_days": -1},
        {"time_zone": "Mars/Olympus"},
        {"time_zone": "../../etc/passwd"},
        {"time_zone": "localtime"},
    ):
        with pytest.raises(BillingError):
            CalendarSettings(**bad)  # type: ignore[arg-type]


# ---------------------------------------------------------------- the daily scheduler


def test_latest_due_period_waits_for_the_billing_moment() -> None:
    settings = CalendarSettings(time_zone="Europe/London", billing_day=5)

    assert latest_due_period(utc(2027, 2, 4, 23, 59), settings) == Period(2026, 12)
    assert latest_due_period(utc(2027, 2, 5, 0, 0), settings) == Period(2027, 1)


def test_due_runs_starts_each_run_once() -> None:
    orgs = {"acme": CalendarSettings(), "kiwi": CalendarSettings(time_zone="Pacific/Auckland")}
    now = utc(2027, 2, 1, 2, 0)

    first = due_runs(now, orgs, set())
    again = due_runs(now + timedelta(days=1), orgs, {(r.org_id, r.period) for r in first})

    assert first == [
        DueRun("acme", Period(2027, 1), utc(2027, 2, 1)),
        DueRun("kiwi", Period(2027, 1), utc(2027, 1, 31, 11, 0)),
    ]
    assert again == []


def test_a_day_the_scheduler_missed_is_caught_up_the_next_day() -> None:
    orgs = {"acme": CalendarSettings(billing_day=3)}
    started = {("acme", Period(2026, 12))}

    assert due_runs(utc(2027, 2, 2, 23), orgs, started) == []
    assert due_runs(utc(2027, 2, 5, 2), orgs, started) == [
        DueRun("acme", Period(2027, 1), utc(2027, 2, 3))
    ]


def test_older_unbilled_months_are_not_started_by_the_scheduler() -> None:
    orgs = {"acme": CalendarSettings()}

    due = due_runs(utc(2027, 6, 10), orgs, set())

    assert [r.period for r in due] == [Period(2027, 5)]


@given(
    hours=st.integers(min_value=0, max_value=24 * 366 * 3),
    zone=st.sampled_from(
        ["UTC", "Pacific/Auckland", "America/Los_Angeles", "Asia/Kolkata", "Europe/London"]
    ),
    billing_day=st.integers(min_value=1, max_value=31),
    grace=st.integers(min_value=0, max_value=28),
)
def test_a_scheduler_waking_hourly_starts_every_month_exactly_once_after_it_ended(
    hours: int, zone: str, billing_day: int, grace: int
) -> None:
    settings = CalendarSettings(time_zone=zone, billing_day=billing_day, late_time_grace_days=grace)
    now = utc(2027, 1, 1) + timedelta(hours=hours)

    period = latest_due_period(now, settings)

    assert billing_moment(period, settings) <= now
    assert period_has_ended(period, now, zone)
    following = Period(period.year + period.month // 12, period.month % 12 + 1)
    assert billing_moment(following, settings) > now
