"""Fonts for the statement PDF: which shipped font draws each character, how wide text
is, and the glyph subset of each font that one document embeds.

Shipped fonts (``render/fonts/``, licences in ``render/fonts/LICENSE``, docs/documents.md):

* DejaVu Sans and DejaVu Sans Bold: Latin (Vietnamese, Polish, Turkish...), Greek, Cyrillic;
* Droid Sans Fallback: Chinese and Japanese (one weight, also used for bold);
* NanumGothic and NanumGothic Bold: Korean.

A character is drawn by the first font of its style's chain that has a glyph for it. The
fallback fonts are read only when a document needs one (a Lambda that renders Latin
statements never loads the 13 MB of CJK fonts).

Arabic and Hebrew are *not* drawn: laying them out right-to-left needs shaping (text
shaping with uharfbuzz), which this renderer does not do. ``missing_glyphs`` reports
them, as it reports any character no shipped font has, so that the caller holds the
statement for review instead of sending one with boxes in it.

Embedding: each font a document uses becomes a Type 0 font (Identity-H) whose CIDs are the
glyph ids of a subset made for that document: glyph 0 (.notdef) first, then each glyph in
the order first drawn, then the components of composite glyphs. The subset program is cut
from the TrueType tables directly (``TrueTypeTables.subset``) because fontTools' general
subsetter costs 50-70 ms per font per document on this machine, against a 25 ms budget
for a whole 1-page statement (bench/bench_render.py); fontTools still parses the fonts
(once per process) and the tests check every embedded subset with it.
"""

from __future__ import annotations

import functools
import hashlib
import struct
import sys
import threading
import unicodedata
from array import array
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import accumulate
from pathlib import Path

from fontTools import ttLib  # type: ignore[import-untyped]

from psa_billing.domain.errors import BillingError
from psa_billing.render.view import StatementView, document_texts

__all__ = [
    "FONT_DIR",
    "DocumentFonts",
    "Face",
    "MissingGlyphsError",
    "check_glyphs",
    "missing_glyphs",
]

FONT_DIR = Path(__file__).parent / "fonts"
_CHAINS: dict[str, tuple[str, ...]] = {
    "": ("DejaVuSans.ttf", "DroidSansFallbackFull.ttf", "NanumGothic.ttf"),
    "B": ("DejaVuSans-Bold.ttf", "DroidSansFallbackFull.ttf", "NanumGothicBold.ttf"),
}
STYLES = tuple(_CHAINS)
# Right-to-left scripts need shaping and bidi reordering; not done here (module docstring).
_RTL_CLASSES = frozenset({"R", "AL", "AN"})


class MissingGlyphsError(BillingError):
    """The statement has characters no shipped font can draw (or that this renderer does
    not lay out: Arabic, Hebrew). Hold it for review with this message as the reason."""

    def __init__(self, chars: frozenset[str]) -> None:
        shown = " ".join(f"{c!r} (U+{ord(c):04X})" for c in sorted(chars)[:12])
        more = f" and {len(chars) - 12} more" if len(chars) > 12 else ""
        super().__init__(f"the PDF cannot show {len(chars)} character(s): {shown}{more}")
        self.chars = chars


def missing_glyphs(view: StatementView) -> frozenset[str]:
    """Every character the statement's PDF would print that it cannot draw properly.

    Pure and cheap for Latin, Greek and Cyrillic text (the CJK fonts are read only when a
    character is not in DejaVu Sans). Empty means the PDF shows every character.
    """
    chars: set[str] = set()
    for text in document_texts(view):
        chars.update(normalise(text))
    return frozenset(c for c in chars if not drawable(c))


def check_glyphs(view: StatementView) -> None:
    """``MissingGlyphsError`` if ``missing_glyphs(view)`` is not empty."""
    missing = missing_glyphs(view)
    if missing:
        raise MissingGlyphsError(missing)


def normalise(text: str) -> str:
    """Composed (NFC) and on one line: controls become spaces, as the layout prints it."""
    text = unicodedata.normalize("NFC", text)
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else " " for ch in text)


def drawable(char: str) -> bool:
    """True when some shipped font has a glyph for ``char`` in both styles and the
    character is not from a right-to-left script."""
    if char.isspace():
        return True
    if unicodedata.bidirectional(char) in _RTL_CLASSES:
        return False
    return all(face_for(style, char).glyph(ord(char)) != 0 for style in STYLES)


# --- fonts, parsed once per process -------------------------------------------------


