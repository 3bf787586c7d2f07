"""What the bill Lambda itself spends reading a customer's time entries, without moto.

    .venv/bin/python bench/bench_entry_reads.py [--entries 20000] [--runs 3]

The entries Query's responses (DynamoDB JSON, as the service sends them) are built once
from real TimeEntryItems; then each is read as the bill step reads it: botocore parses
the response against the Query operation's shape, pynamodb builds the items, serde
builds the domain TimeEntry. CPU seconds (process time), best of --runs, for the full
items and for the projection the bill step asks for (dal/serde.ENTRY_ATTRIBUTES), and
scaled to 200,000 entries (it is linear). The local stack's bill-step times
(bench_big_customer.py) are moto's; this is the part a Lambda pays on AWS.
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import date, timedelta
from typing import Any

import botocore.session

from psa_billing.dal import keys, serde
from psa_billing.dal.models import TimeEntryItem
from psa_billing.domain.model import TimeEntry


def raw_entries(n: int) -> list[dict[str, Any]]:
    """Entries as the import stores them (the same attributes as dal/serde.import_items
    writes), serialised as DynamoDB returns them."""
    org, customer = "org-1", "cust-0001"
    rows = []
    for i in range(n):
        day = date(2026, 10, 1) + timedelta(days=i % 31)
        entry_id = f"te-{i:07d}"
        item = TimeEntryItem(
            pk=keys.record_pk(org, "TE", entry_id),
            sk=keys.RECORD_SK,
            gsi1pk=keys.customer_view_pk(org, customer),
            gsi1sk=keys.entry_sk(day, entry_id),
            org_id=org,
            record_id=entry_id,
            customer_id=customer,
            date=day.isoformat(),
            minutes=30 + i % 90,
            billable=True,
            ticket_id=f"t-{i % 10000:05d}",
            project_id=None,
            description="Replaced the failing switch in rack 2 and tested the uplinks",
            user_id="u-7",
        )
        rows.append(item.serialize())
    return rows


def read(parser: Any, shape: Any, body: bytes) -> tuple[float, list[TimeEntry]]:
    started = time.process_time()
    parsed = parser.parse({"body": body, "headers": {}, "status_code": 200}, shape)
    entries = [serde.entry_from(TimeEntryItem.from_raw_data(r)) for r in parsed["Items"]]
    return time.process_time() - started, entries


def main() -> None:
    parser_args = argparse.ArgumentParser()
    parser_args.add_argument("--entries", type=int, default=20_000)
    parser_args.add_argument("--runs", type=int, default=3)
    args = parser_args.parse_args()
    client = botocore.session.get_session().create_client(
        "dynamodb", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    shape = client.meta.service_model.operation_model("Query").output_shape
    full = raw_entries(args.entries)
    projected = [{k: v for k, v in r.items() if k in serde.ENTRY_ATTRIBUTES} for r in full]
    results = {}
    for name, rows in (("full items", full), ("projection", projected)):
        body = json.dumps({"Items": rows, "Count": len(rows)}).encode()
        best, entries = min(
            (read(client._response_parser, shape, body) for _ in range(args.runs)),
            key=lambda r: r[0],
        )
        results[name] = entries
        per_200k = best * 200_000 / args.entries
        print(
            f"{name:11s} {len(body) / 1e6:6.1f} MB  {best:6.2f} s CPU for {args.entries:,}"
            f"  ->  {per_200k:5.1f} s per 200,000 entries"
        )
    assert results["full items"] == results["projection"]


if __name__ == "__main__":
    main()
