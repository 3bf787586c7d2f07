"""Use case: import one organisation's billing document (upsert by id).

The whole document is checked against itself and the stored data before anything is
written; a refused document writes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from psa_billing.ingest.validate import ExistingData, Problem, ValidatedImport, validate_import
from psa_billing.logic.ports import Clock


class ImportRepository(Protocol):
    def existing(self, org_id: str) -> ExistingData:
        """What is already stored for the organisation, read by key."""
        ...

    def write_import(self, validated: ValidatedImport, now: str) -> int: ...


@dataclass(frozen=True)
class ImportResult:
    org_id: str
    counts: dict[str, int]
    warnings: list[Problem] = field(default_factory=list)


def import_document(
    raw: bytes | str, repo: ImportRepository, *, clock: Clock, dry_run: bool = False
) -> ImportResult:
    validated = validate_import(raw, repo.existing)
    counts = {
        "customers": len(validated.customers),
        "devices": len(validated.devices),
        "tickets": len(validated.tickets),
        "projects": len(validated.projects),
        "contracts": len(validated.contracts),
        "time entries": len(validated.entries),
    }
    if not dry_run:
        repo.write_import(validated, clock().isoformat(timespec="seconds"))
    return ImportResult(validated.org_id, counts, list(validated.warnings))
