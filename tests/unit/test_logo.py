"""An organisation's logo is checked when it is set (docs/documents.md "Logo"): a still
PNG or JPEG, small enough, with sensible dimensions, that decodes whole and embeds; and
the settings name it by its content."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from psa_billing.dal.keys import logo_key
from psa_billing.domain.errors import InvalidSettingsError
from psa_billing.domain.org import new_org_settings, update_org_settings
from psa_billing.render import samples
from psa_billing.render.logo import MAX_BYTES, InvalidLogoError, check_logo


def image(fmt: str, size: tuple[int, int] = (120, 40), **save: object) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (20, 80, 160)).save(out, format=fmt, **save)
    return out.getvalue()


def test_png_and_jpeg_are_accepted_with_their_type_and_size() -> None:
    png = check_logo(samples.logo_png())
    assert (png.content_type, png.extension) == ("image/png", "png")
    jpeg = check_logo(image("JPEG"))
    assert (jpeg.content_type, jpeg.extension, jpeg.width, jpeg.height) == (
        "image/jpeg",
        "jpg",
        120,
        40,
    )


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty"),
        (b"GIF89a not really", "not a PNG or JPEG"),
        (b"%PDF-1.7 a document", "not a PNG or JPEG"),
        (image("GIF"), "use PNG or JPEG"),
        (image("PNG", (8, 40)), "width 8 px; must be from 16 to 4000 px"),
        (image("PNG", (120, 4001)), "height 4001 px"),
        (image("PNG")[:-60], "cannot be read whole"),
    ],
)
def test_a_logo_that_cannot_go_on_a_statement_is_refused_with_the_reason(
    data: bytes, reason: str
) -> None:
    with pytest.raises(InvalidLogoError) as caught:
        check_logo(data, name="logo.png")
    assert str(caught.value).startswith("logo.png: ")
    assert reason in str(caught.value)


def test_a_logo_too_large_for_every_pdf_to_carry_is_refused() -> None:
    noise = Image.effect_noise((400, 400), 100).convert("RGB")
    out = io.BytesIO()
    noise.save(out, format="PNG")
    assert len(out.getvalue()) > MAX_BYTES
    with pytest.raises(InvalidLogoError, match="too large"):
        check_logo(out.getvalue())


def test_an_animated_image_is_refused() -> None:
    frames = [Image.new("RGB", (40, 40), c) for c in ((255, 0, 0), (0, 255, 0))]
    out = io.BytesIO()
    frames[0].save(out, format="PNG", save_all=True, append_images=frames[1:])
    with pytest.raises(InvalidLogoError, match="animated"):
        check_logo(out.getvalue())


def test_settings_name_the_logo_by_its_content_under_the_organisation() -> None:
    logo = check_logo(samples.logo_png())
    name = f"{logo.sha256}.{logo.extension}"
    org = update_org_settings(new_org_settings("kw"), {"logo": name})
    assert org.logo == name
    assert logo_key("kw", name) == f"statements/kw/logo/{name}"
    # Other settings changes keep it; None removes it.
    assert update_org_settings(org, {"paymentTermsDays": 14}).logo == name
    assert update_org_settings(org, {"logo": None}).logo is None


def test_settings_refuse_a_logo_name_that_is_not_a_stored_logos() -> None:
    with pytest.raises(InvalidSettingsError, match="logo: must be a stored logo"):
        update_org_settings(new_org_settings("kw"), {"logo": "../../other-org/x.png"})
