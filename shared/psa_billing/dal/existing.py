"""What the import needs to know about data already stored, read in batches by key."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence, Set
from typing import Any

from psa_billing.dal import keys
from psa_billing.dal.models import (
    ContractItem,
    CustomerItem,
    Item,
    ProjectItem,
    StatementItem,
    TicketItem,
    TimeEntryItem,
)
from psa_billing.dal.serde import contract_from, entry_from, statement_slot
from psa_billing.domain.model import Contract
from psa_billing.domain.statement import statement_id
from psa_billing.ingest.validate import ExistingEntry


def _batch_get(model: Any, key_list: Iterable[tuple[str, str]]) -> list[Any]:
    """BatchGetItem, 100 keys a request (pynamodb splits and retries unprocessed keys)."""
    key_list = list(key_list)
    return list(model.batch_get(key_list)) if key_list else []


class DynamoExisting:
    """``psa_billing.ingest.validate.ExistingData`` for one organisation."""

    def __init__(self, org_id: str) -> None:
        self.org_id = org_id

    def _customer_items(self, ids: Set[str]) -> list[CustomerItem]:
        found = _batch_get(
            CustomerItem, ((keys.org_pk(self.org_id), keys.customer_sk(i)) for i in ids)
        )
        return [i for i in found if isinstance(i, CustomerItem)]

    def customers(self, ids: Set[str]) -> Set[str]:
        return {i.customer_id for i in self._customer_items(ids)}

    def currencies(self, customer_ids: Set[str]) -> Mapping[str, str]:
        return {i.customer_id: i.currency for i in self._customer_items(customer_ids)}

    def _owners(self, model: Any, kind: str, ids: Set[str]) -> Mapping[str, str]:
        found = _batch_get(
            model, ((keys.record_pk(self.org_id, kind, i), keys.RECORD_SK) for i in ids)
        )
        return {i.record_id: i.customer_id for i in found if isinstance(i, model)}

    def tickets(self, ids: Set[str]) -> Mapping[str, str]:
        return self._owners(TicketItem, "TKT", ids)

    def projects(self, ids: Set[str]) -> Mapping[str, str]:
        return self._owners(ProjectItem, "PRJ", ids)

    def contracts_of(self, customer_ids: Set[str]) -> Sequence[Contract]:
        """One Query on GSI1 per customer whose contracts the document touches."""
        out: list[Contract] = []
        for customer_id in sorted(customer_ids):
            for item in Item.customer_view.query(
                keys.customer_view_pk(self.org_id, customer_id),
                Item.gsi1sk.startswith(keys.ref_prefix("CON")),
            ):
                if isinstance(item, ContractItem):
                    out.append(contract_from(item))
        return out

    def time_entries(self, ids: Set[str]) -> Mapping[str, ExistingEntry]:
        found = _batch_get(
            TimeEntryItem,
            ((keys.record_pk(self.org_id, "TE", i), keys.RECORD_SK) for i in ids),
        )
        return {
            i.record_id: ExistingEntry(entry=entry_from(i), customer_id=i.customer_id)
            for i in found
            if isinstance(i, TimeEntryItem)
        }

    def billed_periods(self, pairs: Set[tuple[str, str]]) -> Mapping[tuple[str, str], str]:
        """The (customer, period) pairs that have a statement that is not void, with its
        id: read from each period's slot, its version-1 item (docs/data-model.md "Billed
        once"). A void statement's entries are released: they are not billed."""
        by_id = {statement_id(self.org_id, c, p): (c, p) for c, p in pairs}
        found = _batch_get(
            StatementItem, ((keys.statement_pk(sid), keys.STATEMENT_SK) for sid in by_id)
        )
        billed: dict[tuple[str, str], str] = {}
        for i in found:
            if not isinstance(i, StatementItem) or i.statement_id not in by_id:
                continue
            version, void = statement_slot(i)
            if not void:
                customer, period = by_id[i.statement_id]
                billed[(customer, period)] = statement_id(self.org_id, customer, period, version)
        return billed
