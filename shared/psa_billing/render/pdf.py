"""A statement as PDF bytes (fpdf2, A4, DejaVu Sans embedded). Pure: no clock, no I/O.

Speed (bench/bench_render.py): fpdf2's stock path costs ~75 ms per font to parse the TTF
(``add_font``) and ~20-30 ms per font to subset it with fontTools at ``output()``, for
every document; its table API costs ~2 ms per row. So, measured and replaced:

* the fonts are parsed once per process and each document gets a cheap clone of the
  parsed font (fresh per-document subset state, shared read-only metrics);
* at output, a small TrueType subsetter of our own builds the embedded font program:
  it keeps the glyph ids and empties the unused glyphs (plus composite components),
  which is a byte-slicing job, instead of fontTools' general subsetter;
* the line table is laid out here (word wrap from the font's advance widths, text
  placed with ``FPDF.text``), with its header repeated on every page it spans.

Characters the font lacks (e.g. CJK in DejaVu Sans) are drawn as the font's .notdef box
and keep their real Unicode value in the ToUnicode map, so text extraction still works.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import struct
import sys
from array import array
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from itertools import accumulate
from pathlib import Path
from typing import Any

from fpdf import FPDF
from fpdf.fonts import Glyph, PDFFontDescriptor, SubsetMap, TTFFont
from fpdf.output import (
    CIDSystemInfo,
    OutputProducer,
    PDFExtGState,
    PDFFont,
    PDFFontStream,
    PDFType3Font,
    _build_cmap_blocks,
    _tt_font_widths,
)
from fpdf.pattern import Pattern
from fpdf.syntax import Name, PDFArray, PDFContentStream
from fpdf.util import escape_parens

from psa_billing.render.view import (
    AdjustmentView,
    LineView,
    StatementView,
    quantity_label,
    unit_price_label,
)

__all__ = ["render_statement_pdf"]

LOGGER = logging.getLogger(__name__)

FONT_DIR = Path(__file__).parent / "fonts"
_FAMILY = "dejavu"
_FONT_FILES = {"": "DejaVuSans.ttf", "B": "DejaVuSans-Bold.ttf"}

# --- page geometry (mm) -------------------------------------------------------------
_PAGE_W, _PAGE_H = 210.0, 297.0
_LEFT, _RIGHT, _TOP = 15.0, 195.0, 15.0
_BOTTOM = 277.0  # content stops here; the footer sits below
_COLS = (102.0, 22.0, 28.0, 28.0)  # Description | Qty | Unit price | Amount
_PAD = 1.6  # horizontal cell padding
_ROW_PAD = 0.6  # vertical cell padding
_LINE_H = 3.8  # one line of body text
_BASELINE = 2.8  # from the top of a line to its baseline
_BODY_PT = 8.5
_HEAD_TEXT = ("Description", "Qty", "Unit price", "Amount")
_GREY = (95, 95, 95)
_RULE = (205, 205, 205)
_HEAD_FILL = (232, 236, 241)
_ACCENT = (178, 34, 34)
_BLACK = (0, 0, 0)
_PT = 25.4 / 72  # mm per point
_TABLE_TOP = _TOP + 8  # first free y on a continuation page, before the table header
_ROOM_ON_NEW_PAGE = int((_BOTTOM - _TABLE_TOP - 2 * _LINE_H - 4 * _ROW_PAD) // _LINE_H)


def render_statement_pdf(view: StatementView) -> bytes:
    """Render one statement (its current revision) to PDF bytes.

    Deterministic: the same view gives the same bytes (creation date from issue_date).
    """
    try:
        pdf = _StatementPDF(view)
        pdf.draw()
        return bytes(pdf.output(output_producer_class=_SubsettingOutputProducer))
    finally:
        # fpdf2 memoises glyph look-ups in a cache shared by every document; clear it
        # so that a long-lived (warm Lambda) process does not keep every document alive.
        SubsetMap.pick.cache_clear()
        SubsetMap.get_glyph.cache_clear()


# --- layout ---------------------------------------------------------------------------


def _clean(text: str) -> str:
    """One printable line: control characters (CR, LF, TAB, NUL...) become spaces."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else " " for ch in text)


