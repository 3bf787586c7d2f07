"""Use case: push a billable project (as an invoice or a quote) or a billable ticket (as an
invoice) into InvoiceNinja.

Product doc "How the Link Works": each portal customer maps to one InvoiceNinja client,
created by the first push if it does not exist; the document's ``po_number`` is the
project code or the ticket id. The rules this module keeps:

* One client per customer, even under concurrent first pushes: the stored mapping is
  claimed with a conditional write before anything is looked up or created, and the
  client is found by an exact ``id_number`` match before one is created.
* One document per push: one push of a source at a time (a conditional lock), and the
  time entries on a document are stored with it, so they are never pushed again.
  Pushing the same thing twice returns the first document.
* A crash between creating the document and recording it is repaired on the next push:
  the document carries its push key in ``custom_value4`` and is found by it. A create
  that got no answer keeps the lock until it is stale, so that next push comes after
  InvoiceNinja has finished.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

from psa_billing.domain.model import Customer, TimeEntry
from psa_billing.domain.money import Currency
from psa_billing.invoiceninja.deadline import Deadline
from psa_billing.invoiceninja.errors import (
    InvoiceNinjaError,
    NotBillableError,
    NothingToPushError,
    PushInProgressError,
    PushOutcomeUnknownError,
    RejectedError,
    UnknownSourceError,
)
from psa_billing.invoiceninja.ports import (
    BillableWork,
    InvoiceNinjaApi,
    InvoiceNinjaStore,
    PushRecord,
    Source,
    client_id_number,
)
from psa_billing.invoiceninja.wire import DocumentKind, WireClient

# A lock or claim older than this belongs to a push that died; the next push takes over.
STALE_AFTER = timedelta(minutes=2)
MARKER_PREFIX = "psa-billing:"
_HOURS = Decimal("0.0001")


@dataclass(frozen=True, slots=True)
class PushResult:
    outcome: Literal["created", "already_pushed"]
    record: PushRecord
    url: str
    client_created: bool = False


@dataclass(frozen=True, slots=True)
class Clock:
    now: Callable[[], datetime]
    sleep: Callable[[float], None] = time.sleep


def push_key(org_id: str, source: Source, kind: DocumentKind, entry_ids: Sequence[str]) -> str:
    """The same push (same source, same kind, same time entries) has the same key."""
    text = "\n".join([org_id, source.kind, source.id, kind, *sorted(entry_ids)])
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def marker(key: str) -> str:
    return f"{MARKER_PREFIX}{key}"


def hours(minutes: int) -> Decimal:
    """A line's quantity in hours. InvoiceNinja multiplies ``quantity`` by ``cost``; 4
    decimals move a line by at most rate × 0.00005, under one cent below 200 an hour."""
    return (Decimal(minutes) / 60).quantize(_HOURS)


def line_items(entries: Sequence[TimeEntry], rate: Decimal, label: str) -> list[dict[str, Any]]:
    """One line per time entry: hours, the hourly rate, what was done and when.
    ``line_items``/``quantity``/``cost`` are v5's names (invoiceninja-api.md §2.4);
    ``cost`` is always sent because it is not filled in from the product."""
    items = []
    for e in sorted(entries, key=lambda e: (e.date, e.id)):
        what = e.description or "Time"
        who = f" ({e.user_id})" if e.user_id else ""
        items.append(
            {
                "product_key": label,
                "notes": f"{e.date.isoformat()}: {what}{who}",
                "quantity": hours(e.minutes),
                "cost": rate,
                "date": e.date.isoformat(),
                "type_id": "2",  # service
                "custom_value1": e.id,
            }
        )
    return items


def _source_details(
    org_id: str, source: Source, kind: DocumentKind, work: BillableWork
) -> tuple[Customer, str, Decimal, str]:
    """The customer, the po_number, the hourly rate and the line label of a source."""
    if source.kind == "project":
        project = work.project(org_id, source.id)
        if project is None:
            raise UnknownSourceError(f"no project {source.id!r} in organisation {org_id!r}")
        if not project.billable:
            raise NotBillableError(f"project {project.code} is not billable")
        customer = work.customer(org_id, project.customer_id)
        if customer is None:
            raise UnknownSourceError(f"project {project.code} has no customer in {org_id!r}")
        rate = project.hourly_rate or customer.billing.default_hourly_rate
        return customer, project.code, rate, f"Project {project.code}"
    if kind != "invoice":
        raise NotBillableError("a ticket is pushed as an invoice, not a quote")
    ticket = work.ticket(org_id, source.id)
    if ticket is None:
        raise UnknownSourceError(f"no ticket {source.id!r} in organisation {org_id!r}")
    customer = work.customer(org_id, ticket.customer_id)
    if customer is None:
        raise UnknownSourceError(f"ticket {ticket.id} has no customer in {org_id!r}")
    label = f"Ticket {ticket.number}" if ticket.number else f"Ticket {ticket.id}"
    return customer, ticket.id, customer.billing.default_hourly_rate, label


def ensure_client(
    org_id: str,
    customer: Customer,
    *,
    api: InvoiceNinjaApi,
    store: InvoiceNinjaStore,
    clock: Clock,
    deadline: Deadline,
) -> tuple[str, bool]:
    """The customer's InvoiceNinja client id, and whether this call created it."""
    mapping = store.client_mapping(org_id, customer.id)
    if mapping is not None and mapping.in_client_id:
        return mapping.in_client_id, False
    id_number = client_id_number(org_id, customer.id)
    pause = 0.1
    while True:
        claim = uuid.uuid4().hex
        now = clock.now()
        if store.claim_client(org_id, customer.id, claim, now, now - STALE_AFTER):
            try:
                found, created = _find_or_create(customer, id_number, api, deadline)
            except BaseException:
                store.release_client(org_id, customer.id, claim)
                raise
            store.complete_client(org_id, customer.id, claim, found.id)
            return found.id, created
        # Another push holds the claim: wait for its mapping, within this push's deadline.
        if deadline.remaining() < pause + 1.0:
            raise PushInProgressError(
                f"another push is creating the InvoiceNinja client of {customer.id}; "
                "try again in a moment"
            )
        clock.sleep(pause)
        pause = min(pause * 2, 1.0)
        mapping = store.client_mapping(org_id, customer.id)
        if mapping is not None and mapping.in_client_id:
            return mapping.in_client_id, False


