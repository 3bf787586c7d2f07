"""Use case: import one organisation's billing document (upsert by id).

The whole document is checked against itself and the stored data before anything is
written; a refused document writes nothing.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Protocol

from psa_billing.ingest.validate import (
    ExistingData,
    Problem,
    ValidatedImport,
    document_org_id,
    parse_document,
    validate_parsed,
)
from psa_billing.logic.leases import (
    IMPORT_LEASE_SECONDS,
    IMPORT_WAIT_SECONDS,
    ImportState,
    LeaseStore,
    wait_for,
)
from psa_billing.logic.ports import Clock


class ImportRepository(Protocol):
    def existing(self, org_id: str) -> ExistingData:
        """What is already stored for the organisation, read by key."""
        ...

    def write_import(
        self, validated: ValidatedImport, now: str, progress: Callable[[int], None]
    ) -> int:
        """Write every item; call ``progress(items written so far)`` between batches."""
        ...


@dataclass(frozen=True)
class ImportResult:
    org_id: str
    counts: dict[str, int]
    warnings: list[Problem] = field(default_factory=list)


def import_document(
    raw: bytes | str,
    repo: ImportRepository,
    *,
    clock: Clock,
    leases: LeaseStore,
    holder: str = "an import",
    dry_run: bool = False,
    lease_seconds: int = IMPORT_LEASE_SECONDS,
    wait_seconds: float = IMPORT_WAIT_SECONDS,
    sleep: Callable[[float], None] = time.sleep,
) -> ImportResult:
    """Check the whole document, then write it while holding the organisation's import
    lease, so that no run sees part of it (docs/billing-rules.md "Once billed, billed
    once"). The import's state is recorded as ``writing`` first and ``complete`` last:
    one that dies midway stays visible, runs are refused, and importing the document
    again (an upsert by id) finishes it."""
    data = parse_document(raw)
    org_id = document_org_id(data)
    if dry_run or org_id is None:  # without an id the validation names the problem
        return _result(validate_parsed(data, repo.existing))
    who = f"{holder} (started {clock().isoformat(timespec='seconds')})"
    wait_for(
        lambda: leases.take_import_lease(org_id, who, clock(), lease_seconds),
        what=f"cannot import organisation {org_id!r} now",
        wait_seconds=wait_seconds,
        sleep=sleep,
    )
    try:
        # Checked against stored data under the lease: no run bills anything meanwhile.
        validated = validate_parsed(data, repo.existing)
        started = clock().isoformat(timespec="seconds")
        digest = hashlib.sha256(raw if isinstance(raw, bytes) else raw.encode()).hexdigest()
        state = ImportState("writing", who, digest, started, None, 0)
        leases.record_import(org_id, state)

        def progress(written: int) -> None:
            # Renew the lease as the writing goes on, and leave a trace of how far.
            leases.take_import_lease(org_id, who, clock(), lease_seconds)
            leases.record_import(org_id, _replace(state, items_written=written))

        written = repo.write_import(validated, started, progress)
        leases.record_import(
            org_id,
            _replace(
                state,
                status="complete",
                finished_at=clock().isoformat(timespec="seconds"),
                items_written=written,
            ),
        )
    finally:
        leases.release_import_lease(org_id, who)
    return _result(validated)


def _replace(state: ImportState, **changes: object) -> ImportState:
    return replace(state, **changes)  # type: ignore[arg-type]


def _result(validated: ValidatedImport) -> ImportResult:
    counts = {
        "customers": len(validated.customers),
        "devices": len(validated.devices),
        "tickets": len(validated.tickets),
        "projects": len(validated.projects),
        "contracts": len(validated.contracts),
        "time entries": len(validated.entries),
    }
    return ImportResult(validated.org_id, counts, list(validated.warnings))
