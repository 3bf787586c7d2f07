"""An import and a run of the same organisation never overlap (docs/billing-rules.md
"Once billed, billed once": a run sees an organisation's data whole).

An import holds the organisation's import lease while it writes; each run holds a run
lease of its own from planning to closing. Runs may overlap each other (billing is once
per customer and period whatever happens), imports exclude runs and other imports.
Leases expire, so a holder that dies frees the organisation by itself; an import that
died leaves its state ``writing`` behind, and runs are refused until the same document
(or any other) has been imported completely.

The waiting is bounded: the loser waits up to ``wait_seconds`` and is then refused with
a reason that names the holder.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Final, Protocol

from psa_billing.domain.errors import BillingError
from psa_billing.logic.ports import Clock

# An import renews its lease as it writes (every 500 items); a run's lease covers a
# long run. A dead import frees its organisation after IMPORT_LEASE_SECONDS.
IMPORT_LEASE_SECONDS: Final = 30
RUN_LEASE_SECONDS: Final = 6 * 3600
WAIT_SECONDS: Final = 20.0
# An import waits longer than one import lease: importing again right after an import
# died then simply waits for the dead one's lease to lapse.
IMPORT_WAIT_SECONDS: Final = 45.0
POLL_SECONDS: Final = 1.0


class OrganisationBusyError(BillingError):
    """An import or a run of the organisation holds it; nothing was changed."""


class ImportIncompleteError(BillingError):
    """The organisation's last import stopped before writing everything."""


@dataclass(frozen=True, slots=True)
class ImportState:
    status: str  # "writing" | "complete"
    holder: str
    document_sha256: str
    started_at: str
    finished_at: str | None
    items_written: int

    @property
    def complete(self) -> bool:
        return self.status == "complete"


class LeaseStore(Protocol):
    def take_import_lease(
        self, org_id: str, holder: str, now: datetime, seconds: int
    ) -> str | None:
        """Take (or renew) the import lease; None on success, else who holds the
        organisation (another import, or a run) in words."""
        ...

    def release_import_lease(self, org_id: str, holder: str) -> None: ...

    def take_run_lease(self, org_id: str, run_id: str, now: datetime, seconds: int) -> str | None:
        """Take a run's lease, only while no import holds the organisation; None on
        success, else the import holding it, in words."""
        ...

    def release_run_lease(self, org_id: str, run_id: str) -> None: ...

    def import_state(self, org_id: str) -> ImportState | None: ...

    def record_import(self, org_id: str, state: ImportState) -> None: ...


def wait_for(
    take: Callable[[], str | None],
    *,
    what: str,
    wait_seconds: float = WAIT_SECONDS,
    sleep: Callable[[float], None] = time.sleep,
    monotonic: Callable[[], float] = time.monotonic,
) -> None:
    """Call ``take`` until it succeeds or ``wait_seconds`` have passed; then refuse."""
    deadline = monotonic() + wait_seconds
    while True:
        holder = take()
        if holder is None:
            return
        if monotonic() >= deadline:
            raise OrganisationBusyError(
                f"{what}: {holder}; waited {wait_seconds:.0f} s, try again when it is done"
            )
        sleep(POLL_SECONDS)


def ensure_import_complete(leases: LeaseStore, org_id: str) -> None:
    """A run refuses an organisation whose last import did not finish."""
    state = leases.import_state(org_id)
    if state is not None and not state.complete:
        raise ImportIncompleteError(
            f"organisation {org_id!r}: the import started at {state.started_at} "
            f"({state.holder}) stopped after {state.items_written} items; import the "
            "same document again to finish it, then run"
        )


def take_run_lease(
    leases: LeaseStore,
    org_id: str,
    run_id: str,
    clock: Clock,
    *,
    wait_seconds: float = WAIT_SECONDS,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    wait_for(
        lambda: leases.take_run_lease(org_id, run_id, clock(), RUN_LEASE_SECONDS),
        what=f"cannot bill organisation {org_id!r} now",
        wait_seconds=wait_seconds,
        sleep=sleep,
    )
    try:
        ensure_import_complete(leases, org_id)
    except ImportIncompleteError:
        # A refused run never closes: give its lease back now, or it would keep the
        # import that repairs the organisation waiting for hours.
        leases.release_run_lease(org_id, run_id)
        raise
