"""Statement PDF rendering: fpdf2 in process vs headless Chromium printing the same page.

    .venv/bin/python bench/bench_render.py [--runs 20] [--warmups 3] [--chromium-runs 5]
    .venv/bin/python bench/bench_render.py --samples DIR [--png]   # make screenshots-pdf

In process: median of --runs renders after --warmups, for a 1-page statement (the full
sample: logo, addresses, contract time, payment details), a 1-page one with Japanese
text (JPY) and a 600-line one (12+ pages); plus what fontTools' own subsetter would cost
per font for the 1-page statement's glyphs (why render.fonts cuts its own subsets). Chromium: the same statement as an HTML page printed
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
from pathlib import Path

from fontTools import subset as ft_subset
from fontTools.ttLib import TTFont
from pypdf import PdfReader

from psa_billing.render import samples
from psa_billing.render.fonts import FONT_DIR
from psa_billing.render.pdf import render_statement_pdf
from psa_billing.render.view import StatementView, quantity_label

TARGET_ONE_PAGE_MS = 25.0
TARGET_RATIO = 10.0


def statement_html(view: StatementView) -> str:
    """The same statement as one HTML page (print CSS: A4, header row repeated)."""
    e = html.escape
    f = view.fmt
    rows = "\n".join(
        f"<tr><td>{e(ln.description)}</td><td class=n>{quantity_label(ln)}</td>"
        f"<td class=n>{f.money(ln.unit_price)}</td><td class=n>{f.money(ln.amount)}</td></tr>"
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
<p>Number {e(view.number)}<br>Period {view.period_label}<br>Issue date {f.date(view.issue_date)}
<br>Currency {view.currency}</p>
<p>Bill to<br><b>{e(view.customer_name)}</b><br>{e(view.billing_email)}</p>
<table><thead><tr><th>Description</th><th class=n>Qty</th><th class=n>Unit price</th>
<th class=n>Amount</th></tr></thead><tbody>
{rows}
</tbody></table>
<p class=n>Subtotal {f.money(view.subtotal)}<br>{view.tax_label} {f.money(view.tax)}<br>
<b>Total {view.currency} {f.money(view.total)}</b></p></body></html>"""


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


def fonttools_subset_ms(text: str, runs: int = 5) -> float:
    """fontTools' subsetter on DejaVu Sans for ``text``'s characters, options trimmed to
    what a PDF needs (no layout tables, no hinting, no glyph names), per document."""
    data = (FONT_DIR / "DejaVuSans.ttf").read_bytes()
    options = ft_subset.Options(
        notdef_outline=True, glyph_names=False, hinting=False, layout_features=[], name_IDs=[]
    )
    options.drop_tables += ["GSUB", "GPOS", "GDEF", "kern", "FFTM"]
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        font = TTFont(io.BytesIO(data), lazy=True, recalcTimestamp=False)
        subsetter = ft_subset.Subsetter(options)
        subsetter.populate(unicodes={ord(c) for c in text})
        subsetter.subset(font)
        font.save(io.BytesIO())
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def write_samples(out: Path, png: bool, dpi: int = 110, first_pages: int = 2) -> None:
    """Each sample kind as OUT/<kind>.pdf, and PNGs of its first pages (pdftoppm)."""
    out.mkdir(parents=True, exist_ok=True)
    pdftoppm = shutil.which("pdftoppm")
    if png and pdftoppm is None:
        raise SystemExit("pdftoppm not found: apt-get install -y poppler-utils")
    for kind, make in samples.KINDS.items():
        pdf_path = out / f"{kind}.pdf"
        pdf_path.write_bytes(render_statement_pdf(make()))
        print(f"{pdf_path} ({pdf_path.stat().st_size / 1024:.0f} KB)")
        if png and pdftoppm:
            cmd = [pdftoppm, "-png", "-r", str(dpi), "-l", str(first_pages), str(pdf_path)]
            subprocess.run([*cmd, str(out / kind)], check=True)
            pdf_path.unlink()  # the PNGs are what is kept


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--warmups", type=int, default=3)
    ap.add_argument("--chromium-runs", type=int, default=5)
    ap.add_argument("--samples", type=Path, help="write the sample PDFs here and stop")
    ap.add_argument("--png", action="store_true", help="with --samples: PNGs instead of PDFs")
    args = ap.parse_args()
    if args.samples:
        write_samples(args.samples, args.png)
        return

    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cpu, "
        f"{platform.python_implementation()} {platform.python_version()}; "
        f"load average {os.getloadavg()[0]:.2f} (other work on the machine skews timings)"
    )
    views = {
        "1 page": samples.one_page(),
        "1 page CJK": samples.jpy(),
        "600 lines": samples.many_lines(600),
    }

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
        f"{'statement':<12} {'pages':>5} {'bytes':>7} {'fpdf2 ms':>9}   {'chromium ms':>11} {'pages':>5}   ratio"
    )
    for label, pages, size, ms, chrome in results:
        if chrome:
            c_ms, c_pages = chrome
            print(
                f"{label:<12} {pages:>5} {size:>7} {ms:>9.1f}   {c_ms:>11.0f} {c_pages:>5}   {c_ms / ms:>5.0f}x"
            )
        else:
            print(f"{label:<12} {pages:>5} {size:>7} {ms:>9.1f}   {'n/a':>11} {'':>5}   n/a")
    print(
        f"(fpdf2: median of {args.runs} after {args.warmups} warm-ups, in process; "
        f"chromium: median of {args.chromium_runs}, process start included)"
    )

    one_page_text = " ".join(ln.description for ln in views["1 page"].lines)
    ft_ms = fonttools_subset_ms(one_page_text + views["1 page"].org.name + "0123456789.,")
    print(f"fontTools subsetter, DejaVu Sans, 1-page glyphs: {ft_ms:.1f} ms per font per document")
    cjk_size = results[1][2]
    print(f"1-page PDF with CJK text: {cjk_size / 1024:.0f} KB (target < 100 KB)")

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
