"""Live list of InvoiceNinja invoices: wall time for 20, 200 and 1,000 invoices against
the local stand-in, over real HTTP on loopback.

    .venv/bin/python bench/bench_invoiceninja.py [--latency 0.1] [--passes 3]

Times the whole use case the API route calls (``list_documents``: invoices and quotes
read in parallel, every page, joined to the demo organisation's customers and projects,
KPIs per currency), median of ``--passes``. ``--latency`` adds that many seconds to every
request, a stand-in for a real server's per-request time (PHP bootstrap, the query, the
transformers), which is what makes the page size matter.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
from datetime import date

from pydantic import SecretStr

from psa_billing.domain.model import Period
from psa_billing.invoiceninja.client import InvoiceNinjaClient
from psa_billing.invoiceninja.listing import list_documents
from psa_billing.invoiceninja.settings import InvoiceNinjaSettings, load_config
from psa_billing_dev.demo import demo_document
from psa_billing_dev.invoiceninja_fakes import MemoryPortal, MemoryStore
from psa_billing_dev.invoiceninja_standin import start


def _time(client: InvoiceNinjaClient, portal: MemoryPortal, passes: int) -> tuple[float, int]:
    times = []
    rows = 0
    for _ in range(passes):
        t0 = time.perf_counter()
        listing = list_documents(
            "demo-msp",
            "invoice",
            api=client,
            directory=portal,
            store=MemoryStore(),
            today=date.today(),
        )
        times.append(time.perf_counter() - t0)
        rows = len(listing.rows)
    return statistics.median(times), rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--passes", type=int, default=3)
    ap.add_argument("--latency", type=float, default=0.0, help="seconds added to every request")
    ap.add_argument("--page-sizes", default="20,100,250,1000")
    args = ap.parse_args()
    page_sizes = [int(p) for p in args.page_sizes.split(",")]

    print(
        f"python {platform.python_version()} on {platform.machine()}, latency {args.latency:g} s/request"
    )
    print(
        f"{'invoices':>8}  "
        + "  ".join(f"{'page ' + str(p):>10}" for p in page_sizes)
        + "  requests@250"
    )
    for count in (20, 200, 1000):
        stand_in = start(seeded=False)
        try:
            state = stand_in.state
            doc = demo_document(25, 7, Period.before(state.today), org_id="demo-msp")
            for c in doc["customers"]:
                state.add_client(
                    c["name"], c["billing"]["currency"], id_number=f"demo-msp:{c['id']}"
                )
            state.add_invoices(count, seed=count)
            state.delay = args.latency
            portal = MemoryPortal(doc)
            cells = []
            for size in page_sizes:
                config = load_config(
                    InvoiceNinjaSettings(
                        url=stand_in.url,
                        token=SecretStr(stand_in.token),
                        page_size=size,
                        deadline_seconds=25,
                    )
                )
                assert config is not None
                client = InvoiceNinjaClient(config)
                client.list_documents("quote")  # warm the connection and the currency table
                client.currency_codes()
                state.requests.clear()
                seconds, rows = _time(client, portal, args.passes)
                assert rows == count, (rows, count)
                if size == 250:
                    invoice_requests = len(state.calls("GET", "invoices")) // args.passes
                cells.append(f"{seconds * 1000:8.0f}ms")
                client.close()
            print(
                f"{count:>8}  " + "  ".join(f"{c:>10}" for c in cells) + f"  {invoice_requests:>12}"
            )
        finally:
            stand_in.stop()


if __name__ == "__main__":
    main()
