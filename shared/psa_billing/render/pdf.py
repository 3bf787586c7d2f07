"""A statement as PDF bytes: the page layout (A4, fpdf2). Pure: no clock, no I/O.

What the document shows is described in docs/documents.md; the fonts, which font draws
which character and the per-document glyph subsets are in ``render.fonts``; figures and
dates are written per the view's locale by ``render.formatting``.

fpdf2 draws the rules, fills, the logo and the VOID stamp through its public API. Text
goes through ``_Page.draw_runs``, which writes the text operators itself with the fonts of
``render.fonts`` (a string may need several fonts: Latin, then CJK), and
``_FontEmbedder`` puts those fonts into the file. Those two, and the footer rule of
``_rule_on_finished_page``, are the only places that use fpdf2 internals (``_out``,
``_resource_catalog``, ``OutputProducer._add_fonts`` and ``_add_pdf_obj``).

Layout: A4, the masthead (logo, MSP, statement identity), bill-to beside the amount due,
the revision notice (only after an earlier revision was sent), the lines (header repeated
on each page; a row moves to the next page whole unless taller than a page), totals, what
changed, how to pay; footers and the VOID stamp are drawn last, once the page count is
known.

Deterministic: the same view gives the same bytes (creation date = issue date).
"""

from __future__ import annotations

import functools
import io
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fpdf import FPDF
from fpdf.enums import FontDescriptorFlags, PDFResourceType
from fpdf.fonts import PDFFontDescriptor
from fpdf.output import CIDSystemInfo, OutputProducer, PDFFont, PDFFontStream, PDFType3Font
from fpdf.syntax import Name, PDFArray, PDFContentStream

from psa_billing.render.fonts import DocumentFont, DocumentFonts, drawable, normalise, subset_tag
from psa_billing.render.view import LineView, StatementView, duration_label, quantity_label
from psa_billing.render.wording import change_sentence, revision_sentence, unit_price

__all__ = ["render_statement_pdf"]

LOGGER = logging.getLogger(__name__)