@dataclass(eq=False)
class Face:
    """One TrueType font file: its character map, advance widths and raw tables."""

    filename: str
    postscript_name: str
    cmap: dict[int, int]  # code point -> glyph id
    advances: Sequence[int]  # per glyph id, in 1/1000 em
    ascent: int  # the metrics below are in 1/1000 em, as PDF font descriptors want them
    descent: int
    cap_height: int
    bbox: tuple[int, int, int, int]
    tables: TrueTypeTables

    def glyph(self, code_point: int) -> int:
        return self.cmap.get(code_point, 0)

    @functools.cached_property
    def advance_of(self) -> dict[str, int]:
        """Advance width (1/1000 em) of each character the font has: the fast path."""
        advances = self.advances
        return {chr(code): advances[gid] for code, gid in self.cmap.items()}


_LOAD_LOCK = threading.Lock()
_parsed: dict[str, Face] = {}


@functools.cache
def load_face(filename: str) -> Face:
    """The parsed font, once per process: threads that need it first at the same time
    (the local stack renders many statements at once) wait for one parse."""
    with _LOAD_LOCK:
        face = _parsed.get(filename)
        if face is None:
            face = _parsed[filename] = _parse_face(filename)
        return face


def _parse_face(filename: str) -> Face:
    path = FONT_DIR / filename
    data = path.read_bytes()
    font = ttLib.TTFont(path, lazy=True, recalcTimestamp=False)
    upem = font["head"].unitsPerEm
    tables = TrueTypeTables(data)
    scale = 1000 / upem
    advances = array("H", [round(a * scale) for a in tables.advances()])
    os2 = font["OS/2"]
    head = font["head"]
    # Numbered glyph names: the cmap then reads as glyph ids, without decoding the 'post'
    # table's names (7x faster on the 49,000-glyph CJK font).
    font.setGlyphOrder([f"g{i}" for i in range(tables.num_glyphs)])
    return Face(
        filename=filename,
        postscript_name=(font["name"].getDebugName(6) or path.stem).replace(" ", ""),
        cmap={code: int(name[1:]) for code, name in font.getBestCmap().items()},
        advances=advances,
        ascent=round(font["hhea"].ascent * scale),
        descent=round(font["hhea"].descent * scale),
        cap_height=round(getattr(os2, "sCapHeight", 0) * scale or font["hhea"].ascent * scale),
        bbox=(
            round(head.xMin * scale),
            round(head.yMin * scale),
            round(head.xMax * scale),
            round(head.yMax * scale),
        ),
        tables=tables,
    )


@functools.cache
def primary(style: str) -> Face:
    return load_face(_CHAINS[style][0])


def face_for(style: str, char: str) -> Face:
    """The font that draws ``char`` in ``style``: the first that has it, else the
    primary font (which draws its .notdef box, see ``missing_glyphs``)."""
    first = primary(style)
    code = ord(char)
    if code in first.cmap:
        return first
    for name in _CHAINS[style][1:]:  # loaded one by one, when first needed
        face = load_face(name)
        if code in face.cmap:
            return face
    return first


# --- per document ---------------------------------------------------------------------


@dataclass(eq=False)
class DocumentFont:
    """One font as one document uses it: CID n draws ``gids[n]`` of ``face``."""

    face: Face
    number: int  # the PDF resource name is /F<number>
    gids: list[int] = field(default_factory=lambda: [0])
    texts: list[str] = field(default_factory=lambda: [""])  # what each CID means
    # code point -> its CID as 4 hex digits: a str.translate table (C speed, thousands
    # of strings per long statement).
    hex_of: dict[int, str] = field(default_factory=dict)

    def encode(self, text: str) -> str:
        """``text`` as a PDF hex string of 2-byte CIDs, e.g. ``<00010002>``."""
        hex_of = self.hex_of
        if not hex_of.keys() >= set(map(ord, text)):
            for char in text:
                if ord(char) not in hex_of:
                    hex_of[ord(char)] = f"{len(self.gids):04X}"
                    self.gids.append(self.face.glyph(ord(char)))
                    self.texts.append(char)
        return "<" + text.translate(hex_of) + ">"

    def widths(self) -> list[int]:
        """Advance width of each CID, in 1/1000 em."""
        advances = self.face.advances
        return [advances[g] if g < len(advances) else advances[-1] for g in self.gids]


