"""Use case: import one organisation's billing document (upsert by id).

The whole document is checked against itself and the stored data before anything is
written; a refused document writes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from psa_billing.dal import keys
from psa_billing.dal.existing import DynamoExisting
from psa_billing.dal.models import (
    ContractItem,
    CustomerItem,
    DeviceItem,
    Item,
    OrgItem,
    ProjectItem,
    TicketItem,
    TimeEntryItem,
)
from psa_billing.dal.serde import dec
from psa_billing.ingest.validate import Problem, ValidatedImport, validate_document


@dataclass(frozen=True)
class ImportResult:
    org_id: str
    counts: dict[str, int]
    warnings: list[Problem] = field(default_factory=list)


def _org_id_of(raw: bytes | str) -> str:
    try:
        doc = json.loads(raw)
    except ValueError:
        return ""
    org = doc.get("orgId") if isinstance(doc, dict) else None
    return org if isinstance(org, str) else ""


def import_document(raw: bytes | str, repo: Any, *, dry_run: bool = False) -> ImportResult:
    """``repo`` is the DynamoDB repository (its ``write_items`` does the batch writes)."""
    org_id = _org_id_of(raw)
    validated = validate_document(raw, DynamoExisting(org_id))
    counts = {
        "customers": len(validated.customers),
        "devices": len(validated.devices),
        "tickets": len(validated.tickets),
        "projects": len(validated.projects),
        "contracts": len(validated.contracts),
        "time entries": len(validated.entries),
    }
    if not dry_run:
        repo.write_items(items_of(validated, repo.get_org(validated.org_id)))
    return ImportResult(validated.org_id, counts, list(validated.warnings))


def items_of(v: ValidatedImport, existing_org: Any) -> Iterator[Item]:
    org = v.org_id
    now = datetime.now(UTC).isoformat(timespec="seconds")
    yield OrgItem(
        pk=keys.ORGS_PK,
        sk=keys.org_sk(org),
        org_id=org,
        name=v.org_name or (existing_org.name if existing_org else org),
        address="\n".join(existing_org.address_lines) if existing_org else "",
        email=existing_org.email if existing_org else "",
        updated_at=now,
    )
    for c in v.customers:
        b = c.billing
        yield CustomerItem(
            pk=keys.org_pk(org),
            sk=keys.customer_sk(c.id),
            gsi1pk=keys.customer_view_pk(org, c.id),
            gsi1sk=keys.CUSTOMER_SK,
            org_id=org,
            customer_id=c.id,
            name=c.name,
            per_device_rate=dec(b.per_device_rate),
            default_hourly_rate=dec(b.default_hourly_rate),
            tax_percent=dec(b.tax_percent),
            currency=b.currency,
            auto_send=b.auto_send,
            billing_email=b.billing_email,
        )
    for d in v.devices:
        yield DeviceItem(
            pk=keys.record_pk(org, "DEV", d.id),
            sk=keys.RECORD_SK,
            gsi1pk=keys.customer_view_pk(org, d.customer_id),
            gsi1sk=keys.ref_sk("DEV", d.id),
            org_id=org,
            record_id=d.id,
            customer_id=d.customer_id,
            name=d.name,
            linked_on=d.linked_on.isoformat(),
            unlinked_on=d.unlinked_on.isoformat() if d.unlinked_on else None,
        )
    for t in v.tickets:
        yield TicketItem(
            pk=keys.record_pk(org, "TKT", t.id),
            sk=keys.RECORD_SK,
            gsi1pk=keys.customer_view_pk(org, t.customer_id),
            gsi1sk=keys.ref_sk("TKT", t.id),
            org_id=org,
            record_id=t.id,
            customer_id=t.customer_id,
            subject=t.subject,
            number=t.number,
        )
    for p in v.projects:
        yield ProjectItem(
            pk=keys.record_pk(org, "PRJ", p.id),
            sk=keys.RECORD_SK,
            gsi1pk=keys.customer_view_pk(org, p.customer_id),
            gsi1sk=keys.ref_sk("PRJ", p.id),
            org_id=org,
            record_id=p.id,
            customer_id=p.customer_id,
            code=p.code,
            name=p.name,
            billable=p.billable,
            hourly_rate=dec(p.hourly_rate),
        )
    for k in v.contracts:
        yield ContractItem(
            pk=keys.record_pk(org, "CON", k.id),
            sk=keys.RECORD_SK,
            gsi1pk=keys.customer_view_pk(org, k.customer_id),
            gsi1sk=keys.ref_sk("CON", k.id),
            org_id=org,
            record_id=k.id,
            customer_id=k.customer_id,
            name=k.name,
            included_hours=dec(k.included_hours),
            overage_hourly_rate=dec(k.overage_hourly_rate),
            start_date=k.start_date.isoformat(),
            end_date=k.end_date.isoformat() if k.end_date else None,
        )
    for e in v.entries:
        customer_id = v.entry_customers[e.id]
        yield TimeEntryItem(
            pk=keys.record_pk(org, "TE", e.id),
            sk=keys.RECORD_SK,
            gsi1pk=keys.customer_view_pk(org, customer_id),
            gsi1sk=keys.entry_sk(e.date, e.id),
            org_id=org,
            record_id=e.id,
            customer_id=customer_id,
            date=e.date.isoformat(),
            minutes=e.minutes,
            billable=e.billable,
            ticket_id=e.ticket_id,
            project_id=e.project_id,
            description=e.description,
            user_id=e.user_id,
        )