# --- page geometry (mm) -------------------------------------------------------------
_PAGE_W, _PAGE_H = 210.0, 297.0
_LEFT, _RIGHT, _TOP = 15.0, 195.0, 15.0
_BOTTOM = 268.0  # content stops here; the footer sits below
_COLS = (98.0, 26.0, 27.0, 29.0)  # Description | Qty | Unit price | Amount
_PAD = 1.6  # horizontal cell padding
_ROW_PAD = 0.7  # vertical cell padding
_LINE_H = 3.9  # one line of body text
_BASELINE = 2.8  # from the top of a line to its baseline
_BODY_PT = 8.5
_SMALL_PT = 7.5
_GREY = (95, 95, 95)
_RULE = (210, 210, 210)
_HEAD_FILL = (235, 238, 242)
_BOX_FILL = (244, 246, 249)
_ACCENT = (178, 34, 34)
_BLACK = (25, 25, 25)
_PT = 25.4 / 72  # mm per point
_TABLE_TOP = _TOP + 9  # first free y on a continuation page, before the table header
_ROOM_ON_NEW_PAGE = int((_BOTTOM - _TABLE_TOP - 2 * _LINE_H - 4 * _ROW_PAD) // _LINE_H)
_LOGO_W, _LOGO_H = 50.0, 18.0

Color = tuple[int, int, int]


def render_statement_pdf(view: StatementView) -> bytes:
    """Render one statement (its current revision) to PDF bytes.

    Characters that no shipped font draws come out as boxes (and are logged): callers
    check ``render.fonts.missing_glyphs(view)`` first and hold such a statement.
    """
    page = _Page(view)
    page.draw()
    return bytes(page.output(output_producer_class=_FontEmbedder))


# --- text drawing ------------------------------------------------------------------------


@dataclass(frozen=True)
class _Style:
    bold: bool = False
    size: float = _BODY_PT
    color: Color = _BLACK

    @functools.cached_property
    def key(self) -> str:
        return "B" if self.bold else ""

    @functools.cached_property
    def opening(self) -> str:
        """Start of a text object in this colour."""
        r, g, b = self.color
        return f"q {r / 255:.3f} {g / 255:.3f} {b / 255:.3f} rg BT"

    @functools.cached_property
    def scale(self) -> float:
        """mm per 1/1000 em at this size."""
        return self.size * _PT / 1000


_BODY = _Style()
_BODY_BOLD = _Style(bold=True)
_MUTED = _Style(color=_GREY)
_SMALL = _Style(size=_SMALL_PT, color=_GREY)


class _Page(FPDF):
    """The statement's pages: layout on top of fpdf2's page, shape and image drawing."""

    def __init__(self, view: StatementView) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.v = view
        self.f = view.fmt
        self.doc_fonts = DocumentFonts()
        self.set_margins(_LEFT, _TOP, _PAGE_W - _RIGHT)
        self.set_auto_page_break(auto=False)
        self.set_compression(True)
        day = view.issue_date
        self.set_creation_date(datetime(day.year, day.month, day.day, tzinfo=UTC))
        self.set_title(normalise(f"Statement {view.number} — {view.period_label}"))
        self.set_author(normalise(view.org.name))
        self.set_subject(normalise(f"{view.customer_name}, {view.period_label}"))
        self.set_creator("psa-billing")
        self.set_lang("en")
        self._in_table = False

    # Text ------------------------------------------------------------------------
    def width(self, text: str, style: _Style = _BODY) -> float:
        return self.doc_fonts.width(style.key, text) * style.scale

    def draw_text(self, x: float, baseline: float, text: str, style: _Style = _BODY) -> None:
        self.draw_runs([(x, baseline, text)], style)

    def draw_right(self, right: float, baseline: float, text: str, style: _Style = _BODY) -> None:
        self.draw_runs([(right - self.width(text, style), baseline, text)], style)

    def draw_runs(self, runs: Sequence[tuple[float, float, str]], style: _Style) -> None:
        """Strings in one style, as one text object (one per row keeps long statements fast)."""
        k, page_h = self.k, self.h
        ops = [style.opening]
        current: DocumentFont | None = None
        for x, y, text in runs:
            if not text:
                continue
            ops.append(f"1 0 0 1 {x * k:.2f} {(page_h - y) * k:.2f} Tm")
            for font, piece in self.doc_fonts.runs(style.key, text):
                if font is not current:
                    ops.append(f"/F{font.number} {style.size:.2f} Tf")
                    self._resource_catalog.add(PDFResourceType.FONT, font.number, self.page)
                    current = font
                ops.append(f"{font.encode(piece)} Tj")
        ops.append("ET Q")
        if current is not None:
            self._out(" ".join(ops))

    def wrap(self, text: str, width: float, style: _Style = _BODY) -> list[str]:
        """Greedy word wrap on the fonts' advance widths; a word wider than ``width`` is
        split between characters (CJK text has no spaces: it wraps that way too)."""
        lines: list[str] = []
        for paragraph in text.replace("\r\n", "\n").split("\n"):
            lines.extend(self._wrap_one(normalise(paragraph), width, style))
        return lines or [""]

    def _wrap_one(self, text: str, width: float, style: _Style) -> list[str]:
        space = self.width(" ", style)
        lines: list[str] = []
        current: list[str] = []
        used = 0.0
        for token in text.split():
            word, w = token, self.width(token, style)
            if w > width:
                if current:
                    lines.append(" ".join(current))
                    current, used = [], 0.0
                pieces = self._cut(token, width, style)
                lines.extend(pieces[:-1])
                word = pieces[-1]
                w = self.width(word, style)
            if current and used + space + w > width:
                lines.append(" ".join(current))
                current, used = [], 0.0
            used = w if not current else used + space + w
            current.append(word)
        if current or not lines:
            lines.append(" ".join(current))
        return lines

    def _cut(self, word: str, width: float, style: _Style) -> list[str]:
        pieces: list[str] = []
        start, used = 0, 0.0
        for i, char in enumerate(word):
            w = self.width(char, style)
            if used + w > width and i > start:
                pieces.append(word[start:i])
                start, used = i, 0.0
            used += w
        pieces.append(word[start:])
        return pieces

    def paragraph(
        self, x: float, y: float, text: str, width: float, style: _Style = _BODY
    ) -> float:
        """Wrapped text from ``y`` (the top of its first line), across pages if need be."""
        step = max(_LINE_H, style.size * _PT * 1.3)
        for line in self.wrap(text, width, style):
            if y + step > _BOTTOM:
                y = self.continuation_page()
            self.draw_text(x, y + step * 0.72, line, style)
            y += step
        return y

    # Pages -----------------------------------------------------------------------
    def continuation_page(self) -> float:
        """A new page with a running header; returns the first free y."""
        self.add_page()
        v = self.v
        left = f"{v.org.name} — Statement {v.number}"
        self.draw_text(_LEFT, _TOP + 3, self._fit(left, 110, _SMALL), _SMALL)
        self.draw_right(_RIGHT, _TOP + 3, self._fit(v.customer_name, 65, _SMALL), _SMALL)
        y = _TABLE_TOP
        if self._in_table:
            y = self.table_header(y)
        return y

    def _fit(self, text: str, width: float, style: _Style) -> str:
        """Page furniture only (the running header): one line, cut with an ellipsis."""
        text = normalise(text)
        if self.width(text, style) <= width:
            return text
        while text and self.width(text + "…", style) > width:
            text = text[:-1]
        return text.rstrip() + "…"

    def furniture(self) -> None:
        """Footer (and VOID stamp) on every page, drawn once the page count is known."""
        v, total = self.v, self.page
        issuer = v.org.legal_name or v.org.name
        if v.org.tax_number:
            issuer = f"{issuer} · {v.org.tax_label} registration {v.org.tax_number}"
        for number in range(1, total + 1):
            self.page = number
            y = _BOTTOM + 6
            self._rule_on_finished_page(y - 2.5)
            if v.org.footer_note.strip():
                for line in self.wrap(v.org.footer_note, _RIGHT - _LEFT, _SMALL)[:3]:
                    self.draw_text(_LEFT, y + 0.5, line, _SMALL)
                    y += 3.3
            y += 1
            page_label = f"Page {number} of {total}"
            room = _RIGHT - _LEFT - self.width(page_label, _SMALL) - 6
            self.draw_text(_LEFT, y + 0.5, self._fit(issuer, room, _SMALL), _SMALL)
            self.draw_right(_RIGHT, y + 0.5, page_label, _SMALL)
            if v.is_void:
                self._void_stamp()
        self.page = total

    def _rule_on_finished_page(self, y: float) -> None:
        """A grey rule written as raw operators in its own graphics state: fpdf2's colour
        tracking follows the last page drawn, not the finished page written to here."""
        k, r, g, b = self.k, *(c / 255 for c in _RULE)
        y_pt = (self.h - y) * k
        self._out(
            f"q {r:.3f} {g:.3f} {b:.3f} RG {0.2 * k:.2f} w "
            f"{_LEFT * k:.2f} {y_pt:.2f} m {_RIGHT * k:.2f} {y_pt:.2f} l S Q"
        )

    def _void_stamp(self) -> None:
        stamp = _Style(bold=True, size=110, color=_ACCENT)
        with (
            self.local_context(fill_opacity=0.18),
            self.rotation(angle=35, x=_PAGE_W / 2, y=_PAGE_H / 2),
        ):
            w = self.width("VOID", stamp)
            self.draw_text(_PAGE_W / 2 - w / 2, _PAGE_H / 2 + 14, "VOID", stamp)

    # The document ----------------------------------------------------------------
    def draw(self) -> None:
        self.add_page()
        y = self.masthead()
        y = self.parties(y)
        if self.v.is_revised:
            y = self.revision_notice(y)
        y = self.lines_table(y)
        y = self.totals(y)
        if self.v.is_revised and self.v.changes:
            y = self.changes(y)
        self.payment(y)
        self.furniture()

    def masthead(self) -> float:
        v, f = self.v, self.f
        y = _TOP
        if v.org.logo:
            y = self._logo(y)
        y += 5
        head = _Style(bold=True, size=13)
        for line in self.wrap(v.org.name, 100, head):
            self.draw_text(_LEFT, y, line, head)
            y += 5.5
        y -= 1.3
        details = [v.org.legal_name if v.org.legal_name != v.org.name else ""]
        details += [*v.org.address_lines, v.org.email]
        if v.org.tax_number:
            details.append(f"{v.org.tax_label} registration: {v.org.tax_number}")
        for text in details:
            if text.strip():
                for part in self.wrap(text, 100, _MUTED):
                    self.draw_text(_LEFT, y + _BASELINE, part, _MUTED)
                    y += _LINE_H
        left_end = y

        title = _Style(bold=True, size=20)
        self.draw_right(_RIGHT, _TOP + 7, "Statement", title)
        ry = _TOP + 14
        rows = [("Number", v.number), ("Issue date", f.date(v.issue_date))]
        if v.due_date is not None:
            rows.append(("Due date", f.date(v.due_date)))
        rows += [("Period", v.period_label), ("Currency", v.currency)]
        for label, value in rows:
            lines = self.wrap(value, 44, _BODY_BOLD)
            self.draw_text(_RIGHT - 70, ry, label, _MUTED)
            for line in lines:
                self.draw_right(_RIGHT, ry, line, _BODY_BOLD)
                ry += _LINE_H
            ry += 0.7
        return max(left_end, ry) + 5

    def _logo(self, y: float) -> float:
        assert self.v.org.logo is not None
        info = self.image(
            io.BytesIO(self.v.org.logo), x=_LEFT, y=y, w=_LOGO_W, h=_LOGO_H, keep_aspect_ratio=True
        )
        drawn_h = float(getattr(info, "rendered_height", _LOGO_H) or _LOGO_H)
        return y + min(drawn_h, _LOGO_H) + 2

    def parties(self, y: float) -> float:
        """Bill-to on the left, the amount due box on the right."""
        v, f = self.v, self.f
        top = y
        self.draw_text(_LEFT, y, "BILL TO", _Style(bold=True, size=7.5, color=_GREY))
        y += 5
        name = _Style(bold=True, size=11)
        for line in self.wrap(v.customer_name, 100, name):
            self.draw_text(_LEFT, y, line, name)
            y += 4.8
        y -= 1.6
        details = [*v.customer_address_lines]
        if v.customer_tax_id:
            details.append(f"Tax ID: {v.customer_tax_id}")
        details.append(v.billing_email)
        for text in details:
            if text.strip():
                for part in self.wrap(text, 100, _BODY):
                    self.draw_text(_LEFT, y + _BASELINE, part, _BODY)
                    y += _LINE_H

        # Amount due: the one figure every reader looks for, on the first page.
        box_x, box_w = _RIGHT - 70, 70.0
        box_h = 24.0
        self.set_fill_color(*_BOX_FILL)
        self.set_draw_color(*_RULE)
        self.set_line_width(0.2)
        self.rect(box_x, top - 3, box_w, box_h, style="DF")
        inner = box_x + 4
        label = "Amount due" if not v.is_void else "Amount due (void)"
        self.draw_text(inner, top + 2, label, _Style(bold=True, size=8, color=_GREY))
        big = _Style(bold=True, size=16)
        amount = f.money_with_code(v.amount_due)
        size = big.size
        while self.width(amount, _Style(True, size)) > box_w - 8 and size > 9:
            size -= 0.5
        self.draw_text(inner, top + 10.5, amount, _Style(True, size))
        if v.is_void and v.void_on is not None:
            note = f"Void since {f.date(v.void_on)}"
            self.draw_text(inner, top + 16.5, note, _Style(bold=True, color=_ACCENT))
        elif v.due_date is not None:
            self.draw_text(inner, top + 16.5, f"Due by {f.date(v.due_date)}", _MUTED)
        return max(y, top + box_h) + 4

    def revision_notice(self, y: float) -> float:
        text = revision_sentence(self.v)
        width = _RIGHT - _LEFT - 6
        lines = self.wrap(text, width, _BODY_BOLD)
        h = len(lines) * _LINE_H + 3
        self.set_fill_color(253, 242, 242)
        self.rect(_LEFT, y, _RIGHT - _LEFT, h, style="F")
        self.set_fill_color(*_ACCENT)
        self.rect(_LEFT, y, 1.2, h, style="F")
        ty = y + 1.5
        for line in lines:
            self.draw_text(_LEFT + 4, ty + _BASELINE, line, _Style(bold=True, color=_ACCENT))
            ty += _LINE_H
        return y + h + 4

    def table_header(self, y: float) -> float:
        h = _LINE_H + 2 * _ROW_PAD
        self.set_fill_color(*_HEAD_FILL)
        self.rect(_LEFT, y, _RIGHT - _LEFT, h, style="F")
        baseline = y + _ROW_PAD + _BASELINE
        titles = ("Description", "Quantity", "Unit price", f"Amount ({self.v.currency})")
        x = _LEFT
        for i, (title, width) in enumerate(zip(titles, _COLS, strict=True)):
            if i == 0:
                self.draw_text(x + _PAD, baseline, title, _BODY_BOLD)
            else:
                self.draw_right(x + width - _PAD, baseline, title, _BODY_BOLD)
            x += width
        return y + h

    def lines_table(self, y: float) -> float:
        self._in_table = True
        y = self.table_header(y)
        self.set_draw_color(*_RULE)  # the rule under each row
        self.set_line_width(0.2)
        for line in self.v.lines:
            y = self._row(y, line)
        self._in_table = False
        return y

    def _row(self, y: float, line: LineView) -> float:
        v = self.v
        desc_w = _COLS[0] - 2 * _PAD
        edges = (
            _LEFT + _COLS[0] + _COLS[1] - _PAD,
            _LEFT + _COLS[0] + _COLS[1] + _COLS[2] - _PAD,
            _RIGHT - _PAD,
        )
        wrapped = [(t, _BODY) for t in self.wrap(line.description, desc_w)]
        subrows: list[tuple[str, str]] = []
        if line.kind == "included_hours":
            if line.minutes is not None and line.included_minutes is not None:
                used = f"Used {duration_label(line.minutes)} of "
                used += f"{duration_label(line.included_minutes)} included"
                wrapped += [(t, _MUTED) for t in self.wrap(used, desc_w, _MUTED)]
            for item in line.covered:
                text = f"Covered: {item.ticket}"
                pieces = self.wrap(text, desc_w - 3, _MUTED)
                subrows.append((pieces[0], duration_label(item.minutes)))
                subrows.extend((p, "") for p in pieces[1:])
        figures = (quantity_label(line), unit_price(v, line), self.f.money(line.amount))
        cells: list[tuple[str, _Style, str]] = [(t, s, "") for t, s in wrapped]
        cells += [(f"   {t}", _MUTED, q) for t, q in subrows]
        # A row moves to the next page whole, unless it is taller than a page.
        start = 0
        while start < len(cells):
            remaining = len(cells) - start
            room = int((_BOTTOM - y - 2 * _ROW_PAD) // _LINE_H)
            if remaining > room and (remaining <= _ROOM_ON_NEW_PAGE or room < 2):
                y = self.continuation_page()
                continue
            chunk = cells[start : start + room]
            baseline = y + _ROW_PAD + _BASELINE
            body = [(_LEFT + _PAD, baseline + n * _LINE_H, t) for n, (t, s, _) in enumerate(chunk)]
            plain = [r for r, c in zip(body, chunk, strict=True) if c[1] is _BODY]
            muted = [r for r, c in zip(body, chunk, strict=True) if c[1] is not _BODY]
            muted += [
                (edges[0] - self.width(q, _MUTED), baseline + n * _LINE_H, q)
                for n, (_, _, q) in enumerate(chunk)
                if q
            ]
            if start == 0:
                plain += [
                    (edge - self.width(figure), baseline, figure)
                    for edge, figure in zip(edges, figures, strict=True)
                    if figure
                ]
            self.draw_runs(plain, _BODY)
            if muted:
                self.draw_runs(muted, _MUTED)
            y += len(chunk) * _LINE_H + 2 * _ROW_PAD
            self.line(_LEFT, y, _RIGHT, y)
            start += len(chunk)
        return y

    def totals(self, y: float) -> float:
        v, f = self.v, self.f
        rows: list[tuple[str, str, _Style]] = [
            ("Subtotal", f.money(v.subtotal), _BODY),
            (v.tax_label, f.money(v.tax), _BODY),
            (f"Total {v.currency}", f.money(v.total), _BODY_BOLD),
        ]
        if v.is_void:
            rows.append(("Void: amount due", f.money_with_code(v.amount_due), _BODY_BOLD))
        else:
            rows.append(("Amount due", f.money_with_code(v.amount_due), _Style(True, 10.5)))
        needed = 6 + len(rows) * (_LINE_H + 1.8) + 4
        if y + needed > _BOTTOM:
            y = self.continuation_page()
        y += 4
        label_x = _RIGHT - 80
        for i, (label, figure, style) in enumerate(rows):
            if i >= 2:
                self.set_draw_color(*_BLACK)
                self.set_line_width(0.3 if i == 2 else 0.5)
                self.line(label_x, y, _RIGHT, y)
                y += 1.2
            self.draw_text(label_x, y + _BASELINE, label, style)
            self.draw_right(_RIGHT - _PAD, y + _BASELINE, figure, style)
            y += _LINE_H + 1.8
        return y + 3

    def changes(self, y: float) -> float:
        v = self.v
        if y + 16 > _BOTTOM:
            y = self.continuation_page()
        y += 3
        assert v.previous_sent_on is not None
        title = f"What changed since the statement sent on {self.f.date(v.previous_sent_on)}"
        y = self.paragraph(_LEFT, y, title, _RIGHT - _LEFT, _Style(bold=True, size=10))
        y += 1
        width = _RIGHT - _LEFT - 35
        for change in v.changes:
            text, figure = change_sentence(v, change)
            lines = self.wrap(text, width)
            if y + len(lines) * _LINE_H > _BOTTOM:
                y = self.continuation_page()
            for n, line in enumerate(lines):
                self.draw_text(_LEFT + 3, y + _BASELINE, ("• " if n == 0 else "  ") + line)
                if n == 0 and figure:
                    self.draw_right(_RIGHT - _PAD, y + _BASELINE, figure)
                y += _LINE_H
            y += 0.8
        return y + 2

    def payment(self, y: float) -> None:
        v = self.v
        if v.is_void:
            if y + 10 > _BOTTOM:
                y = self.continuation_page()
            text = "This statement is void: nothing is due, and any payment made for it will "
            text += "be refunded or credited."
            self.paragraph(_LEFT, y + 3, text, _RIGHT - _LEFT, _BODY_BOLD)
            return
        org = v.org
        if not (org.payment_instructions.strip() or org.payment_link.strip()):
            return
        width = _RIGHT - _LEFT
        texts = [org.payment_instructions.strip()] if org.payment_instructions.strip() else []
        if org.payment_link.strip():
            texts.append(f"Pay online: {org.payment_link.strip()}")
        quote = f"Please quote {v.number} with your payment."
        needed = 9 + _LINE_H * (1 + sum(len(self.wrap(t, width)) for t in texts))
        if y + needed > _BOTTOM:  # the block stays together
            y = self.continuation_page()
        y += 3
        y = self.paragraph(_LEFT, y, "How to pay", width, _Style(bold=True, size=10))
        y += 0.5
        for text in texts:
            y = self.paragraph(_LEFT, y, text, width)
        self.paragraph(_LEFT, y, quote, width, _MUTED)


# --- embedding the fonts ----------------------------------------------------------------


class _FontEmbedder(OutputProducer):
    """fpdf2's output, with the fonts of ``render.fonts`` as Type 0 fonts."""

    def _add_fonts(
        self,
        image_objects_per_index: dict[int, Any],
        gfxstate_objs_per_name: dict[str, Any],
        pattern_objs_per_name: dict[str, Any],
    ) -> dict[int, PDFFont | PDFType3Font]:
        page = self.fpdf
        assert isinstance(page, _Page)
        fonts = sorted(page.doc_fonts.by_face.values(), key=lambda f: f.number)
        return {font.number: self._embed(font) for font in fonts}

    def _embed(self, font: DocumentFont) -> PDFFont:
        face = font.face
        keep = face.tables.closure(font.gids)
        program = face.tables.subset(keep)
        missing = sorted({t for t in font.texts[1:] if not drawable(t)})
        if missing:
            LOGGER.warning("font %s draws boxes for %r", face.filename, "".join(missing[:20]))
        fontname = f"{subset_tag(keep)}+{face.postscript_name}"

        composite = PDFFont(subtype="Type0", base_font=fontname, encoding="Identity-H")
        self._add_pdf_obj(composite, "fonts")
        widths = " ".join(str(w) for w in font.widths())
        cid_font = PDFFont(
            subtype="CIDFontType2", base_font=fontname, d_w=face.advances[0], w=f"[0 [{widths}]]"
        )
        self._add_pdf_obj(cid_font, "fonts")
        composite.descendant_fonts = PDFArray([cid_font])

        # ToUnicode: what each CID means, for search, copy and text extraction.
        entries = [
            f"<{cid:04X}> <{text.encode('utf-16-be').hex().upper()}>"
            for cid, text in enumerate(font.texts)
            if text
        ]
        blocks = "".join(
            f"{len(entries[i : i + 100])} beginbfchar\n"
            + "\n".join(entries[i : i + 100])
            + "\nendbfchar\n"
            for i in range(0, len(entries), 100)
        )
        to_unicode = PDFContentStream(
            (
                "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n"
                "/CIDSystemInfo\n<</Registry (Adobe)\n/Ordering (UCS)\n/Supplement 0\n>> def\n"
                "/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n"
                "1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n"
                f"{blocks}"
                "endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend"
            ).encode("latin-1"),
            compress=True,
        )
        self._add_pdf_obj(to_unicode, "fonts")
        composite.to_unicode = to_unicode

        system_info = CIDSystemInfo()
        self._add_pdf_obj(system_info, "fonts")
        cid_font.c_i_d_system_info = system_info

        bbox = " ".join(str(n) for n in face.bbox)
        descriptor = PDFFontDescriptor(
            ascent=face.ascent,
            descent=face.descent,
            cap_height=face.cap_height,
            flags=FontDescriptorFlags.SYMBOLIC,
            font_b_box=f"[{bbox}]",
            italic_angle=0,
            stem_v=80,
            missing_width=face.advances[0],
        )
        descriptor.font_name = Name(fontname)
        self._add_pdf_obj(descriptor, "fonts")
        cid_font.font_descriptor = descriptor
        # CIDs are the subset's glyph ids (render.fonts): the map is the identity.
        cid_font.c_i_d_to_g_i_d_map = Name("Identity")  # type: ignore[assignment]

        font_file = PDFFontStream(contents=program)
        self._add_pdf_obj(font_file, "fonts")
        descriptor.font_file2 = font_file  # type: ignore[attr-defined]
        return composite