class DocumentFonts:
    """The fonts one document draws with, handed out as it needs them."""

    def __init__(self) -> None:
        self.by_face: dict[str, DocumentFont] = {}
        self._widths: dict[tuple[str, str], float] = {}

    def font(self, face: Face) -> DocumentFont:
        found = self.by_face.get(face.filename)
        if found is None:
            found = self.by_face[face.filename] = DocumentFont(face, len(self.by_face) + 1)
        return found

    def runs(self, style: str, text: str) -> Iterator[tuple[DocumentFont, str]]:
        """``text`` cut into pieces that one font draws."""
        first = primary(style)
        if first.advance_of.keys() >= set(text):  # the common case: one run
            yield self.font(first), text
            return
        start, current = 0, face_for(style, text[0]) if text else first
        for i, char in enumerate(text):
            face = face_for(style, char)
            if face is not current:
                yield self.font(current), text[start:i]
                start, current = i, face
        yield self.font(current), text[start:]

    def width(self, style: str, text: str) -> float:
        """Advance width of ``text`` in 1/1000 em (no kerning, as it is drawn)."""
        key = (style, text)
        units = self._widths.get(key)
        if units is None:
            first = primary(style)
            try:
                units = float(sum([first.advance_of[c] for c in text]))
            except KeyError:
                units = self._slow_width(style, text)
            self._widths[key] = units
        return units

    def _slow_width(self, style: str, text: str) -> float:
        """Width of text that needs a fallback font (or has characters no font has)."""
        units = 0.0
        first = primary(style)
        for char in text:
            face = first if ord(char) in first.cmap else face_for(style, char)
            gid = face.glyph(ord(char))
            units += face.advances[gid] if gid < len(face.advances) else face.advances[-1]
        return units


# --- the TrueType subsetter -----------------------------------------------------------

# What a TrueType program embedded in a PDF needs (PDF 32000-1 §9.9: no "cmap" for a
# CIDFontType2), plus OS/2 and a glyph-name-free "post" that font sanitisers like to see.
_KEEP_IF_PRESENT = (b"cvt ", b"fpgm", b"prep", b"OS/2")
_ARG_WORDS, _HAS_SCALE, _MORE, _XY_SCALE, _TWO_BY_TWO = 0x1, 0x8, 0x20, 0x40, 0x80


class TrueTypeTables:
    """The raw tables of one TrueType font and the byte range of each glyph."""

    def __init__(self, data: bytes) -> None:
        num_tables = struct.unpack_from(">H", data, 4)[0]
        self.tables: dict[bytes, bytes] = {}
        for i in range(num_tables):
            tag, _, offset, length = struct.unpack_from(">4sIII", data, 12 + 16 * i)
            self.tables[tag] = data[offset : offset + length]
        head, maxp, hhea = self.tables[b"head"], self.tables[b"maxp"], self.tables[b"hhea"]
        self.num_glyphs: int = struct.unpack_from(">H", maxp, 4)[0]
        self.num_hmetrics: int = struct.unpack_from(">H", hhea, 34)[0]
        long_loca = struct.unpack_from(">h", head, 50)[0] == 1
        loca = array("I" if long_loca else "H", self.tables[b"loca"])
        if sys.byteorder == "little":
            loca.byteswap()
        self.loca = list(loca) if long_loca else [2 * x for x in loca]
        self.glyf = self.tables[b"glyf"]
        post = self.tables.get(b"post", b"")
        # post format 3.0: the same header, no glyph names.
        self.post = b"\x00\x03\x00\x00" + post[4:32] if len(post) >= 32 else b""

    def advances(self) -> list[int]:
        """Advance width of every glyph, in font units."""
        hmtx, nhm = self.tables[b"hmtx"], self.num_hmetrics
        words = array("H", hmtx[: 4 * nhm])
        if sys.byteorder == "little":
            words.byteswap()
        widths = list(words[0::2])
        return widths + [widths[-1]] * (self.num_glyphs - nhm)

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
        """``gids`` in their order, then the components they use (recursively) that are
        not among them yet."""
        order = [g if 0 <= g < self.num_glyphs else 0 for g in gids]
        seen = set(order)
        todo = list(order)
        while todo:
            for _, component in self._components(todo.pop()):
                if component < self.num_glyphs and component not in seen:
                    seen.add(component)
                    order.append(component)
                    todo.append(component)
        return order

    def subset(self, keep: Sequence[int]) -> bytes:
        """A font program whose glyph n is glyph ``keep[n]`` (``keep`` from ``closure``)."""
        new_id: dict[int, int] = {}
        for new, old in enumerate(keep):
            new_id.setdefault(old, new)
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


def _checksum(data: bytes) -> int:
    padded = data + b"\0" * (-len(data) % 4)
    words = array("I", padded)
    if sys.byteorder == "little":
        words.byteswap()
    return sum(words) & 0xFFFFFFFF


def _assemble(tables: dict[bytes, bytes]) -> bytes:
    """An sfnt file from its tables (directory sorted by tag, checksums set)."""
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


def subset_tag(gids: Sequence[int]) -> str:
    """Six capitals naming a subset (PDF 32000-1 §9.6.4), stable for the same glyphs."""
    digest = hashlib.sha256(array("I", gids).tobytes()).digest()
    return "".join(chr(65 + b % 26) for b in digest[:6])
