"""One customer of any size through the real local stack: import, bill, render, send,
show, list, the API's view, adjust and the PDF of the new revision.

    .venv/bin/python bench/bench_big_customer.py [--tickets 10000] [--entries 200000]

The customer has ``--tickets`` tickets, each with billable time (one statement line
each), and ``--entries`` time entries spread over them. The run goes through the
state machine on moto with the real handlers; each handler's wall time and the size
of what it hands Step Functions are measured around its invocation. Memory is the
process's peak RSS after each phase (it includes moto's in-memory table, so it is an
upper bound of what a Lambda needs). Item and object sizes are read back from
DynamoDB and S3; the PDF's pages with pypdf.
"""

from __future__ import annotations

import argparse
import io
import json
import platform
import resource
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from psa_billing_dev.local import counting

PERIOD_TEXT = "2026-10"
HANDLERS = {
    "functions.monthly_run.app.plan_run": "plan",
    "functions.monthly_run.app.bill_customer": "bill",
    "functions.render_statement.app.handler": "render",
    "functions.send_statement.app.handler": "send",
    "functions.monthly_run.app.close_run": "close",
}
# The limits each figure is measured against.
LAMBDA_RESPONSE_LIMIT = 6 * 1024 * 1024
STATE_PAYLOAD_LIMIT = 256 * 1024
DYNAMODB_ITEM_LIMIT = 400 * 1024
SES_MESSAGE_LIMIT = 40 * 1024 * 1024


def big_document(org_id: str, tickets: int, entries: int) -> dict[str, Any]:
    """One auto-send customer: ``tickets`` tickets with billable time, ``entries``
    time entries over them, across the month."""
    return {
        "orgId": org_id,
        "orgName": "Big Month MSP",
        "customers": [
            {
                "id": "big",
                "name": "Big Customer plc",
                "billing": {
                    "perDeviceRate": "5.00",
                    "defaultHourlyRate": "90.00",
                    "taxPercent": "20",
                    "currency": "GBP",
                    "autoSend": True,
                    "billingEmail": "ap@big.example",
                },
            }
        ],
        "devices": [
            {"id": f"d{n:03d}", "customerId": "big", "linkedOn": "2026-01-01"} for n in range(50)
        ],
        "tickets": [
            {"id": f"t{n:05d}", "customerId": "big", "subject": f"Ticket {n}: printer offline"}
            for n in range(tickets)
        ],
        "timeEntries": [
            {
                "id": f"e{n:06d}",
                "ticketId": f"t{n % tickets:05d}",
                "date": f"{PERIOD_TEXT}-{1 + n % 28:02d}",
                "minutes": 5 + n % 40,
                "billable": True,
                "description": "remote session",
                "userId": f"tech{n % 7}",
            }
            for n in range(entries)
        ],
    }


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


class Timings:
    def __init__(self) -> None:
        self.rows: list[tuple[str, float, float, str]] = []

    @contextmanager
    def phase(self, name: str, note: Callable[[], str] = lambda: "") -> Iterator[None]:
        started = time.perf_counter()
        yield
        self.rows.append((name, time.perf_counter() - started, rss_mb(), note()))

    def print(self) -> None:
        print(f"\n{'step':44s} {'seconds':>9s} {'peak RSS MB':>12s}  notes")
        for name, seconds, rss, note in self.rows:
            print(f"{name:44s} {seconds:9.2f} {rss:12.0f}  {note}")


