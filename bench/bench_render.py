"""Statement PDF rendering: fpdf2 in process vs headless Chromium printing the same page.

    .venv/bin/python bench/bench_render.py [--runs 20] [--warmups 3] [--chromium-runs 5]

In process: median of --runs renders after --warmups, for a 1-page statement (8 lines)
and a 600-line one (12+ pages). Chromium: the same statement as an HTML page printed
with --print-to-pdf, median of --chromium-runs, each a fresh browser process, so the
process start IS included (that is what a render-per-request service pays). Targets:
1 page <= 25 ms; in-process <= 1/10 of Chromium at both sizes.
Chromium: `apt-get install -y chromium` (Debian); without it that column is skipped.
"""

from __future__ import annotations

import argparse
import html
import io
import os
import platform
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from pathlib import Path

from pypdf import PdfReader

from psa_billing.domain.model import Period
from psa_billing.domain.money import Currency
from psa_billing.render.pdf import render_statement_pdf
from psa_billing.render.view import LineView, OrgView, StatementView, quantity_label

TARGET_ONE_PAGE_MS = 25.0
TARGET_RATIO = 10.0
SUBJECTS = (
    "Printer offline in accounts",
    "Outlook keeps asking for the password",
    "New starter laptop setup — Müller",
    "VPN drops every 10 minutes on hotel Wi-Fi",
    "Backup job failed on FS01",
)


def make_view(n_lines: int) -> StatementView:
    cur = Currency.of("GBP")
    lines = [
        LineView(
            "dev",
            "devices",
            "Managed devices (RMM)",
            Decimal(42),
            Decimal("4.50"),
            Decimal("189.00"),
        )
    ]
    for i in range(n_lines - 1):
        q, rate = Decimal(15 + 15 * (i % 8)) / 60, Decimal("95.00")
        desc = f"Ticket #{1000 + i} — {SUBJECTS[i % len(SUBJECTS)]}"
        lines.append(LineView(f"t{i}", "ticket_time", desc, q, rate, cur.round(q * rate)))
    subtotal = sum((ln.amount for ln in lines), Decimal(0))
    tax = cur.round(subtotal * Decimal("0.2"))
    return StatementView(
        statement_id="st-bench",
        number="S-2026-10-0042",
        org=OrgView("Acme IT Ltd", ("1 High Street", "London EC1A 1AA"), "billing@acme.example"),
        customer_id="c-1",
        customer_name="Müller & Søn GmbH",
        billing_email="ap@muller.example",
        period=Period(2026, 10),
        issue_date=date(2026, 11, 1),
        currency="GBP",
        lines=tuple(lines),
        subtotal=subtotal,
        tax_percent=Decimal(20),
        tax=tax,
        total=subtotal + tax,
    )


def statement_html(view: StatementView) -> str:
    """The same statement as one HTML page (print CSS: A4, header row repeated)."""
    e = html.escape
    rows = "\n".join(
        f"<tr><td>{e(ln.description)}</td><td class=n>{quantity_label(ln)}</td>"
        f"<td class=n>{view.money(ln.unit_price)}</td><td class=n>{view.money(ln.amount)}</td></tr>"
        for ln in view.lines
    )
    address = "<br>".join(e(x) for x in view.org.address_lines)
    return f"""<!DOCTYPE html><html lang=en><head><meta charset=utf-8>
<title>Statement {e(view.number)}</title><style>
@page {{ size: A4; margin: 15mm 15mm 20mm; }}
body {{ font-family: 'DejaVu Sans', sans-serif; font-size: 8.5pt; }}
table {{ width: 100%; border-collapse: collapse; }} thead {{ display: table-header-group; }}
th {{ background: #e8ecf1; text-align: left; }} td, th {{ padding: 0.6mm 1.6mm; }}
tr {{ break-inside: avoid; border-bottom: 0.2mm solid #cdcdcd; }} .n {{ text-align: right; }}
h1 {{ text-align: right; margin: 0; }}</style></head><body>
<h1>Statement</h1><p><b>{e(view.org.name)}</b><br>{address}<br>{e(view.org.email)}</p>
<p>Number {e(view.number)}<br>Period {view.period_label}<br>Issue date {view.issue_date_label}
<br>Currency {view.currency}</p>
<p>Bill to<br><b>{e(view.customer_name)}</b><br>{e(view.billing_email)}</p>
<table><thead><tr><th>Description</th><th class=n>Qty</th><th class=n>Unit price</th>
<th class=n>Amount</th></tr></thead><tbody>
{rows}
</tbody></table>
<p class=n>Subtotal {view.money(view.subtotal)}<br>{view.tax_label} {view.money(view.tax)}<br>
<b>Total {view.currency} {view.money(view.total)}</b></p></body></html>"""


