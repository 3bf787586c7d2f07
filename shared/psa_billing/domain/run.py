"""A monthly run and what happened to each customer in it."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Outcome(StrEnum):
    BILLED = "billed"
    NOTHING_TO_BILL = "nothing_to_bill"  # docs/billing-rules.md: no line at all, no statement
    ALREADY_BILLED = "already_billed"  # docs/billing-rules.md "Once billed, billed once"
    FAILED = "failed"


class RunStatus(StrEnum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    SUCCEEDED_WITH_FAILURES = "succeeded_with_failures"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class CustomerOutcome:
    run_id: str
    org_id: str
    customer_id: str
    outcome: Outcome
    statement_id: str | None = None
    error: str | None = None
    # Already billed: late entries waiting for a late-time adjustment of the statement
    # (docs/billing-rules.md "Late time").
    late_entries: int = 0
    late_minutes: int = 0


@dataclass(frozen=True, slots=True)
class Run:
    run_id: str
    period: str
    org_ids: tuple[str, ...]
    status: RunStatus
    total: int
    started_at: str
    finished_at: str | None = None
    counts: dict[str, int] = field(default_factory=dict)
    error: str | None = None
    # The organisations whose run lease this run holds until it closes.
    leased_org_ids: tuple[str, ...] = ()
