"""What the InvoiceNinja use cases need from the rest of the system (STYLE.md 4).

The lead implements ``PortalDirectory`` and ``BillableWork`` from the portal repository;
``InvoiceNinjaStore`` is ``psa_billing.dal.invoiceninja_store``; ``InvoiceNinjaApi`` is
``psa_billing.invoiceninja.client.InvoiceNinjaClient``. Tests pass in-memory fakes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol

from psa_billing.domain.model import Customer, Project, Ticket, TimeEntry
from psa_billing.invoiceninja.deadline import Deadline
from psa_billing.invoiceninja.settings import InvoiceNinjaConfig
from psa_billing.invoiceninja.wire import DocumentKind, Ping, WireClient, WireDocument

SourceKind = Literal["project", "ticket"]


@dataclass(frozen=True, slots=True)
class PortalCustomer:
    id: str
    name: str


@dataclass(frozen=True, slots=True)
class PortalProject:
    id: str
    customer_id: str
    code: str
    name: str


class PortalDirectory(Protocol):
    """The organisation's customers and projects, to join InvoiceNinja rows to them."""

    def customers(self, org_id: str) -> Sequence[PortalCustomer]:
        """Every customer of the organisation (id and display name)."""
        ...

    def projects(self, org_id: str) -> Sequence[PortalProject]:
        """Every project of the organisation, with its code (matched to ``po_number``)."""
        ...


@dataclass(frozen=True, slots=True)
class Source:
    """What is pushed: a project or a ticket of the organisation."""

    kind: SourceKind
    id: str

    def __str__(self) -> str:
        return f"{self.kind} {self.id}"


class BillableWork(Protocol):
    """The portal records a push reads. ``None`` means "no such record in this org"."""

    def customer(self, org_id: str, customer_id: str) -> Customer | None:
        """The customer with its billing settings (currency, default hourly rate)."""
        ...

    def project(self, org_id: str, project_id: str) -> Project | None: ...

    def ticket(self, org_id: str, ticket_id: str) -> Ticket | None: ...

    def time_entries(self, org_id: str, source: Source) -> Sequence[TimeEntry]:
        """Every time entry logged against the project or ticket, whatever its date or
        billable flag (the use case keeps the billable ones not pushed yet)."""
        ...


@dataclass(frozen=True, slots=True)
class ClientMapping:
    """A portal customer's InvoiceNinja client; ``in_client_id`` is None while a push holds
    the claim to find or create it."""

    customer_id: str
    in_client_id: str | None
    claim_id: str | None = None
    claimed_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class PushRecord:
    """What one push sent: the document it made and the time entries on it."""

    key: str
    source: Source
    document_kind: DocumentKind
    document_id: str
    document_number: str
    in_client_id: str
    entry_ids: tuple[str, ...]
    pushed_at: datetime


class InvoiceNinjaStore(Protocol):
    """Client mappings and push records. Every write that decides something is
    conditional, so two concurrent pushes cannot both win."""

    def client_mapping(self, org_id: str, customer_id: str) -> ClientMapping | None: ...

    def client_mappings(self, org_id: str) -> dict[str, str]:
        """InvoiceNinja client id -> portal customer id, for every completed mapping."""
        ...

    def claim_client(
        self, org_id: str, customer_id: str, claim_id: str, now: datetime, stale_before: datetime
    ) -> bool:
        """Take the right to find-or-create the customer's client: True when no mapping
        exists, or an unfinished claim is older than ``stale_before``."""
        ...

    def complete_client(
        self, org_id: str, customer_id: str, claim_id: str, in_client_id: str
    ) -> None:
        """Store the mapping, only while ``claim_id`` still holds the claim."""
        ...

    def release_client(self, org_id: str, customer_id: str, claim_id: str) -> None:
        """Give up an unfinished claim (the push failed), so the next push need not wait
        for it to go stale. Does nothing once the mapping is stored or the claim is lost."""
        ...

    def pushes(self, org_id: str, source: Source) -> list[PushRecord]:
        """Every push of the source, oldest first (strongly consistent)."""
        ...

    def lock_source(
        self, org_id: str, source: Source, claim_id: str, now: datetime, stale_before: datetime
    ) -> bool:
        """One push of a source at a time: True when unlocked or the lock is stale."""
        ...

    def record_push(self, org_id: str, record: PushRecord, claim_id: str) -> None:
        """Store the record and release the lock together, only while holding it."""
        ...

    def unlock_source(self, org_id: str, source: Source, claim_id: str) -> None: ...


class InvoiceNinjaApi(Protocol):
    """The calls the use cases make (``InvoiceNinjaClient`` implements them)."""

    config: InvoiceNinjaConfig

    def deadline(self) -> Deadline: ...

    def ping(self, deadline: Deadline | None = None) -> Ping: ...

    def list_documents(
        self, kind: DocumentKind, deadline: Deadline | None = None
    ) -> list[WireDocument]: ...

    def currency_codes(self, deadline: Deadline | None = None) -> dict[str, str]: ...

    def company_currency_id(self, deadline: Deadline | None = None) -> str: ...

    def find_client(
        self, id_number: str, deadline: Deadline | None = None
    ) -> WireClient | None: ...

    def find_document(
        self, kind: DocumentKind, marker: str, deadline: Deadline | None = None
    ) -> WireDocument | None: ...

    def create_client(
        self, body: dict[str, Any], deadline: Deadline | None = None
    ) -> WireClient: ...

    def create_document(
        self, kind: DocumentKind, body: dict[str, Any], deadline: Deadline | None = None
    ) -> WireDocument: ...


def client_id_number(org_id: str, customer_id: str) -> str:
    """The ``id_number`` set on a customer's InvoiceNinja client. One InvoiceNinja can
    serve several organisations, so the organisation is part of it; it is matched
    exactly (``?id_number=`` is an exact filter), never by name."""
    return f"{org_id}:{customer_id}"


def customer_of_id_number(org_id: str, id_number: str) -> str | None:
    prefix = f"{org_id}:"
    return id_number.removeprefix(prefix) or None if id_number.startswith(prefix) else None


@dataclass(frozen=True)
class PortalPorts:
    """The three ports the routes and the CLI need, built once by whoever wires them."""

    directory: PortalDirectory
    work: BillableWork
    store: InvoiceNinjaStore
