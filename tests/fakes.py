"""In-memory fakes of the ports the use cases take (STYLE.md: unit tests on fakes)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence, Set
from dataclasses import dataclass, field

from psa_billing.domain.model import Contract, Period
from psa_billing.ingest.validate import ExistingEntry, ValidatedImport


@dataclass
class InMemoryExisting:
    """An in-memory ``ExistingData`` (what is stored for the import's organisation)."""

    customer_ids: set[str] = field(default_factory=set)
    ticket_customers: dict[str, str] = field(default_factory=dict)
    project_customers: dict[str, str] = field(default_factory=dict)
    contracts: dict[str, Contract] = field(default_factory=dict)
    entries: dict[str, ExistingEntry] = field(default_factory=dict)
    statements: dict[tuple[str, str], str] = field(default_factory=dict)
    """(customer id, "YYYY-MM") -> id of the statement that billed it."""
    customer_currencies: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, *imports: ValidatedImport) -> InMemoryExisting:
        existing = cls()
        for validated in imports:
            existing.store(validated)
        return existing

    def store(self, validated: ValidatedImport) -> None:
        """Upsert an accepted import by id, as the storage layer would."""
        self.customer_ids.update(c.id for c in validated.customers)
        self.customer_currencies.update({c.id: c.billing.currency for c in validated.customers})
        self.ticket_customers.update({t.id: t.customer_id for t in validated.tickets})
        self.project_customers.update({p.id: p.customer_id for p in validated.projects})
        self.contracts.update({c.id: c for c in validated.contracts})
        for entry in validated.entries:
            customer_id = validated.entry_customers[entry.id]
            self.entries[entry.id] = ExistingEntry(entry, customer_id)

    def bill(self, customer_id: str, period: Period | str, statement_id: str) -> None:
        self.statements[(customer_id, str(period))] = statement_id

    def customers(self, ids: Set[str]) -> Set[str]:
        return {i for i in ids if i in self.customer_ids}

    def tickets(self, ids: Set[str]) -> Mapping[str, str]:
        return {i: self.ticket_customers[i] for i in ids if i in self.ticket_customers}

    def projects(self, ids: Set[str]) -> Mapping[str, str]:
        return {i: self.project_customers[i] for i in ids if i in self.project_customers}

    def contracts_of(self, customer_ids: Set[str]) -> Sequence[Contract]:
        return [c for c in self.contracts.values() if c.customer_id in customer_ids]

    def time_entries(self, ids: Set[str]) -> Mapping[str, ExistingEntry]:
        return {i: self.entries[i] for i in ids if i in self.entries}

    def billed_periods(self, pairs: Set[tuple[str, str]]) -> Mapping[tuple[str, str], str]:
        return {p: self.statements[p] for p in pairs if p in self.statements}

    def currencies(self, customer_ids: Set[str]) -> Mapping[str, str]:
        return {
            c: self.customer_currencies[c] for c in customer_ids if c in self.customer_currencies
        }
