"""The portal's records as the InvoiceNinja use cases read them (their PortalDirectory
and BillableWork ports), by key: GetItem and Query only."""

from __future__ import annotations

from collections.abc import Sequence

from pynamodb.exceptions import DoesNotExist

from psa_billing.dal import keys
from psa_billing.dal.models import CustomerItem, Item, ProjectItem, TicketItem, TimeEntryItem
from psa_billing.dal.serde import customer_from, entry_from, project_from, ticket_from
from psa_billing.domain.model import Customer, Project, Ticket, TimeEntry
from psa_billing.invoiceninja.ports import PortalCustomer, PortalProject, Source


class DynamoPortal:
    def customers(self, org_id: str) -> Sequence[PortalCustomer]:
        """One Query: the organisation's customer items."""
        return [
            PortalCustomer(id=i.customer_id, name=i.name)
            for i in CustomerItem.query(
                keys.org_pk(org_id), CustomerItem.sk.startswith(keys.CUSTOMER_PREFIX)
            )
            if isinstance(i, CustomerItem)
        ]

    def projects(self, org_id: str) -> Sequence[PortalProject]:
        """One Query on GSI2's per-organisation project partition (sorted by code)."""
        return [
            PortalProject(id=i.record_id, customer_id=i.customer_id, code=i.code, name=i.name)
            for i in Item.org_statements.query(keys.org_projects_pk(org_id))
            if isinstance(i, ProjectItem)
        ]

    def customer(self, org_id: str, customer_id: str) -> Customer | None:
        try:
            item = CustomerItem.get(keys.org_pk(org_id), keys.customer_sk(customer_id))
        except DoesNotExist:
            return None
        return customer_from(item) if isinstance(item, CustomerItem) else None

    def project(self, org_id: str, project_id: str) -> Project | None:
        item = self._record(ProjectItem, org_id, "PRJ", project_id)
        return project_from(item) if isinstance(item, ProjectItem) else None

    def ticket(self, org_id: str, ticket_id: str) -> Ticket | None:
        item = self._record(TicketItem, org_id, "TKT", ticket_id)
        return ticket_from(item) if isinstance(item, TicketItem) else None

    def time_entries(self, org_id: str, source: Source) -> Sequence[TimeEntry]:
        """The entries of one project or ticket, any date: its customer's entries (one
        Query on GSI1) filtered to it."""
        owner = (
            self.project(org_id, source.id)
            if source.kind == "project"
            else self.ticket(org_id, source.id)
        )
        if owner is None:
            return []
        out: list[TimeEntry] = []
        for item in Item.customer_view.query(
            keys.customer_view_pk(org_id, owner.customer_id),
            Item.gsi1sk.startswith(keys.ENTRY_PREFIX),
        ):
            if not isinstance(item, TimeEntryItem):
                continue
            if (source.kind == "project" and item.project_id == source.id) or (
                source.kind == "ticket" and item.ticket_id == source.id
            ):
                out.append(entry_from(item))
        return out

    @staticmethod
    def _record(model: type[Item], org_id: str, kind: str, record_id: str) -> Item | None:
        try:
            return model.get(keys.record_pk(org_id, kind, record_id), keys.RECORD_SK)
        except DoesNotExist:
            return None
