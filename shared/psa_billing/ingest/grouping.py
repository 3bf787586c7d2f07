"""Group an accepted import by customer: the in-process equivalent of the two GSI1
Queries, for benchmarks, tests and dry runs."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from psa_billing.domain.model import CustomerPeriodData
from psa_billing.ingest.validate import ValidatedImport


def customer_data(v: ValidatedImport) -> dict[str, CustomerPeriodData]:
    parts: dict[str, dict[str, list[Any]]] = defaultdict(lambda: defaultdict(list))
    for d in v.devices:
        parts[d.customer_id]["devices"].append(d)
    for t in v.tickets:
        parts[t.customer_id]["tickets"].append(t)
    for p in v.projects:
        parts[p.customer_id]["projects"].append(p)
    for k in v.contracts:
        parts[k.customer_id]["contracts"].append(k)
    for e in v.entries:
        parts[v.entry_customers[e.id]]["entries"].append(e)
    return {
        c.id: CustomerPeriodData(
            customer=c,
            devices=tuple(parts[c.id]["devices"]),
            tickets=tuple(parts[c.id]["tickets"]),
            projects=tuple(parts[c.id]["projects"]),
            contracts=tuple(parts[c.id]["contracts"]),
            entries=tuple(parts[c.id]["entries"]),
        )
        for c in v.customers
    }
