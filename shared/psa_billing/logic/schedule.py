"""The daily schedule: start, for each organisation whose billing moment has come, the
run for the month that ended, once.

docs/billing-rules.md "The period": each organisation has a time zone, a billing day
and a grace of N days; ``domain/calendar.py`` says when a month's run is due
(``due_runs``). One EventBridge rule wakes the schedule function every day; this use
case reads the organisations (one Query on their partition), the schedule's own record
of what it already started (one Query per candidate period, at most three), and for
each run that is due writes its record with a condition (``claim``) before starting the
state machine. Two wake-ups at once, a retried one, or one after a crash between the
claim and the start, start each (organisation, period) once: the claim lets one of
them through, and the execution is named after the organisation and period, so a
second start of the same run is refused by Step Functions itself.
"""

from __future__ import annotations

import datetime as dt
import zlib
from collections.abc import Set
from typing import Protocol

from psa_billing.domain.calendar import due_runs, latest_due_period
from psa_billing.domain.model import Period
from psa_billing.domain.org import OrgSettings
from psa_billing.logic.events import RunRequest, ScheduledRunDoc, ScheduleReport

# A claim whose run was never recorded as started (the function stopped between the
# two writes) may be taken again after this long; the execution name still keeps the
# run single.
CLAIM_TIMEOUT = dt.timedelta(minutes=15)


class ScheduleStore(Protocol):
    def list_orgs(self) -> list[OrgSettings]: ...
    def started(self, period: Period, now: str) -> Set[str]:
        """Ids of the organisations whose run for ``period`` the schedule has started
        (or claimed, less than CLAIM_TIMEOUT before ``now``)."""
        ...

    def claim(self, org_id: str, period: Period, run_id: str, due_at: str, now: str) -> bool:
        """Record the run as being started, only if no other wake-up has (or its claim
        is older than CLAIM_TIMEOUT). False when another one has it."""
        ...

    def mark_started(self, org_id: str, period: Period, execution_arn: str) -> None: ...


class RunStarter(Protocol):
    def start_once(self, name: str, payload: dict[str, object]) -> str:
        """Start the state machine as execution ``name``; the execution's ARN. Starting
        a name that already exists starts nothing and returns that execution's ARN."""
        ...


def scheduled_run_id(org_id: str, period: Period) -> str:
    """The run's (execution's) name: one per organisation and period, at most 80
    characters (Step Functions' limit), readable, and never shared by two organisations
    (a long id is cut and a checksum of the whole id added)."""
    name = f"{org_id}-{period}-scheduled"
    if len(name) <= 80:
        return name
    crc = f"{zlib.crc32(org_id.encode()):08x}"
    return f"{org_id[: 80 - len(crc) - len('--2026-01-scheduled')]}-{crc}-{period}-scheduled"


def start_due_runs(now: dt.datetime, store: ScheduleStore, starter: RunStarter) -> ScheduleReport:
    """Start every run that is due at ``now`` and was not started yet.

    AWS requests: a Query of the organisations, a Query of the schedule's records per
    distinct due period (one to three), then per run started a conditional PutItem, a
    StartExecution and an UpdateItem."""
    calendars = {org.id: org.calendar() for org in store.list_orgs()}
    periods = {latest_due_period(now, cal) for cal in calendars.values()}
    stamp = now.astimezone(dt.UTC).isoformat(timespec="seconds")
    already: set[tuple[str, Period]] = set()
    for period in sorted(periods):
        already |= {(org_id, period) for org_id in store.started(period, stamp)}
    waiting = {(o, latest_due_period(now, cal)) for o, cal in calendars.items()} - already
    started: list[ScheduledRunDoc] = []
    skipped: list[ScheduledRunDoc] = []
    for due in due_runs(now, calendars, already):
        run_id = scheduled_run_id(due.org_id, due.period)
        doc = ScheduledRunDoc(
            org_id=due.org_id,
            period=str(due.period),
            run_id=run_id,
            due_at=due.due_at.isoformat(timespec="seconds"),
        )
        if not store.claim(due.org_id, due.period, run_id, doc.due_at, stamp):
            skipped.append(doc)  # another wake-up is starting it
            continue
        request = RunRequest(trigger="schedule", orgId=due.org_id, period=str(due.period))
        arn = starter.start_once(run_id, request.model_dump(by_alias=True, exclude_none=True))
        store.mark_started(due.org_id, due.period, arn)
        started.append(doc.model_copy(update={"execution_arn": arn}))
    return ScheduleReport(
        now=stamp,
        organisations=len(calendars),
        already_started=len(calendars) - len(waiting),
        started=started,
        skipped=skipped,
    )
