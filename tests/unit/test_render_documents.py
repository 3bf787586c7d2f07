"""Every kind of statement document, rendered and read back (issue "Statements an MSP sends
unchanged"): each figure printed is the view's figure in the view's locale, no character is
drawn without a real glyph, the file is a valid PDF, and CJK documents stay small."""

from __future__ import annotations

import functools
import io
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from fontTools.ttLib import TTFont
from pypdf import PdfReader

from psa_billing.render import samples
from psa_billing.render.fonts import FONT_DIR, load_face, missing_glyphs
from psa_billing.render.pdf import render_statement_pdf
from psa_billing.render.view import StatementView, quantity_label
from psa_billing.render.wording import unit_price

KINDS = sorted(samples.KINDS)
EXPECTED_PAGES = {"twenty-pages": 20}
_BFCHAR = re.compile(r"<([0-9A-F]{4})> <([0-9A-F]+)>")


@functools.cache
def rendered(kind: str) -> tuple[StatementView, bytes]:
    view = samples.sample(kind)
    return view, render_statement_pdf(view)


def text_of(pdf: bytes) -> str:
    pages = PdfReader(io.BytesIO(pdf)).pages
    return " ".join(" ".join(p.extract_text().replace("\xa0", " ").split()) for p in pages)


def flat(text: str) -> str:
    return " ".join(text.replace("\xa0", " ").split())


@pytest.mark.parametrize("kind", KINDS)
def test_every_figure_of_the_view_is_printed(kind: str) -> None:
    view, pdf = rendered(kind)
    text = text_of(pdf)
    f = view.fmt
    for ln in view.lines:
        row = " ".join(
            x for x in (quantity_label(ln), unit_price(view, ln), f.money(ln.amount)) if x
        )
        assert flat(row) in text, f"line {ln.id}: {row!r} not printed"
        for item in ln.covered:
            assert flat(f"Covered: {item.ticket}") in text
    assert flat(f"Subtotal {f.money(view.subtotal)}") in text
    assert flat(f"{view.tax_label} {f.money(view.tax)}") in text
    assert flat(f"Total {view.currency} {f.money(view.total)}") in text
    due = "Void: amount due" if view.is_void else "Amount due"
    assert flat(f"{due} {f.money_with_code(view.amount_due)}") in text
    assert flat(f"Number {view.number}") in text
    assert flat(f"Issue date {f.date(view.issue_date)}") in text
    assert view.due_date is not None
    assert flat(f"Due date {f.date(view.due_date)}") in text
    for bit in (
        view.org.name,
        view.org.tax_number,
        view.customer_name,
        *view.customer_address_lines,
    ):
        assert flat(bit) in text


@pytest.mark.parametrize("kind", KINDS)
def test_page_count(kind: str) -> None:
    _, pdf = rendered(kind)
    pages = len(PdfReader(io.BytesIO(pdf)).pages)
    expected = EXPECTED_PAGES.get(kind, 2 if kind == "revised" else 1)
    assert pages == expected
    assert f"Page {pages} of {pages}" in text_of(pdf)


@pytest.mark.parametrize("kind", KINDS)
def test_no_character_is_drawn_without_a_glyph(kind: str) -> None:
    """Each embedded font's ToUnicode lists what it draws; the source font's cmap must have
    every one of those characters, and the subset must be a valid TrueType font."""
    view, pdf = rendered(kind)
    assert missing_glyphs(view) == frozenset()
    faces = {load_face(p.name).postscript_name: load_face(p.name) for p in FONT_DIR.glob("*.ttf")}
    reader = PdfReader(io.BytesIO(pdf))
    seen_fonts = 0
    for page in reader.pages:
        for ref in page["/Resources"]["/Font"].values():
            font = ref.get_object()
            face = faces[str(font["/BaseFont"]).split("+", 1)[1]]
            cmap = font["/ToUnicode"].get_object().get_data().decode("latin-1")
            blocks = re.findall(r"beginbfchar(.*?)endbfchar", cmap, flags=re.S)
            pairs = [p for block in blocks for p in _BFCHAR.findall(block)]
            chars = [bytes.fromhex(u).decode("utf-16-be") for _, u in pairs]
            assert chars, "a font with no characters"
            lacking = {c for c in chars if ord(c) not in face.cmap and not c.isspace()}
            assert lacking == set(), f"{face.filename} has no glyph for {lacking}"
            program = font["/DescendantFonts"][0].get_object()["/FontDescriptor"]["/FontFile2"]
            tt = TTFont(io.BytesIO(program.get_object().get_data()), checkChecksums=2)
            assert tt["maxp"].numGlyphs >= len(chars) + 1
            seen_fonts += 1
    assert seen_fonts >= 2


@pytest.mark.parametrize("kind", KINDS)
def test_the_file_is_a_valid_pdf(kind: str, tmp_path: Path) -> None:
    _, pdf = rendered(kind)
    qpdf = shutil.which("qpdf")
    if qpdf:
        path = tmp_path / f"{kind}.pdf"
        path.write_bytes(pdf)
        result = subprocess.run(
            [qpdf, "--check", str(path)], check=False, capture_output=True, text=True
        )
        assert result.returncode == 0, result.stdout + result.stderr
    else:
        reader = PdfReader(io.BytesIO(pdf), strict=True)
        for page in reader.pages:
            page.extract_text()


def test_a_one_page_pdf_with_cjk_text_is_under_100_kb() -> None:
    for kind in ("jpy", "cjk-names"):
        _, pdf = rendered(kind)
        assert len(pdf) < 100_000, f"{kind}: {len(pdf)} bytes"


def test_cjk_greek_cyrillic_and_latin_text_extracts_as_written() -> None:
    view, pdf = rendered("cjk-names")
    text = text_of(pdf)
    for ln in view.lines:
        assert flat(ln.description) in text
    assert "서울 테크 주식회사 / 北京科技有限公司" in text


def test_the_logo_is_embedded_only_when_given() -> None:
    def images(pdf: bytes) -> int:
        page = PdfReader(io.BytesIO(pdf)).pages[0]
        xobjects = page["/Resources"].get("/XObject", {})
        return sum(1 for x in xobjects.values() if x.get_object()["/Subtype"] == "/Image")

    assert images(rendered("one-page")[1]) == 1
    assert images(rendered("no-logo")[1]) == 0


def test_a_void_statement_is_stamped_and_owes_nothing() -> None:
    view, pdf = rendered("void")
    text = text_of(pdf)
    assert "VOID" in text
    assert "Void since 9 November 2026" in text
    assert "Void: amount due GBP 0.00" in text
    assert "How to pay" not in text
    assert f"Total GBP {view.fmt.money(view.total)}" in text  # the lines stay on record


def test_only_the_revised_kind_says_revised() -> None:
    for kind in KINDS:
        said = "Revised statement" in text_of(rendered(kind)[1])
        assert said == (kind == "revised"), kind


def test_locale_figures_jpy_and_bhd() -> None:
    jpy = text_of(rendered("jpy")[1])
    assert "JPY 194,810" in jpy and "2026年12月1日" in jpy
    assert re.search(r"\d\.\d", jpy.split("Pay online")[0]) is None  # no yen decimals
    bhd = text_of(rendered("bhd")[1])
    assert re.search(r"\d+\.\d{3} BHD", bhd)
    assert "Due date 1/12/2026" in bhd  # numeric: Arabic month names are not drawn