def median_ms(fn: Callable[[], object], runs: int, warmups: int) -> float:
    for _ in range(warmups):
        fn()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def chromium_binary() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def chromium_pdf_ms(
    binary: str, view: StatementView, runs: int, workdir: Path
) -> tuple[float, int]:
    page = workdir / f"statement-{len(view.lines)}.html"
    page.write_text(statement_html(view), encoding="utf-8")
    out = workdir / f"statement-{len(view.lines)}.pdf"
    times = []
    for i in range(runs + 1):  # one untimed run first: fills the OS page cache
        profile = workdir / f"profile-{len(view.lines)}-{i}"
        cmd = [
            binary,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={profile}",
            f"--print-to-pdf={out}",
            "--no-pdf-header-footer",
            page.as_uri(),
        ]
        out.unlink(missing_ok=True)
        start = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True, timeout=120)
        elapsed = (time.perf_counter() - start) * 1000
        if not out.exists():
            raise RuntimeError("chromium produced no PDF")
        if i:
            times.append(elapsed)
    pages = len(PdfReader(out).pages)
    return statistics.median(times), pages


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--warmups", type=int, default=3)
    ap.add_argument("--chromium-runs", type=int, default=5)
    args = ap.parse_args()

    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cpu, "
        f"{platform.python_implementation()} {platform.python_version()}; "
        f"load average {os.getloadavg()[0]:.2f} (other work on the machine skews timings)"
    )
    views = {"1 page": make_view(8), "600 lines": make_view(600)}

    start = time.perf_counter()
    render_statement_pdf(views["1 page"])
    first_ms = (time.perf_counter() - start) * 1000
    print(f"first render in this process (parses the fonts once): {first_ms:.1f} ms")

    binary = chromium_binary()
    if binary is None:
        print("Chromium: unavailable (apt-get install -y chromium); its column is skipped")
    else:
        version = subprocess.run(
            [binary, "--version"], check=False, capture_output=True, text=True
        ).stdout
        print(f"Chromium: {version.strip()} — timed per run including browser process start")

    results = []
    with tempfile.TemporaryDirectory(prefix="bench-render-") as tmp:
        for label, view in views.items():
            pdf = render_statement_pdf(view)
            pages = len(PdfReader(io.BytesIO(pdf)).pages)
            ms = median_ms(lambda v=view: render_statement_pdf(v), args.runs, args.warmups)
            chrome = (
                chromium_pdf_ms(binary, view, args.chromium_runs, Path(tmp)) if binary else None
            )
            results.append((label, pages, len(pdf), ms, chrome))

    print()
    print(
        f"{'statement':<10} {'pages':>5} {'bytes':>7} {'fpdf2 ms':>9}   {'chromium ms':>11} {'pages':>5}   ratio"
    )
    for label, pages, size, ms, chrome in results:
        if chrome:
            c_ms, c_pages = chrome
            print(
                f"{label:<10} {pages:>5} {size:>7} {ms:>9.1f}   {c_ms:>11.0f} {c_pages:>5}   {c_ms / ms:>5.0f}x"
            )
        else:
            print(f"{label:<10} {pages:>5} {size:>7} {ms:>9.1f}   {'n/a':>11} {'':>5}   n/a")
    print(
        f"(fpdf2: median of {args.runs} after {args.warmups} warm-ups, in process; "
        f"chromium: median of {args.chromium_runs}, process start included)"
    )

    print()
    one_page_ms = results[0][3]
    ok = one_page_ms <= TARGET_ONE_PAGE_MS
    print(
        f"target 1 page <= {TARGET_ONE_PAGE_MS:.0f} ms: {'holds' if ok else 'MISSED'} ({one_page_ms:.1f} ms)"
    )
    for label, _, _, ms, chrome in results:
        if chrome:
            held = ms * TARGET_RATIO <= chrome[0]
            print(
                f"target {label} <= 1/{TARGET_RATIO:.0f} of Chromium: "
                f"{'holds' if held else 'MISSED'} ({ms:.1f} ms vs {chrome[0]:.0f} ms)"
            )
        else:
            print(f"target {label} <= 1/{TARGET_RATIO:.0f} of Chromium: not measured (no Chromium)")


if __name__ == "__main__":
    main()