def item_size(item: dict[str, Any]) -> int:
    """DynamoDB's item size: attribute names plus values (UTF-8 / raw bytes)."""
    total = 0
    for name, value in item.items():
        total += len(name.encode())
        ((kind, raw),) = value.items()
        if kind == "B":
            total += len(raw)
        elif kind in {"S", "N"}:
            total += len(str(raw).encode())
        else:
            total += len(json.dumps(raw).encode())
    return total


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tickets", type=int, default=10_000)
    ap.add_argument("--entries", type=int, default=200_000)
    args = ap.parse_args()

    counting.install()
    import boto3
    from pypdf import PdfReader

    from psa_billing import config, runtime
    from psa_billing.dal import keys
    from psa_billing.domain.model import Period
    from psa_billing.logic import billing_api
    from psa_billing.logic.importing import import_document
    from psa_billing.logic.statements import Credit, adjust, pdf_bytes
    from psa_billing_dev.cli.localdemo import sent_messages
    from psa_billing_dev.cli.runner import start_run, wait_for_run
    from psa_billing_dev.local import hook
    from psa_billing_dev.local.stack import start_local_stack

    print(
        f"machine: {platform.machine()}, {platform.python_implementation()} "
        f"{platform.python_version()}; {args.tickets:,} tickets, {args.entries:,} entries"
    )
    period = Period.parse(PERIOD_TEXT)
    org_id = "bench-big"
    t = Timings()
    steps: dict[str, list[tuple[float, int]]] = defaultdict(list)
    original_run = hook.run_handler

    def run_handler(dotted_path: str, event: Any, context: Any) -> Any:
        started = time.perf_counter()
        body, error = original_run(dotted_path, event, context)
        name = HANDLERS.get(dotted_path, dotted_path.rsplit(".", 1)[-1])
        steps[name].append((time.perf_counter() - started, len(body)))
        if error:
            print(f"  {name} failed: {body[:500]!r}")
        return body, error

    hook.run_handler = run_handler
    stack = start_local_stack(port=0)
    try:
        repo = runtime.repository()
        with t.phase("build the document"):
            raw = json.dumps(big_document(org_id, args.tickets, args.entries)).encode()
        result: Any = None
        with t.phase(
            "import (validate + BatchWriteItem)",
            lambda: f"{len(raw) / 1e6:.1f} MB JSON, {json.dumps(result.counts)}",
        ):
            result = import_document(raw, repo, clock=runtime.utc_now, leases=runtime.leases())

        run: Any = None
        mails_before = len(sent_messages())
        with t.phase("run: start -> SUCCEEDED", lambda: json.dumps(run.summary["counts"])):
            arn = start_run(config.run().state_machine_arn, _request(org_id))
            run = wait_for_run(arn, repo, poll_seconds=0.5)
        for name, calls in steps.items():
            for seconds, size in calls:
                limit = STATE_PAYLOAD_LIMIT if name != "close" else LAMBDA_RESPONSE_LIMIT
                t.rows.append(
                    (
                        f"  {name} (Lambda handler)",
                        seconds,
                        rss_mb(),
                        f"returns {size:,} B ({size / limit:.1%} of the state payload limit)",
                    )
                )

        st_id = f"{org_id}:big:{period}"
        st: Any = None
        with t.phase("show (get_statement with inputs)", lambda: f"{len(st.lines):,} lines"):
            st = repo.get_statement(st_id, with_inputs=True)
        listed: Any = None
        with t.phase("list (the organisation's period)", lambda: f"{len(listed)} statement"):
            listed = repo.list_statements(org_id, str(period))
        view: Any = None
        with t.phase(
            "API statement view (JSON)",
            lambda: f"{len(view):,} B = {len(view) / LAMBDA_RESPONSE_LIMIT:.0%} of Lambda's 6 MB",
        ):
            view = json.dumps(billing_api.statement_view(repo.get_statement(st_id))).encode()
        with t.phase("adjust (a credit, validated whole)"):
            adjust(
                repo,
                st_id,
                Credit("10.00", "Goodwill"),
                actor="bench",
                reason="bench",
                clock=runtime.utc_now,
            )
        pdf1: Any = None
        with t.phase("PDF of revision 1 (the CLI's pdf)", lambda: f"{len(pdf1):,} B"):
            pdf1 = pdf_bytes(repo, runtime.object_store(), runtime.org_cache(), st_id)
        t.print()

        ddb = boto3.client("dynamodb")
        s3 = boto3.client("s3")
        item = ddb.get_item(
            TableName=config.storage().data_table,
            Key={"pk": {"S": keys.statement_pk(st_id)}, "sk": {"S": keys.STATEMENT_SK}},
        )["Item"]
        bucket = config.bucket().statements_bucket
        body_key = item.get("body_key", {}).get("S")
        body = s3.head_object(Bucket=bucket, Key=body_key)["ContentLength"] if body_key else 0
        pdf = s3.get_object(Bucket=bucket, Key=f"statements/{org_id}/{period}/big-r0.pdf")
        pdf_data = pdf["Body"].read()
        pages = len(PdfReader(io.BytesIO(pdf_data)).pages)
        mail = [m for m in sent_messages()[mails_before:] if getattr(m, "raw_data", None)]
        print("\nsizes")
        print(
            f"  statement item          {item_size(item):>12,} B "
            f"({item_size(item) / DYNAMODB_ITEM_LIMIT:.1%} of DynamoDB's 400 KB)"
        )
        print(f"  body in S3 (gzip JSON)  {body:>12,} B  ({body_key})")
        print(f"  PDF revision 0          {len(pdf_data):>12,} B, {pages:,} pages")
        for m in mail:
            size = len(m.raw_data.encode())
            print(
                f"  email (raw MIME)        {size:>12,} B ({size / SES_MESSAGE_LIMIT:.1%} of SES's 40 MB)"
            )
        print(
            f"  statement: {len(st.lines):,} lines, {len(st.inputs.entries):,} entries, "
            f"total {st.currency} {st.total}, status {st.status}, number {st.number}"
        )
        print(f"peak RSS of the process {rss_mb():.0f} MB")
    finally:
        hook.run_handler = original_run
        stack.stop()


def _request(org_id: str) -> Any:
    from psa_billing.logic.events import RunRequest

    return RunRequest(orgId=org_id, period=PERIOD_TEXT)


if __name__ == "__main__":
    main()
