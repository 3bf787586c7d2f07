"""A full monthly run on the local stack: wall time, and AWS requests per statement.

    .venv/bin/python bench/bench_local_run.py [--customers 200] [--heavy 20]

Starts the local stack (moto server, real handlers, the real state machine), imports
a demo organisation, runs last month through Step Functions and counts every AWS
request the Lambda handlers make, per service and operation, with botocore
``before-call`` hooks. The engine's own calls (invoking the functions, reading the
manifest) are the fan-out and are shown apart. A second organisation whose customers
each have hundreds of time entries shows that the count per statement does not grow
with the number of entries.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from collections import Counter, defaultdict
from typing import Any

from psa_billing_dev.local import counting

# The figures this bench printed before, for the 200-customer demo (docs/benchmarks.md).
PREVIOUS = (
    "previously (docs/benchmarks.md): 163.7 s on 2026-11-25; main at 7b0400b 53.9-64.1 s "
    "wall, 34.0-40.3 s CPU at load average 9-15 (perf branch in the same pairs: "
    "23.8-33.6 s wall, 18.2-18.5 s CPU)"
)

PER_CUSTOMER = {
    "functions.monthly_run.app.bill_customer",
    "functions.render_statement.app.handler",
    "functions.send_statement.app.handler",
}


def heavy_document(customers: int, entries_each: int, period: Any) -> dict[str, Any]:
    from psa_billing_dev.demo import demo_document

    doc = demo_document(customers, 99, period, org_id="bench-heavy")
    tickets: dict[str, list[str]] = defaultdict(list)
    for t in doc["tickets"]:
        tickets[t["customerId"]].append(t["id"])
    for customer, ids in tickets.items():
        for n in range(entries_each):
            doc["timeEntries"].append(
                {
                    "id": f"heavy-{customer}-{n:04d}",
                    "ticketId": ids[n % len(ids)],
                    "date": f"{period}-{1 + n % 28:02d}",
                    "minutes": 15 + n % 45,
                    "billable": True,
                    "description": "routine maintenance",
                }
            )
    return doc


def run_org(
    repo: Any, counter: counting.RequestCounter, doc: dict[str, Any], period: Any
) -> dict[str, Any]:
    from psa_billing import config, runtime
    from psa_billing.logic.events import RunRequest
    from psa_billing.logic.importing import import_document
    from psa_billing.runtime import utc_now
    from psa_billing_dev.cli.runner import start_run, wait_for_run

    t0 = time.perf_counter()
    import_document(json.dumps(doc).encode(), repo, clock=utc_now, leases=runtime.leases())
    t1 = time.perf_counter()
    counter.reset()
    cpu0 = time.process_time()
    arn = start_run(
        config.run().state_machine_arn, RunRequest(orgId=doc["orgId"], period=str(period))
    )
    result = wait_for_run(arn, repo, poll_seconds=1.0)
    t2 = time.perf_counter()
    cpu = time.process_time() - cpu0
    inside, outside = counter.snapshot()
    statements = repo.list_statements(doc["orgId"], str(period))
    return {
        "import_s": t1 - t0,
        "run_s": t2 - t1,
        "cpu_s": cpu,
        "summary": result.summary,
        "inside": inside,
        "outside": outside,
        "statements": statements,
        "entries": len(doc["timeEntries"]),
    }


def report(name: str, r: dict[str, Any]) -> None:
    statements = r["statements"]
    n = len(statements)
    auto = sum(1 for s in statements if s.auto_send)
    counts = r["summary"]["counts"]
    customers = r["summary"]["total"]
    print(f"\n== {name}: {customers} customers, {r['entries']} time entries")
    print(
        f"import {r['import_s']:.1f} s; run (start -> SUCCEEDED) {r['run_s']:.1f} s "
        f"= {customers / r['run_s']:.1f} customers/s; CPU {r['cpu_s']:.1f} s "
        f"(all threads of the one process: moto, the engine, the handlers)"
    )
    print(f"outcomes: {json.dumps(counts)}; statements {n} ({auto} emailed, {n - auto} for review)")
    per_service: Counter[str] = Counter()
    per_op: Counter[str] = Counter()
    run_level: Counter[str] = Counter()
    for (handler, service, op), k in r["inside"].items():
        if handler in PER_CUSTOMER:
            per_service[service] += k
            per_op[f"{handler.split('.')[1]}: {service}.{op}"] += k
        else:
            run_level[f"{handler.split('.')[-1]}: {service}.{op}"] += k
    total = sum(per_service.values())
    print(
        f"AWS requests by the per-customer functions: {total} = {total / max(n, 1):.2f} per statement"
    )
    for service, k in sorted(per_service.items()):
        print(f"  {service:12s} {k:6d}  ({k / max(n, 1):.2f} per statement)")
    for op, k in sorted(per_op.items()):
        print(f"    {op:55s} {k:6d}")
    print(
        "run-level (plan, close, failures): "
        + ", ".join(f"{o} {k}" for o, k in sorted(run_level.items()))
    )
    print(
        "fan-out by the engine: "
        + ", ".join(f"{s}.{o} {k}" for (s, o), k in sorted(r["outside"].items()))
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--customers", type=int, default=200)
    ap.add_argument("--heavy", type=int, default=20, help="customers with many entries")
    ap.add_argument("--entries-each", type=int, default=300)
    args = ap.parse_args()

    counter = counting.install()
    from psa_billing import runtime
    from psa_billing.domain.model import Period
    from psa_billing_dev.demo import demo_document
    from psa_billing_dev.local.stack import start_local_stack

    period = Period(2026, 10)
    print(
        f"machine: {platform.machine()}, {platform.python_implementation()} {platform.python_version()}"
    )
    stack = start_local_stack(port=0)
    print(f"local stack up in {stack.startup_seconds:.1f} s at {stack.endpoint}")
    try:
        repo = runtime.repository()
        normal = run_org(
            repo, counter, demo_document(args.customers, 42, period, org_id="bench"), period
        )
        report("demo organisation", normal)
        print(PREVIOUS)
        print(f"load average now: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
        heavy = run_org(
            repo, counter, heavy_document(args.heavy, args.entries_each, period), period
        )
        report(f"heavy organisation ({args.entries_each} extra entries per customer)", heavy)
    finally:
        stack.stop()


if __name__ == "__main__":
    main()
