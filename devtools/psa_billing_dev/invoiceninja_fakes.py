"""In-memory fakes of the InvoiceNinja sync's ports, for unit tests.

``MemoryStore`` keeps the same conditional-write rules as the DynamoDB store (a claim or
lock is taken only when free or stale, completed only by its holder), under a lock, so
concurrency tests against it mean something. ``MemoryPortal`` is both the directory and
the billable-work port, built from the demo import document.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from psa_billing.domain.model import BillingSettings, Customer, Project, Ticket, TimeEntry
from psa_billing.invoiceninja.errors import PushInProgressError
from psa_billing.invoiceninja.ports import (
    ClientMapping,
    PortalCustomer,
    PortalProject,
    PushRecord,
    Source,
)


class MemoryStore:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.mappings: dict[tuple[str, str], ClientMapping] = {}
        self.locks: dict[tuple[str, Source], tuple[str, datetime]] = {}
        self.records: dict[tuple[str, Source], list[PushRecord]] = {}

    def client_mapping(self, org_id: str, customer_id: str) -> ClientMapping | None:
        with self._lock:
            return self.mappings.get((org_id, customer_id))

    def client_mappings(self, org_id: str) -> dict[str, str]:
        with self._lock:
            return {
                m.in_client_id: m.customer_id
                for (org, _), m in self.mappings.items()
                if org == org_id and m.in_client_id
            }

    def claim_client(
        self, org_id: str, customer_id: str, claim_id: str, now: datetime, stale_before: datetime
    ) -> bool:
        with self._lock:
            current = self.mappings.get((org_id, customer_id))
            if current is not None and (
                current.in_client_id
                or (current.claimed_at is not None and current.claimed_at >= stale_before)
            ):
                return False
            self.mappings[(org_id, customer_id)] = ClientMapping(customer_id, None, claim_id, now)
            return True

    def complete_client(
        self, org_id: str, customer_id: str, claim_id: str, in_client_id: str
    ) -> None:
        with self._lock:
            current = self.mappings.get((org_id, customer_id))
            if current is None or current.claim_id != claim_id:
                raise PushInProgressError("claim taken over")
            self.mappings[(org_id, customer_id)] = replace(
                current, in_client_id=in_client_id, claim_id=None
            )

    def release_client(self, org_id: str, customer_id: str, claim_id: str) -> None:
        with self._lock:
            current = self.mappings.get((org_id, customer_id))
            if current is not None and current.claim_id == claim_id and not current.in_client_id:
                del self.mappings[(org_id, customer_id)]

    def pushes(self, org_id: str, source: Source) -> list[PushRecord]:
        with self._lock:
            return list(self.records.get((org_id, source), []))

    def lock_source(
        self, org_id: str, source: Source, claim_id: str, now: datetime, stale_before: datetime
    ) -> bool:
        with self._lock:
            held = self.locks.get((org_id, source))
            if held is not None and held[1] >= stale_before:
                return False
            self.locks[(org_id, source)] = (claim_id, now)
            return True

    def record_push(self, org_id: str, record: PushRecord, claim_id: str) -> None:
        with self._lock:
            held = self.locks.get((org_id, record.source))
            if held is None or held[0] != claim_id:
                raise PushInProgressError("lock taken over")
            self.records.setdefault((org_id, record.source), []).append(record)
            del self.locks[(org_id, record.source)]

    def unlock_source(self, org_id: str, source: Source, claim_id: str) -> None:
        with self._lock:
            held = self.locks.get((org_id, source))
            if held is not None and held[0] == claim_id:
                del self.locks[(org_id, source)]


class MemoryPortal:
    """``PortalDirectory`` and ``BillableWork`` over an import document (demo data)."""

    def __init__(self, doc: dict[str, Any]) -> None:
        self.org_id: str = doc["orgId"]
        self._customers = {
            c["id"]: Customer(
                id=c["id"],
                name=c["name"],
                billing=BillingSettings(
                    per_device_rate=Decimal(c["billing"]["perDeviceRate"]),
                    default_hourly_rate=Decimal(c["billing"]["defaultHourlyRate"]),
                    tax_percent=Decimal(c["billing"]["taxPercent"]),
                    currency=c["billing"]["currency"],
                    auto_send=c["billing"]["autoSend"],
                    billing_email=c["billing"]["billingEmail"],
                ),
            )
            for c in doc["customers"]
        }
        self._projects = {
            p["id"]: Project(
                id=p["id"],
                customer_id=p["customerId"],
                code=p["code"],
                name=p["name"],
                billable=p["billable"],
                hourly_rate=Decimal(p["hourlyRate"]) if p.get("hourlyRate") else None,
            )
            for p in doc.get("projects", [])
        }
        self._tickets = {
            t["id"]: Ticket(
                id=t["id"],
                customer_id=t["customerId"],
                subject=t["subject"],
                number=t.get("number"),
            )
            for t in doc.get("tickets", [])
        }
        self.entries: list[TimeEntry] = [
            TimeEntry(
                id=e["id"],
                date=date.fromisoformat(e["date"]),
                minutes=e["minutes"],
                billable=e["billable"],
                ticket_id=e.get("ticketId"),
                project_id=e.get("projectId"),
                description=e.get("description", ""),
                user_id=e.get("userId", ""),
            )
            for e in doc.get("timeEntries", [])
        ]

    # PortalDirectory
    def customers(self, org_id: str) -> Sequence[PortalCustomer]:
        if org_id != self.org_id:
            return []
        return [PortalCustomer(c.id, c.name) for c in self._customers.values()]

    def projects(self, org_id: str) -> Sequence[PortalProject]:
        if org_id != self.org_id:
            return []
        return [PortalProject(p.id, p.customer_id, p.code, p.name) for p in self._projects.values()]

    # BillableWork
    def customer(self, org_id: str, customer_id: str) -> Customer | None:
        return self._customers.get(customer_id) if org_id == self.org_id else None

    def project(self, org_id: str, project_id: str) -> Project | None:
        return self._projects.get(project_id) if org_id == self.org_id else None

    def ticket(self, org_id: str, ticket_id: str) -> Ticket | None:
        return self._tickets.get(ticket_id) if org_id == self.org_id else None

    def time_entries(self, org_id: str, source: Source) -> Sequence[TimeEntry]:
        if org_id != self.org_id:
            return []
        if source.kind == "project":
            return [e for e in self.entries if e.project_id == source.id]
        return [e for e in self.entries if e.ticket_id == source.id]

    def add_entry(self, entry: TimeEntry) -> None:
        self.entries.append(entry)
