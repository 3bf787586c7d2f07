"""What the browser tests share besides fixtures: how Chromium is started, how a person
signs in (with a TOTP code computed the way an authenticator app computes it), the
axe-core check, and the screenshots of each page at the two widths the portal must read
well at (docs/portal.md).

Chromium is Debian's (/usr/bin/chromium, installed by .ci/run); Playwright only drives
it, through ``executable_path``, because Playwright's own browser download is not used.
"""

from __future__ import annotations

import os
import struct
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from psa_billing.auth import totp

CHROMIUM_ENV: Final = "PSA_BILLING_CHROMIUM"
DEFAULT_CHROMIUM: Final = "/usr/bin/chromium"
SCREENSHOTS_ENV: Final = "PSA_BILLING_SCREENSHOTS"

# Headless, as root in a container, on a machine whose network is closed: without the
# background-networking flags Chromium keeps trying (and failing) to reach Google.
CHROMIUM_ARGS: Final = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)

# The widths every page must read well at: a laptop, and a phone (390 px, iPhone 12-15).
WIDTHS: Final = {"desktop": 1280, "phone": 390}
HEIGHTS: Final = {"desktop": 900, "phone": 844}

# axe-core impacts that fail a page (minor and moderate ones are printed, not failed).
FAILING_IMPACTS: Final = frozenset({"serious", "critical"})


def chromium_path() -> str:
    path = os.environ.get(CHROMIUM_ENV, DEFAULT_CHROMIUM)
    if not Path(path).is_file():
        raise FileNotFoundError(
            f"no Chromium at {path}: install Debian's (apt-get install -y chromium; "
            f".ci/run does) or set {CHROMIUM_ENV} to another Chromium"
        )
    return path


# -- signing in ------------------------------------------------------------------------


@dataclass(frozen=True)
class User:
    """A person who can sign in: a Cognito user with TOTP enrolled, a member of
    ``org_id`` as ``role`` (made as ``psa-billing users add`` makes one)."""

    email: str
    password: str
    sub: str
    org_id: str
    role: str


def fresh_code() -> str:
    """The current 6-digit code of the local pool's authenticator secret (moto gives
    every user the same one; ``psa-billing users code`` prints it). moto checks the
    code against the current 30 s step only, so never hand out one about to expire."""
    from psa_billing_dev.local.cognito import local_totp_secret

    if totp.seconds_left() <= 3:
        time.sleep(totp.seconds_left() + 0.2)
    return totp.current_code(local_totp_secret())


def sign_in(page: Any, user: User, *, next_path: str | None = None) -> None:
    """Sign in through the portal's sign-in page, as a person would: the standard inputs
    (email, password, the one-time code), then the submit button. Waits until the
    browser has left the sign-in page; the session is then in the context's cookies."""
    target = "/signin" if next_path is None else f"/signin?next={next_path}"
    page.goto(target)
    page.locator("input[type=email]").fill(user.email)
    page.locator("input[type=password]").fill(user.password)
    page.locator("input[autocomplete=one-time-code]").fill(fresh_code())
    with page.expect_navigation():
        page.locator("form button[type=submit]").first.click()
    if "/signin" in page.url.split("?", 1)[0]:
        message = page.locator("[role=alert]").all_inner_texts()
        raise AssertionError(f"sign-in as {user.email} did not succeed: {message}")


# -- accessibility ---------------------------------------------------------------------


def axe_violations(page: Any) -> list[dict[str, Any]]:
    """Every axe-core violation on the page as it is now (axe.min.js bundled by
    axe-playwright-python, injected through the DevTools protocol, so the page's own
    Content-Security-Policy stays as the server sent it)."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return list(results.response.get("violations", []))


def describe(violations: list[dict[str, Any]]) -> str:
    lines = []
    for v in violations:
        lines.append(f"[{v.get('impact')}] {v.get('id')}: {v.get('help')} ({v.get('helpUrl')})")
        for node in v.get("nodes", [])[:5]:
            lines.append(f"    {' '.join(node.get('target', []))}: {node.get('html', '')[:160]}")
    return "\n".join(lines)


def assert_accessible(page: Any) -> None:
    """Fail on any serious or critical axe-core violation, printing all of them."""
    violations = axe_violations(page)
    if violations:
        print(f"axe-core on {page.url}:\n{describe(violations)}")
    failing = [v for v in violations if v.get("impact") in FAILING_IMPACTS]
    assert not failing, f"axe-core: serious or critical violations on {page.url}:\n" + describe(
        failing
    )


# -- screenshots -----------------------------------------------------------------------


def screenshots_dir() -> Path | None:
    """Where `make screenshots` wants the PNGs (None in an ordinary test run)."""
    value = os.environ.get(SCREENSHOTS_ENV)
    return Path(value) if value else None


def capture(page: Any, name: str, out: Path) -> list[Path]:
    """``out/NAME-1280.png`` and ``out/NAME-390.png``: the whole page at each width.
    The viewport is put back afterwards."""
    out.mkdir(parents=True, exist_ok=True)
    before = page.viewport_size
    written = []
    try:
        for kind, width in WIDTHS.items():
            page.set_viewport_size({"width": width, "height": HEIGHTS[kind]})
            path = out / f"{name}-{width}.png"
            page.screenshot(path=str(path), full_page=True, animations="disabled")
            written.append(path)
    finally:
        if before:
            page.set_viewport_size(before)
    return written


def png_size(path: Path) -> tuple[int, int]:
    """(width, height) from a PNG's IHDR chunk."""
    head = path.read_bytes()[:24]
    if head[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError(f"{path} is not a PNG")
    width, height = struct.unpack(">II", head[16:24])
    return int(width), int(height)