class _StatementPDF(FPDF):
    def __init__(self, view: StatementView) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.statement = view
        self.set_margins(_LEFT, _TOP, _PAGE_W - _RIGHT)
        self.set_auto_page_break(auto=False)
        self.set_compression(True)
        self.alias_nb_pages()
        self.set_creation_date(
            datetime(view.issue_date.year, view.issue_date.month, view.issue_date.day, tzinfo=UTC)
        )
        self.set_title(_clean(f"Statement {view.number} — {view.period_label}"))
        self.set_author(_clean(view.org.name))
        self.set_subject(_clean(f"{view.customer_name}, {view.period_label}"))
        self.set_creator("psa-billing")
        self.set_lang("en")
        self.font_faces = _faces()
        for index, face in enumerate(self.font_faces.values(), start=1):
            self.fonts[face.proto.fontkey] = face.new_document_font(index)
        self._in_table = False

    # Page furniture --------------------------------------------------------------
    def footer(self) -> None:
        self._use("", 8.0, _GREY)
        self.set_xy(_LEFT, _PAGE_H - 14)
        # "{nb}" is fpdf2's total-pages alias, substituted at output.
        self.cell(_RIGHT - _LEFT, 5, f"Page {self.page_no()} of {{nb}}", align="C")
        self.set_text_color(*_BLACK)

    def _continuation_page(self) -> float:
        """A new page with a running header; returns the first free y."""
        self.add_page()
        v = self.statement
        self._use("", 8.0, _GREY)
        left = f"{v.org.name} — Statement {v.number} — {v.period_label}"
        self.text(_LEFT, _TOP + 3, self._fit(left, 115))
        self._text_right(_RIGHT, _TOP + 3, self._fit(v.customer_name, 60))
        self.set_text_color(*_BLACK)
        y = _TABLE_TOP
        if self._in_table:
            y = self._table_header(y)
        return y

    # Fonts and text ---------------------------------------------------------------
    def _use(self, style: str, size: float, color: tuple[int, int, int] = _BLACK) -> None:
        if self.font_style != style or self.font_size_pt != size or self.font_family != _FAMILY:
            self.set_font(_FAMILY, style, size)
        self.set_text_color(*color)

    def _width(self, text: str, style: str | None = None, size: float | None = None) -> float:
        face = self.font_faces[self.font_style if style is None else style]
        return face.width(text, self.font_size_pt if size is None else size)

    def _text_runs(self, runs: Sequence[tuple[float, float, str]]) -> None:
        """Several ``FPDF.text`` calls in one text object (same font and colour).

        The line table is thousands of short strings; one BT..ET per row instead of one
        per string halves the drawing time of a long statement.
        """
        font = self.current_font
        assert isinstance(font, TTFFont)
        if not self.current_font_is_set_on_page:
            self._out(self._set_font_for_page(font, self.font_size_pt))
        k, page_h = self.k, self.h
        ops = " ".join(
            [
                f"1 0 0 1 {x * k:.2f} {(page_h - y) * k:.2f} Tm {font.encode_text(t)}"
                for x, y, t in runs
            ]
        )
        if self.fill_color != self.text_color:
            assert self.text_color is not None
            self._out(f"q {self.text_color.serialize().lower()} BT {ops} ET Q")
        else:
            self._out(f"BT {ops} ET")

    def _fit(self, text: str, width: float) -> str:
        """``text`` on one line, cut with an ellipsis if wider than ``width`` mm."""
        text = _clean(text)
        if self._width(text) <= width:
            return text
        while text and self._width(text + "…") > width:
            text = text[:-1]
        return text.rstrip() + "…"

    def _text_right(self, right: float, baseline: float, text: str) -> None:
        self.text(right - self._width(text), baseline, text)

    def _wrap(self, text: str, width: float, style: str = "", size: float = _BODY_PT) -> list[str]:
        """Greedy word wrap on the font's advance widths; over-long words are cut."""
        face = self.font_faces[style]
        space = face.width(" ", size)
        lines: list[str] = []
        current: list[str] = []
        used = 0.0
        for token in _clean(text).split():
            word, w = token, face.width(token, size)
            if w > width:  # a word wider than the column: cut it into pieces
                if current:
                    lines.append(" ".join(current))
                    current, used = [], 0.0
                pieces = face.cut(token, width, size)
                lines.extend(pieces[:-1])
                word = pieces[-1]
                w = face.width(word, size)
            if current and used + space + w > width:
                lines.append(" ".join(current))
                current, used = [], 0.0
            used = w if not current else used + space + w
            current.append(word)
        if current or not lines:
            lines.append(" ".join(current))
        return lines

    def _paragraph(self, y: float, text: str, width: float, style: str = "") -> float:
        for line in self._wrap(text, width, style):
            if y + _LINE_H > _BOTTOM:
                y = self._continuation_page()
                self._use(style, _BODY_PT)
            self.text(_LEFT, y + _BASELINE, line)
            y += _LINE_H
        return y

    # The document -----------------------------------------------------------------
    def draw(self) -> None:
        self.add_page()
        y = self._masthead()
        y = self._lines(y)
        y = self._totals(y)
        if self.statement.is_adjusted or self.statement.adjustments:
            self._adjustments(y)

    def _masthead(self) -> float:
        v = self.statement
        # Left: the MSP issuing the statement.
        self._use("B", 13.0)
        y = _TOP + 5
        for line in self._wrap(v.org.name, 105, "B", 13.0):
            self.text(_LEFT, y, line)
            y += 5.5
        self._use("", _BODY_PT, _GREY)
        for line in (*v.org.address_lines, v.org.email):
            if line.strip():
                for part in self._wrap(line, 105):
                    self.text(_LEFT, y, part)
                    y += _LINE_H
        left_end = y

        # Right: title and the statement's identity.
        self._use("B", 20.0)
        self._text_right(_RIGHT, _TOP + 6, "Statement")
        y = _TOP + 13
        rows = (
            ("Number", v.number),
            ("Period", v.period_label),
            ("Issue date", v.issue_date_label),
            ("Currency", v.currency),
        )
        for label, value in rows:
            self._use("", _BODY_PT, _GREY)
            self.text(_RIGHT - 62, y, label)
            self._use("B", _BODY_PT)
            self._text_right(_RIGHT, y, _clean(value))
            y += _LINE_H + 0.6
        if v.is_adjusted:
            self._use("B", 10.0, _ACCENT)
            self._text_right(_RIGHT, y + 1, v.revision_label)
            y += 6
        y = max(left_end, y) + 6

        # Bill to.
        self._use("B", 8.0, _GREY)
        self.text(_LEFT, y, "Bill to")
        y += 5
        self._use("B", 11.0)
        for line in self._wrap(v.customer_name, 120, "B", 11.0):
            self.text(_LEFT, y, line)
            y += 5
        self._use("", _BODY_PT)
        if v.billing_email:
            self.text(_LEFT, y, _clean(v.billing_email))
            y += _LINE_H
        self.set_text_color(*_BLACK)
        return y + 5

    def _table_header(self, y: float) -> float:
        h = _LINE_H + 2 * _ROW_PAD
        self.set_fill_color(*_HEAD_FILL)
        self.rect(_LEFT, y, _RIGHT - _LEFT, h, style="F")
        self._use("B", _BODY_PT)
        baseline = y + _ROW_PAD + _BASELINE
        x = _LEFT
        for i, (title, width) in enumerate(zip(_HEAD_TEXT, _COLS, strict=True)):
            if i == 0:
                self.text(x + _PAD, baseline, title)
            else:
                self._text_right(x + width - _PAD, baseline, title)
            x += width
        self._use("", _BODY_PT)
        return y + h

    def _lines(self, y: float) -> float:
        v = self.statement
        self._in_table = True
        y = self._table_header(y)
        self.set_draw_color(*_RULE)
        self.set_line_width(0.2)
        desc_w = _COLS[0] - 2 * _PAD
        right_edges = (
            _LEFT + _COLS[0] + _COLS[1] - _PAD,
            _LEFT + _COLS[0] + _COLS[1] + _COLS[2] - _PAD,
            _RIGHT - _PAD,
        )
        for line in v.lines:
            wrapped = self._wrap(_description(line), desc_w)
            # A row moves to the next page whole, unless it is taller than a page.
            start = 0
            while start < len(wrapped):
                remaining = len(wrapped) - start
                room = int((_BOTTOM - y - 2 * _ROW_PAD) // _LINE_H)
                if remaining > room and (remaining <= _ROOM_ON_NEW_PAGE or room < 2):
                    y = self._continuation_page()
                    continue
                chunk = wrapped[start : start + room]
                baseline = y + _ROW_PAD + _BASELINE
                runs = [(_LEFT + _PAD, baseline + n * _LINE_H, t) for n, t in enumerate(chunk)]
                if start == 0:
                    figures = (
                        quantity_label(line),
                        unit_price_label(v, line),
                        v.money(line.amount),
                    )
                    runs += [
                        (edge - self._width(figure), baseline, figure)
                        for edge, figure in zip(right_edges, figures, strict=True)
                        if figure
                    ]
                self._text_runs(runs)
                y += len(chunk) * _LINE_H + 2 * _ROW_PAD
                self.line(_LEFT, y, _RIGHT, y)
                start += len(chunk)
        self._in_table = False
        return y

    def _totals(self, y: float) -> float:
        v = self.statement
        rows = (
            ("Subtotal", v.money(v.subtotal), ""),
            (v.tax_label, v.money(v.tax), ""),
            (f"Total {v.currency}", v.money(v.total), "B"),
        )
        needed = 4 + len(rows) * (_LINE_H + 1.5) + 2
        if y + needed > _BOTTOM:
            y = self._continuation_page()
        y += 4
        label_x = _RIGHT - 75
        for label, figure, style in rows:
            if style:
                self.set_draw_color(*_BLACK)
                self.set_line_width(0.3)
                self.line(label_x, y, _RIGHT, y)
                y += 1.2
            self._use(style, 10.0 if style else _BODY_PT)
            self.text(label_x, y + _BASELINE, label)
            self._text_right(_RIGHT - _PAD, y + _BASELINE, figure)
            y += _LINE_H + 1.5
        return y + 2

    def _adjustments(self, y: float) -> None:
        v = self.statement
        if y + 20 > _BOTTOM:
            y = self._continuation_page()
        y += 6
        self._use("B", 11.0)
        self.text(_LEFT, y, "Adjustments")
        self._use("", 8.0, _GREY)
        y += 4.5
        self.text(_LEFT, y, "Changed after issue; the original lines are kept on record.")
        y += 1.5
        self.set_text_color(*_BLACK)
        width = _RIGHT - _LEFT
        for adj in v.adjustments:
            if y + 3 * _LINE_H > _BOTTOM:
                y = self._continuation_page()
            y += 1.5
            self._use("B", _BODY_PT)
            y = self._paragraph(y, _adjustment_title(adj), width, "B")
            self._use("", _BODY_PT)
            y = self._paragraph(y, f"Reason: {adj.reason}", width)
            y = self._paragraph(y, f"Change: {adj.summary}", width)


def _description(line: LineView) -> str:
    return f"{line.description} (edited)" if line.edited else line.description


def _adjustment_title(adj: AdjustmentView) -> str:
    return f"#{adj.number} · {adj.at} · {adj.actor}"


# --- fonts: parsed once per process, cloned per document ----------------------------


class _DocumentFont(TTFFont):
    """A per-document TTFFont that draws missing characters as the .notdef box.

    fpdf2 silently drops characters its font lacks; a customer name in a script that
    DejaVu Sans does not cover would vanish from the statement. Here each such
    character gets its own code mapped to glyph 0 and, in ToUnicode, to itself.
    """

    __slots__ = ("escaped",)
    escaped: dict[str, str]  # char -> its escaped 2-byte code in this document

    def encode_text(self, text: str) -> str:
        escaped = self.escaped
        try:
            body = "".join([escaped[char] for char in text])
        except KeyError:
            body = "".join([escaped.get(char) or self._learn(char) for char in text])
        return f"({body}) Tj"

    def _learn(self, char: str) -> str:
        """The escaped 2-byte code of ``char`` in this document, allotted on first use."""
        code = self.subset.pick(ord(char))
        if code is None:
            notdef = Glyph(0, (ord(char),), ".notdef", int(self.desc.missing_width))
            code = self.subset.pick_glyph(notdef)
        assert code is not None
        self.escaped[char] = escape_parens(chr(code).encode("utf-16-be").decode("latin-1"))
        return self.escaped[char]


class _Face:
    """One font file: fpdf2's parsed metrics (once) plus our TrueType subsetter."""

    def __init__(self, proto: TTFFont, sfnt: _Sfnt) -> None:
        self.proto = proto
        self.sfnt = sfnt
        self.cw = proto.cw
        self.missing_width = float(proto.desc.missing_width)
        self._units: dict[str, float] = {}

    def new_document_font(self, index: int) -> _DocumentFont:
        font = _DocumentFont.__new__(_DocumentFont)
        for name in TTFFont.__slots__:
            if hasattr(self.proto, name):
                setattr(font, name, getattr(self.proto, name))
        # Per-document state; everything else (metrics, cmap) is shared, read-only.
        font.i = index
        font.desc = _copy_descriptor(self.proto.desc)
        font.missing_glyphs = []
        font.biggest_size_pt = 0
        font.subset = SubsetMap(font)
        font.escaped = {}
        return font

    def width(self, text: str, size_pt: float) -> float:
        """Advance width in mm at ``size_pt`` (no kerning, as fpdf2 draws it)."""
        units = self._units.get(text)
        if units is None:
            if len(self._units) > 50_000:  # words repeat a lot; bound the memo anyway
                self._units.clear()
            cw, missing = self.cw, self.missing_width
            units = self._units[text] = sum([cw.get(ord(c), missing) for c in text])
        return units * size_pt * _PT / 1000

    def cut(self, word: str, width: float, size_pt: float) -> list[str]:
        pieces: list[str] = []
        start, used = 0, 0.0
        scale = size_pt * _PT / 1000
        for i, char in enumerate(word):
            w = self.cw.get(ord(char), self.missing_width) * scale
            if used + w > width and i > start:
                pieces.append(word[start:i])
                start, used = i, 0.0
            used += w
        pieces.append(word[start:])
        return pieces


def _copy_descriptor(desc: PDFFontDescriptor) -> PDFFontDescriptor:
    return PDFFontDescriptor(
        ascent=desc.ascent,
        descent=desc.descent,
        cap_height=desc.cap_height,
        flags=desc.flags,
        font_b_box=desc.font_b_box,
        italic_angle=desc.italic_angle,
        stem_v=desc.stem_v,
        missing_width=desc.missing_width,
    )


@functools.cache
def _faces() -> dict[str, _Face]:
    """Parse the shipped fonts once per process (~150 ms); every render reuses them."""
    holder = FPDF()
    faces: dict[str, _Face] = {}
    for style, filename in _FONT_FILES.items():
        path = FONT_DIR / filename
        proto = TTFFont(holder, path, f"{_FAMILY}{style}", style)
        holder.fonts[proto.fontkey] = proto
        sfnt = _Sfnt(path.read_bytes(), proto.ttfont.getReverseGlyphMap())
        faces[style] = _Face(proto, sfnt)
    return faces


# --- a minimal TrueType subsetter ---------------------------------------------------

# What a TrueType program embedded in a PDF needs (PDF 32000-1 §9.9; "cmap" only for
# simple fonts, and ours is a CIDFontType2 with a CIDToGIDMap), plus OS/2 and a glyph-
# name-free "post" that font sanitisers like to see.
_KEEP_IF_PRESENT = (b"cvt ", b"fpgm", b"prep", b"OS/2")
_ARG_WORDS, _HAS_SCALE, _MORE, _XY_SCALE, _TWO_BY_TWO = 0x1, 0x8, 0x20, 0x40, 0x80


def _checksum(data: bytes) -> int:
    padded = data + b"\0" * (-len(data) % 4)
    words = array("I", padded)
    if sys.byteorder == "little":
        words.byteswap()
    return sum(words) & 0xFFFFFFFF


class _Sfnt:
    """The raw tables of one TrueType font and the byte range of each glyph."""

    def __init__(self, data: bytes, gid_by_name: dict[str, int]) -> None:
        self.gid_by_name = gid_by_name
        num_tables = struct.unpack_from(">H", data, 4)[0]
        self.tables: dict[bytes, bytes] = {}
        for i in range(num_tables):
            tag, _, offset, length = struct.unpack_from(">4sIII", data, 12 + 16 * i)
            self.tables[tag] = data[offset : offset + length]
        head, maxp, hhea = self.tables[b"head"], self.tables[b"maxp"], self.tables[b"hhea"]
        self.num_glyphs = struct.unpack_from(">H", maxp, 4)[0]
        self.num_hmetrics = struct.unpack_from(">H", hhea, 34)[0]
        long_loca = struct.unpack_from(">h", head, 50)[0] == 1
        loca = array("I" if long_loca else "H", self.tables[b"loca"])
        if sys.byteorder == "little":
            loca.byteswap()
        self.loca = list(loca) if long_loca else [2 * x for x in loca]
        self.glyf = self.tables[b"glyf"]
        post = self.tables.get(b"post", b"")
        # post format 3.0: the same header, no glyph names.
        self.post = b"\x00\x03\x00\x00" + post[4:32] if len(post) >= 32 else b""

    def _components(self, gid: int) -> Iterator[tuple[int, int]]:
        """(byte offset within the glyph, component glyph id) of a composite glyph."""
        start, end = self.loca[gid], self.loca[gid + 1]
        if end - start < 10 or struct.unpack_from(">h", self.glyf, start)[0] >= 0:
            return
        pos = start + 10
        while True:
            flags, component = struct.unpack_from(">HH", self.glyf, pos)
            yield pos + 2 - start, component
            pos += 4 + (4 if flags & _ARG_WORDS else 2)
            if flags & _HAS_SCALE:
                pos += 2
            elif flags & _XY_SCALE:
                pos += 4
            elif flags & _TWO_BY_TWO:
                pos += 8
            if not flags & _MORE:
                return

    def closure(self, gids: Iterable[int]) -> list[int]:
        """The glyphs, their composite components (recursively) and .notdef, in id order."""
        seen = {0}
        todo = [g for g in gids if 0 <= g < self.num_glyphs]
        while todo:
            gid = todo.pop()
            if gid in seen:
                continue
            seen.add(gid)
            todo.extend(c for _, c in self._components(gid) if c < self.num_glyphs)
        return sorted(seen)

    def subset(self, keep: Sequence[int]) -> bytes:
        """A font program of the glyphs ``keep`` (a ``closure``), renumbered 0..n-1."""
        new_id = {old: new for new, old in enumerate(keep)}
        glyf, loca = self.glyf, self.loca
        chunks: list[bytes] = []
        for old in keep:
            data = glyf[loca[old] : loca[old + 1]]
            components = list(self._components(old))
            if components:  # point the components at their new ids
                patched = bytearray(data)
                for at, component in components:
                    struct.pack_into(">H", patched, at, new_id[component])
                data = bytes(patched)
            chunks.append(data + b"\0" * (-len(data) % 4))
        offsets = array("I", accumulate((len(c) for c in chunks), initial=0))

        # Every new glyph gets a full (advance, left side bearing) pair.
        old_hmtx, nhm = self.tables[b"hmtx"], self.num_hmetrics
        metrics = array("H")
        for old in keep:
            advance_at = 4 * min(old, nhm - 1)
            lsb_at = 4 * old + 2 if old < nhm else 4 * nhm + 2 * (old - nhm)
            metrics.append(int.from_bytes(old_hmtx[advance_at : advance_at + 2], "big"))
            metrics.append(int.from_bytes(old_hmtx[lsb_at : lsb_at + 2], "big"))
        if sys.byteorder == "little":
            offsets.byteswap()
            metrics.byteswap()

        n = len(keep)
        head = bytearray(self.tables[b"head"])
        head[8:12] = bytes(4)  # checkSumAdjustment, set by _assemble
        head[50:52] = b"\x00\x01"  # indexToLocFormat: long offsets
        hhea = bytearray(self.tables[b"hhea"])
        struct.pack_into(">H", hhea, 34, n)  # numberOfHMetrics
        maxp = bytearray(self.tables[b"maxp"])
        struct.pack_into(">H", maxp, 4, n)  # numGlyphs
        tables: dict[bytes, bytes] = {
            b"glyf": b"".join(chunks),
            b"head": bytes(head),
            b"hhea": bytes(hhea),
            b"hmtx": metrics.tobytes(),
            b"loca": offsets.tobytes(),
            b"maxp": bytes(maxp),
        }
        for tag in _KEEP_IF_PRESENT:
            if tag in self.tables:
                tables[tag] = self.tables[tag]
        if self.post:
            tables[b"post"] = self.post
        return _assemble(tables)


def _assemble(tables: dict[bytes, bytes]) -> bytes:
    tags = sorted(tables)
    n = len(tags)
    entry_selector = n.bit_length() - 1
    search_range = (1 << entry_selector) * 16
    header = struct.pack(
        ">IHHHH", 0x00010000, n, search_range, entry_selector, n * 16 - search_range
    )
    directory, body = [], []
    offset = 12 + 16 * n
    for tag in tags:
        data = tables[tag]
        directory.append(struct.pack(">4sIII", tag, _checksum(data), offset, len(data)))
        padded = data + b"\0" * (-len(data) % 4)
        body.append(padded)
        offset += len(padded)
    font = bytearray(header + b"".join(directory) + b"".join(body))
    adjustment = (0xB1B0AFBA - _checksum(bytes(font))) & 0xFFFFFFFF
    head_at = 12 + 16 * n + sum(len(b) for b in body[: tags.index(b"head")])
    font[head_at + 8 : head_at + 12] = struct.pack(">I", adjustment)
    return bytes(font)


def _subset_tag(gids: Sequence[int]) -> str:
    """Six capitals naming this subset (PDF 32000-1 §9.6.4), stable for the same glyphs."""
    digest = hashlib.sha256(array("I", gids).tobytes()).digest()
    return "".join(chr(65 + b % 26) for b in digest[:6])


class _SubsettingOutputProducer(OutputProducer):
    """fpdf2's output, with the font embedding done by ``_Sfnt.subset``."""

    def _add_fonts(
        self,
        image_objects_per_index: dict[int, Any],
        gfxstate_objs_per_name: dict[str, PDFExtGState],
        pattern_objs_per_name: dict[str, Pattern],
    ) -> dict[int, PDFFont | PDFType3Font]:
        pdf = self.fpdf
        fonts = sorted(pdf.fonts.values(), key=lambda f: f.i)
        if not isinstance(pdf, _StatementPDF) or not all(
            isinstance(f, _DocumentFont) for f in fonts
        ):
            return super()._add_fonts(
                image_objects_per_index, gfxstate_objs_per_name, pattern_objs_per_name
            )
        faces = {face.proto.fontkey: face for face in pdf.font_faces.values()}
        result: dict[int, PDFFont | PDFType3Font] = {}
        for font in fonts:
            assert isinstance(font, _DocumentFont)
            result[font.i] = self._embed(font, faces[font.fontkey].sfnt)
        return result

    def _embed(self, font: _DocumentFont, sfnt: _Sfnt) -> PDFFont:
        used = [(glyph, code) for glyph, code in font.subset.items() if glyph is not None]
        old_gid = {code: sfnt.gid_by_name.get(glyph.glyph_name, 0) for glyph, code in used}
        keep = sfnt.closure(old_gid.values())
        program = sfnt.subset(keep)
        new_gid = {old: new for new, old in enumerate(keep)}
        if font.missing_glyphs:
            LOGGER.warning(
                "font %s lacks %d character(s) (drawn as boxes): %r",
                font.fontkey,
                len(font.missing_glyphs),
                "".join(chr(c) for c in font.missing_glyphs[:20]),
            )
        fontname = f"{_subset_tag(keep)}+{font.name}"

        composite = PDFFont(subtype="Type0", base_font=fontname, encoding="Identity-H")
        self._add_pdf_obj(composite, "fonts")
        cid_font = PDFFont(
            subtype="CIDFontType2",
            base_font=fontname,
            d_w=font.desc.missing_width,
            w=_tt_font_widths(font),
        )
        self._add_pdf_obj(cid_font, "fonts")
        composite.descendant_fonts = PDFArray([cid_font])

        # ToUnicode: what each code means, for search, copy and text extraction.
        bf_char = [
            f"<{code:04X}> <{''.join(_utf16_hex(u) for u in glyph.unicode)}>\n"
            for glyph, code in used
            if isinstance(glyph.unicode, tuple) and glyph.unicode
        ]
        to_unicode = PDFContentStream(
            (
                "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n"
                "/CIDSystemInfo\n<</Registry (Adobe)\n/Ordering (UCS)\n/Supplement 0\n>> def\n"
                "/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n"
                "1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n"
                f"{_build_cmap_blocks(bf_char, 'bfchar')}"
                "endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend"
            ).encode("latin-1"),
            compress=True,
        )
        self._add_pdf_obj(to_unicode, "fonts")
        composite.to_unicode = to_unicode

        system_info = CIDSystemInfo()
        self._add_pdf_obj(system_info, "fonts")
        cid_font.c_i_d_system_info = system_info

        descriptor = font.desc
        descriptor.font_name = Name(fontname)
        self._add_pdf_obj(descriptor, "fonts")
        cid_font.font_descriptor = descriptor

        # CID (= code) -> glyph id, two bytes each; CIDs past the end of the map are
        # never used, so it stops at the highest code.
        cid_to_gid = bytearray(2 * (max(old_gid, default=0) + 1))
        for code, gid in old_gid.items():
            struct.pack_into(">H", cid_to_gid, 2 * code, new_gid[gid])
        cid_to_gid_obj = PDFContentStream(contents=bytes(cid_to_gid), compress=True)
        self._add_pdf_obj(cid_to_gid_obj, "fonts")
        cid_font.c_i_d_to_g_i_d_map = cid_to_gid_obj

        font_file = PDFFontStream(contents=program)
        self._add_pdf_obj(font_file, "fonts")
        descriptor.font_file2 = font_file  # type: ignore[attr-defined]
        return composite


def _utf16_hex(codepoint: int) -> str:
    return chr(codepoint).encode("utf-16-be").hex().upper()
