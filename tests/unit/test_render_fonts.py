"""Which characters the PDF can draw (render.fonts): every script the issue names has real
glyphs; Arabic, Hebrew and characters no shipped font has are reported, never sent."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace

import pytest

from psa_billing.domain.errors import BillingError
from psa_billing.render import samples
from psa_billing.render.fonts import MissingGlyphsError, check_glyphs, missing_glyphs
from psa_billing.render.view import CoveredTime, OrgView

SCRIPTS = {
    "vietnamese": "Công ty TNHH Nguyễn Thị Minh Khai, Hồ Chí Minh",
    "polish": "Zażółć gęślą jaźń — Łódź",
    "turkish": "İstanbul Şişli Ağ Güvenliği ıİğĞşŞ",
    "greek": "Ελληνικά: Αθήνα, Θεσσαλονίκη",
    "cyrillic": "Русский — Москва; Україна — Київ; Български",
    "chinese": "北京科技有限公司 上海办事处 繁體中文",
    "japanese": "株式会社ケストレル ひらがな カタカナ",
    "korean": "서울 테크 주식회사 세종대로",
}


@pytest.mark.parametrize("script", sorted(SCRIPTS))
def test_every_named_script_has_real_glyphs(script: str) -> None:
    view = replace(samples.no_logo(), customer_name=SCRIPTS[script])
    assert missing_glyphs(view) == frozenset()
    check_glyphs(view)  # does not raise


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("شركة البحرين", set("شركةالبحرين")),  # Arabic: not shaped here, so reported
        ("חברה בע״מ", set("חברהבעמ")),  # Hebrew
        ("Smile \U0001fae0", {"\U0001fae0"}),  # in no shipped font
        ("नमस्ते", set("नमस्ते")),  # Devanagari: not shipped (it needs shaping too)
    ],
)
def test_unsupported_characters_are_reported(text: str, expected: set[str]) -> None:
    view = replace(samples.no_logo(), customer_name=text)
    assert expected <= missing_glyphs(view)
    with pytest.raises(MissingGlyphsError) as caught:
        check_glyphs(view)
    assert isinstance(caught.value, BillingError)
    assert "U+" in str(caught.value) and caught.value.chars == missing_glyphs(view)


def test_every_printed_field_is_checked() -> None:
    base = samples.no_logo()
    bad = "\U0001f4a5"
    ln = base.lines[3]
    variants = [
        replace(base, org=replace(base.org, footer_note=bad)),
        replace(base, org=replace(base.org, payment_instructions=bad)),
        replace(base, org=OrgView(bad, ())),
        replace(base, customer_address_lines=(bad,)),
        replace(base, customer_tax_id=bad),
        replace(base, number=bad),
        replace(base, lines=(replace(ln, description=bad),)),
        replace(base, lines=(replace(ln, covered=(CoveredTime(bad, 5),)),)),
    ]
    for view in variants:
        assert missing_glyphs(view) == {bad}


def test_a_latin_statement_never_loads_the_cjk_fonts() -> None:
    code = (
        "import json; from psa_billing.render import samples, fonts;"
        "from psa_billing.render.pdf import render_statement_pdf;"
        "v = samples.no_logo(); fonts.missing_glyphs(v); render_statement_pdf(v);"
        "print(json.dumps(fonts.load_face.cache_info().currsize))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == 2  # DejaVu Sans and DejaVu Sans Bold


def test_decomposed_vietnamese_is_composed_before_drawing() -> None:
    import io
    import unicodedata

    from pypdf import PdfReader

    from psa_billing.render.pdf import render_statement_pdf

    name = unicodedata.normalize("NFD", "Nguyễn Thị Minh Khai")
    view = replace(samples.no_logo(), customer_name=name)
    assert missing_glyphs(view) == frozenset()
    text = PdfReader(io.BytesIO(render_statement_pdf(view))).pages[0].extract_text()
    assert "Nguyễn Thị Minh Khai" in unicodedata.normalize("NFC", text)
