"""An organisation's logo: what is accepted, before it is stored (docs/documents.md "Logo").

A logo is printed on every statement's masthead, so it is checked once, when it is set
(``psa-billing org set --logo FILE``), not at billing time: a PNG or JPEG that Pillow
decodes whole and fpdf2 embeds, small enough that a 1-page PDF stays well under its
100 KB budget (the image is embedded as it is, not re-encoded), with sensible pixel
dimensions. Pillow is what fpdf2 itself uses to read images.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from typing import Final

from psa_billing.domain.errors import BillingError

MAX_BYTES: Final = 128 * 1024
MIN_PIXELS: Final = 16
MAX_PIXELS: Final = 4000
_TYPES: Final = {"PNG": ("image/png", "png"), "JPEG": ("image/jpeg", "jpg")}


class InvalidLogoError(BillingError):
    pass


@dataclass(frozen=True, slots=True)
class Logo:
    data: bytes
    content_type: str  # image/png | image/jpeg
    extension: str  # png | jpg
    width: int
    height: int

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def check_logo(data: bytes, *, name: str = "the logo") -> Logo:
    """The logo if it can go on a statement; else ``InvalidLogoError`` saying why
    (``name`` says which file)."""
    from PIL import Image, UnidentifiedImageError  # noqa: PLC0415 (only org set needs it)

    if not data:
        raise InvalidLogoError(f"{name}: the file is empty")
    if len(data) > MAX_BYTES:
        raise InvalidLogoError(
            f"{name}: {len(data):,} bytes is too large; at most {MAX_BYTES:,} bytes "
            "(it is embedded in every statement PDF as it is)"
        )
    try:
        with Image.open(io.BytesIO(data)) as img:
            kind, (width, height) = img.format or "", img.size
            frames = getattr(img, "n_frames", 1)
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise InvalidLogoError(f"{name}: not a PNG or JPEG image ({exc})") from None
    if kind not in _TYPES:
        raise InvalidLogoError(f"{name}: a {kind or 'unknown'} image; use PNG or JPEG")
    if frames != 1:
        raise InvalidLogoError(f"{name}: an animated image; use a still PNG or JPEG")
    for side, pixels in (("width", width), ("height", height)):
        if not MIN_PIXELS <= pixels <= MAX_PIXELS:
            raise InvalidLogoError(
                f"{name}: {side} {pixels} px; must be from {MIN_PIXELS} to {MAX_PIXELS} px"
            )
    try:
        # Dimensions are checked first, so decoding cannot be a decompression bomb.
        with Image.open(io.BytesIO(data)) as img:
            img.load()  # a truncated or corrupt file fails here
        _embeds(data)
    except Exception as exc:  # Pillow and fpdf2 raise many types for a broken image
        raise InvalidLogoError(f"{name}: the image cannot be read whole ({exc})") from None
    content_type, extension = _TYPES[kind]
    return Logo(data, content_type, extension, width, height)


def _embeds(data: bytes) -> None:
    """fpdf2 accepts it (it has its own PNG reader): place it on a throwaway page."""
    from fpdf import FPDF  # noqa: PLC0415

    pdf = FPDF()
    pdf.add_page()
    pdf.image(io.BytesIO(data), x=10, y=10, w=50, h=18, keep_aspect_ratio=True)
    pdf.output()
