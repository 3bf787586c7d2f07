"""DynamoDB adapter of the InvoiceNinja sync's own state (pynamodb).

Client mappings and push records only: InvoiceNinja's invoices are never copied here.
Reads are GetItem or Query; every deciding write is conditional (docs/invoiceninja.md
"What is stored").

| item | pk | sk |
|---|---|---|
| customer -> InvoiceNinja client | ``ORG#<org>#IN`` | ``INCLIENT#<customer>`` |
| push lock of a project/ticket | ``ORG#<org>#IN#<project|ticket>#<id>`` | ``#LOCK`` |
| push record | ``ORG#<org>#IN#<project|ticket>#<id>`` | ``PUSH#<key>`` |
"""

from __future__ import annotations

from datetime import datetime

from pynamodb.exceptions import DeleteError, DoesNotExist, PutError, TransactWriteError, UpdateError
from pynamodb.transactions import TransactWrite

from psa_billing.dal import keys
from psa_billing.dal.models import (
    InvoiceNinjaClientItem,
    InvoiceNinjaLockItem,
    InvoiceNinjaPushItem,
    Item,
    bind,
)

# The repository's own test for a lost conditional write (one definition of it).
from psa_billing.dal.repository import _is_condition_failure
from psa_billing.dal.serde import (
    client_mapping_from,
    invoiceninja_client_claim,
    invoiceninja_client_handle,
    invoiceninja_lock,
    invoiceninja_lock_handle,
    invoiceninja_stamp,
    push_from,
    push_item,
)
from psa_billing.invoiceninja.errors import PushInProgressError
from psa_billing.invoiceninja.ports import ClientMapping, PushRecord, Source


class DynamoInvoiceNinjaStore:
    """Implements ``psa_billing.invoiceninja.ports.InvoiceNinjaStore``."""

    def __init__(self, table_name: str, region: str) -> None:
        bind(table_name, region)
        self._region = region

    # -- client mappings ----------------------------------------------------------------

    def client_mapping(self, org_id: str, customer_id: str) -> ClientMapping | None:
        try:
            item = InvoiceNinjaClientItem.get(
                keys.invoiceninja_clients_pk(org_id),
                keys.invoiceninja_client_sk(customer_id),
                consistent_read=True,
            )
        except DoesNotExist:
            return None
        return client_mapping_from(item)

    def client_mappings(self, org_id: str) -> dict[str, str]:
        found: dict[str, str] = {}
        for item in InvoiceNinjaClientItem.query(
            keys.invoiceninja_clients_pk(org_id),
            InvoiceNinjaClientItem.sk.startswith(keys.IN_CLIENT_PREFIX),
        ):
            if isinstance(item, InvoiceNinjaClientItem) and item.in_client_id:
                found[item.in_client_id] = item.customer_id
        return found

    def claim_client(
        self, org_id: str, customer_id: str, claim_id: str, now: datetime, stale_before: datetime
    ) -> bool:
        item = invoiceninja_client_claim(org_id, customer_id, claim_id, now)
        try:
            item.save(
                condition=Item.pk.does_not_exist()
                | (
                    InvoiceNinjaClientItem.in_client_id.does_not_exist()
                    & (InvoiceNinjaClientItem.claimed_at < invoiceninja_stamp(stale_before))
                )
            )
        except PutError as exc:
            if _is_condition_failure(exc):
                return False
            raise
        return True

    def complete_client(
        self, org_id: str, customer_id: str, claim_id: str, in_client_id: str
    ) -> None:
        item = invoiceninja_client_handle(org_id, customer_id)
        try:
            item.update(
                actions=[
                    InvoiceNinjaClientItem.in_client_id.set(in_client_id),
                    InvoiceNinjaClientItem.claim_id.remove(),
                ],
                condition=InvoiceNinjaClientItem.claim_id == claim_id,
            )
        except UpdateError as exc:
            if _is_condition_failure(exc):
                raise PushInProgressError(
                    f"the claim on {customer_id}'s InvoiceNinja client was taken over"
                ) from None
            raise

    def release_client(self, org_id: str, customer_id: str, claim_id: str) -> None:
        item = invoiceninja_client_handle(org_id, customer_id)
        try:
            item.delete(
                condition=(InvoiceNinjaClientItem.claim_id == claim_id)
                & InvoiceNinjaClientItem.in_client_id.does_not_exist()
            )
        except DeleteError as exc:
            if not _is_condition_failure(exc):
                raise

    # -- pushes -------------------------------------------------------------------------

    def pushes(self, org_id: str, source: Source) -> list[PushRecord]:
        records = []
        for item in InvoiceNinjaPushItem.query(
            keys.invoiceninja_source_pk(org_id, source.kind, source.id),
            InvoiceNinjaPushItem.sk.startswith(keys.IN_PUSH_PREFIX),
            consistent_read=True,
        ):
            if isinstance(item, InvoiceNinjaPushItem):
                records.append(push_from(item))
        records.sort(key=lambda r: r.pushed_at)
        return records

    def lock_source(
        self, org_id: str, source: Source, claim_id: str, now: datetime, stale_before: datetime
    ) -> bool:
        item = invoiceninja_lock(org_id, source, claim_id, now)
        try:
            item.save(
                condition=Item.pk.does_not_exist()
                | (InvoiceNinjaLockItem.claimed_at < invoiceninja_stamp(stale_before))
            )
        except PutError as exc:
            if _is_condition_failure(exc):
                return False
            raise
        return True

    def record_push(self, org_id: str, record: PushRecord, claim_id: str) -> None:
        """One TransactWriteItems: the record, and the lock released while still held."""
        item = push_item(org_id, record)
        lock = invoiceninja_lock_handle(org_id, record.source)
        try:
            with TransactWrite(connection=Item._get_connection().connection) as tx:
                tx.save(item, condition=Item.pk.does_not_exist())
                tx.delete(lock, condition=InvoiceNinjaLockItem.claim_id == claim_id)
        except TransactWriteError as exc:
            if _is_condition_failure(exc):
                raise PushInProgressError(
                    f"the push of {record.source} was taken over by another push"
                ) from None
            raise

    def unlock_source(self, org_id: str, source: Source, claim_id: str) -> None:
        lock = invoiceninja_lock_handle(org_id, source)
        try:
            lock.delete(condition=InvoiceNinjaLockItem.claim_id == claim_id)
        except DeleteError as exc:
            if not _is_condition_failure(exc):
                raise