def _find_or_create(
    customer: Customer, id_number: str, api: InvoiceNinjaApi, deadline: Deadline
) -> tuple[WireClient, bool]:
    found = api.find_client(id_number, deadline)
    if found is not None:
        return found, False
    try:
        return api.create_client(_client_body(customer, id_number), deadline), True
    except RejectedError as exc:
        # Made outside this store's knowledge (id_number is unique per company): use it.
        if "id_number" not in exc.fields:
            raise
        found = api.find_client(id_number, deadline)
        if found is None:
            raise
        return found, False


def _client_body(customer: Customer, id_number: str) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": customer.name,
        "id_number": id_number,
        "currency_code": customer.billing.currency,
    }
    if customer.billing.billing_email:
        body["contacts"] = [{"email": customer.billing.billing_email, "send_email": True}]
    return body


def push(
    org_id: str,
    source: Source,
    kind: DocumentKind,
    *,
    work: BillableWork,
    store: InvoiceNinjaStore,
    api: InvoiceNinjaApi,
    clock: Clock,
    idempotency_key: str | None = None,
) -> PushResult:
    """Push the source's billable time not pushed yet as one invoice or quote.

    Time already on an earlier push of the source (an invoice or a quote) is never sent
    again: a quote is turned into an invoice in InvoiceNinja, not pushed twice.

    Raises UnknownSourceError, NotBillableError, NothingToPushError (no new time and no
    earlier push), PushInProgressError (a concurrent push of the same source),
    PushOutcomeUnknownError (the create got no confirmed answer; the source stays locked
    until it is safe to retry) and InvoiceNinjaError (InvoiceNinja refused or failed
    before the create; nothing was made or recorded).
    """
    customer, po_number, rate, label = _source_details(org_id, source, kind, work)
    Currency.of(customer.billing.currency)  # refuse an unknown currency before any call
    # One deadline for every InvoiceNinja call of this push, so a slow server fails it
    # within the API's time limit.
    deadline = api.deadline()
    lock = uuid.uuid4().hex
    now = clock.now()
    if not store.lock_source(org_id, source, lock, now, now - STALE_AFTER):
        raise PushInProgressError(f"{source} is being pushed already; try again in a moment")
    recorded = held = False
    try:
        earlier = store.pushes(org_id, source)
        if idempotency_key:
            for rec in earlier:
                if rec.key == idempotency_key:
                    return _already(api, rec)
        pushed = {e for rec in earlier for e in rec.entry_ids}
        entries = [
            e for e in work.time_entries(org_id, source) if e.billable and e.id not in pushed
        ]
        if not entries:
            if earlier:
                return _already(api, earlier[-1])
            raise NothingToPushError(f"{source} has no billable time to push")
        ids = tuple(sorted(e.id for e in entries))
        derived = push_key(org_id, source, kind, ids)
        key = idempotency_key or derived
        # The marker is always the derived key: a caller's key is only unique per source,
        # and the marker is searched across the whole InvoiceNinja company.
        found_by = marker(derived)
        client_id, created_client = ensure_client(
            org_id, customer, api=api, store=store, clock=clock, deadline=deadline
        )
        doc = api.find_document(kind, found_by, deadline)
        if doc is None:
            body = {
                "client_id": client_id,
                "po_number": po_number,
                "date": clock.now().date().isoformat(),
                "custom_value4": found_by,
                "line_items": line_items(entries, rate, label),
            }
            try:
                doc = api.create_document(kind, body, deadline)
            except RejectedError:
                raise  # refused outright: nothing was made
            except InvoiceNinjaError as exc:
                # No answer (or a failed one) to a create: InvoiceNinja may still be making
                # the document. Keep the lock until it goes stale, so the retry comes after
                # and finds the document by its marker instead of making a second one.
                held = True
                raise PushOutcomeUnknownError(
                    f"{exc.message}; InvoiceNinja may or may not have made the {kind}. "
                    f"Push {source} again in {int(STALE_AFTER.total_seconds() // 60)} "
                    "minutes: it will find it rather than make another"
                ) from None
        record = PushRecord(
            key=key,
            source=source,
            document_kind=kind,
            document_id=doc.id,
            document_number=doc.number,
            in_client_id=client_id,
            entry_ids=ids,
            pushed_at=clock.now(),
        )
        store.record_push(org_id, record, lock)
        recorded = True
        return PushResult(
            "created", record, api.config.edit_url(kind, doc.id), client_created=created_client
        )
    finally:
        if not (recorded or held):
            store.unlock_source(org_id, source, lock)


def _already(api: InvoiceNinjaApi, record: PushRecord) -> PushResult:
    return PushResult(
        "already_pushed", record, api.config.edit_url(record.document_kind, record.document_id)
    )
