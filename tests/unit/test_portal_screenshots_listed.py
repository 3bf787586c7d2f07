"""Every portal page listed for the browser tests (tests/browser/pages.py) is shown in
the README at both widths, from the PNGs `make screenshots` writes."""

from __future__ import annotations

from pathlib import Path

from tests.browser.harness import WIDTHS
from tests.browser.pages import PAGES

ROOT = Path(__file__).resolve().parents[2]


def test_each_portal_page_has_its_screenshots_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    missing = [
        f"docs/screenshots/{p.name}-{w}.png"
        for p in PAGES
        for w in WIDTHS.values()
        if f"docs/screenshots/{p.name}-{w}.png" not in readme
    ]
    assert missing == [], "README.md does not show: " + ", ".join(missing)


def test_page_names_are_unique_file_stems() -> None:
    names = [p.name for p in PAGES]
    assert len(names) == len(set(names))
    assert all(n and n.replace("-", "").isalnum() for n in names)
