"""The billing calendar: when a month has ended and when its run is due. Pure.

docs/billing-rules.md "The period": a period is billed only once it has ended in the
organisation's time zone (default UTC); a run for the current or a future month is
refused with a reason, whoever starts it.

Each organisation has a time zone (IANA), a billing day (1-31, default 1) and a grace
of N days for late time entries (default 0). The run for a month is due at 00:00
local time on the billing day of the following month, plus the grace days; a billing
day of 29-31 in a shorter month means that month's last day. The clock is always an
argument (an aware UTC ``datetime``), never read here.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Mapping, Set
from dataclasses import dataclass
from functools import cache
from importlib import resources
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from psa_billing.domain.errors import BillingError, PeriodNotEndedError
from psa_billing.domain.model import Period


@dataclass(frozen=True, slots=True)
class CalendarSettings:
    """The calendar part of an organisation's settings (``OrgSettings.calendar()``)."""

    time_zone: str = "UTC"
    billing_day: int = 1
    late_time_grace_days: int = 0

    def __post_init__(self) -> None:
        if not 1 <= self.billing_day <= 31:
            raise BillingError(f"billing day {self.billing_day} is not from 1 to 31")
        if not 0 <= self.late_time_grace_days <= 28:
            raise BillingError(f"grace of {self.late_time_grace_days} days is not from 0 to 28")
        zone(self.time_zone)


@cache
def known_time_zones() -> frozenset[str]:
    """The IANA zone names the pinned tzdata package lists: the same set on a laptop
    and in Lambda (``zoneinfo.available_timezones()`` also lists the OS's extras, such
    as "localtime"). "Factory" is a placeholder zone, not a place."""
    names = resources.files("tzdata").joinpath("zones").read_text(encoding="utf-8").split()
    return frozenset(names) - {"Factory"}


def zone(name: str) -> ZoneInfo:
    """The zone of that IANA name; a name tzdata does not list is refused (ZoneInfo
    itself would also open "localtime" or a file path given to it)."""
    if name not in known_time_zones():
        raise BillingError(f"unknown time zone {name!r}")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise BillingError(f"unknown time zone {name!r}") from None


def _next(period: Period) -> Period:
    return (
        Period(period.year + 1, 1) if period.month == 12 else Period(period.year, period.month + 1)
    )


def _local_midnight(day: dt.date, tz: ZoneInfo) -> dt.datetime:
    """The UTC instant the local day begins. Where clocks jump over midnight (a DST
    change at 00:00) the day begins at the jump, which ``fold=0`` gives; where midnight
    happens twice, at the first."""
    local = dt.datetime(day.year, day.month, day.day, tzinfo=tz)
    return local.astimezone(dt.UTC)


def _utc(now_utc: dt.datetime) -> dt.datetime:
    if now_utc.tzinfo is None:
        raise BillingError("the clock must give an aware datetime (UTC)")
    return now_utc.astimezone(dt.UTC)


def period_end(period: Period, time_zone: str) -> dt.datetime:
    """The UTC instant ``period`` ends in ``time_zone``: 00:00 local on the next month's
    first day."""
    return _local_midnight(_next(period).first_day, zone(time_zone))


def period_has_ended(period: Period, now_utc: dt.datetime, time_zone: str) -> bool:
    """docs/billing-rules.md "The period": True once the month has ended in the zone."""
    return _utc(now_utc) >= period_end(period, time_zone)


def ensure_period_ended(period: Period, now_utc: dt.datetime, time_zone: str) -> None:
    """Refuse a run for a month that has not ended in the organisation's time zone
    (the current month or a future one) with ``PeriodNotEndedError``."""
    if not period_has_ended(period, now_utc, time_zone):
        raise PeriodNotEndedError(str(period), time_zone, f"{period.last_day.isoformat()} 24:00")


def billing_date(period: Period, settings: CalendarSettings) -> dt.date:
    """The local date the run for ``period`` is due: the billing day of the following
    month (its last day when the month is shorter), plus the grace days."""
    following = _next(period)
    last = calendar.monthrange(following.year, following.month)[1]
    day = dt.date(following.year, following.month, min(settings.billing_day, last))
    return day + dt.timedelta(days=settings.late_time_grace_days)


def billing_moment(period: Period, settings: CalendarSettings) -> dt.datetime:
    """The UTC instant the run for ``period`` is due: 00:00 local on ``billing_date``.
    Never before the period has ended (the billing day is in the following month)."""
    return _local_midnight(billing_date(period, settings), zone(settings.time_zone))


def latest_due_period(now_utc: dt.datetime, settings: CalendarSettings) -> Period:
    """The most recent period whose run is due at ``now_utc``.

    The billing moment of a month is at most 31 + 28 days after it ends, so the answer is
    one of the three months before the one containing ``now_utc`` (in any zone)."""
    now = _utc(now_utc)
    candidate = _next(Period.containing(now.date()))
    while billing_moment(candidate, settings) > now:
        candidate = Period.before(candidate.first_day)
    return candidate


@dataclass(frozen=True, slots=True, order=True)
class DueRun:
    org_id: str
    period: Period
    due_at: dt.datetime


def due_runs(
    now_utc: dt.datetime,
    orgs: Mapping[str, CalendarSettings],
    already_started: Set[tuple[str, Period]],
) -> list[DueRun]:
    """Which (organisation, period) runs a scheduler waking at ``now_utc`` should start.

    For each organisation, the latest period whose billing moment has passed, unless a
    run for it was already started (``already_started``: the scheduler's record of the
    runs it started). Woken daily, or more often, it starts each run once, at the first
    wake-up after its moment; a missed day is caught up the next wake-up. Older
    periods are never started here: a month the schedule never billed is billed by a
    run started on purpose."""
    due: list[DueRun] = []
    for org_id, settings in sorted(orgs.items(), key=lambda item: item[0]):
        period = latest_due_period(now_utc, settings)
        if (org_id, period) not in already_started:
            due.append(DueRun(org_id, period, billing_moment(period, settings)))
    return due
