"""Rules engine throughput: statements per second for realistic customers, in process.

    .venv/bin/python bench/bench_rules.py [--customers 10000] [--seed 42]

Generates a demo organisation, validates it, groups it per customer (outside the
timing), then times compute_statement over every customer, best of 3 passes.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time

from psa_billing.domain.model import Period
from psa_billing.domain.rules import compute_statement
from psa_billing.ingest.grouping import customer_data
from psa_billing.ingest.validate import EmptyExisting, validate_document
from psa_billing_dev.demo import demo_document


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--customers", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--passes", type=int, default=3)
    args = ap.parse_args()
    period = Period(2026, 10)

    t0 = time.perf_counter()
    doc = demo_document(args.customers, args.seed, period, org_id="bench")
    t1 = time.perf_counter()
    validated = validate_document(json.dumps(doc), EmptyExisting())
    t2 = time.perf_counter()
    data = list(customer_data(validated).values())
    entries = sum(len(d.entries) for d in data)
    devices = sum(len(d.devices) for d in data)

    timings = []
    statements = 0
    for _ in range(args.passes):
        start = time.perf_counter()
        drafts = [compute_statement(d, period) for d in data]
        timings.append(time.perf_counter() - start)
        statements = sum(1 for d in drafts if d is not None)
    best = min(timings)
    lines = sum(len(d.lines) for d in drafts if d is not None)

    print(
        f"machine: {platform.machine()}, {platform.python_implementation()} "
        f"{platform.python_version()}, {platform.processor() or 'cpu'}"
    )
    print(f"customers: {len(data)}  time entries: {entries}  devices: {devices}")
    print(f"generate demo: {t1 - t0:.2f} s   validate import: {t2 - t1:.2f} s")
    print(f"statements: {statements} ({lines} lines), nothing to bill: {len(data) - statements}")
    print(
        f"compute_statement over all customers: best {best:.3f} s, "
        f"median {statistics.median(timings):.3f} s of {args.passes}"
    )
    print(f"=> {len(data) / best:,.0f} customers/s, {statements / best:,.0f} statements/s")


if __name__ == "__main__":
    main()
