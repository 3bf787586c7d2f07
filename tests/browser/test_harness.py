"""The browser harness itself: Chromium reaches the local API, the people of each role
sign in with a computed TOTP code, the demo organisation is billed and InvoiceNinja's
stand-in answers for it, the axe-core check fails on what it must fail on, and the
screenshots come out at both widths."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import Demo
from tests.browser.harness import (
    WIDTHS,
    User,
    assert_accessible,
    axe_violations,
    capture,
    fresh_code,
    png_size,
)

pytestmark = pytest.mark.browser

STRICT_CSP = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'"


def _serve(page: Any, path: str, html: str) -> None:
    """Answer ``path`` in the browser itself (Playwright routing), with a strict CSP."""
    page.route(
        f"**{path}",
        lambda route: route.fulfill(
            status=200,
            content_type="text/html; charset=utf-8",
            headers={"content-security-policy": STRICT_CSP},
            body=html,
        ),
    )


GOOD = """<!doctype html><html lang="en"><head><title>Probe</title></head>
<body><main><h1>Probe</h1><form><label for="e">Email</label>
<input id="e" type="email" name="email"><button type="submit">Go</button></form>
</main></body></html>"""

BAD = """<!doctype html><html lang="en"><head><title>Probe</title></head>
<body><main><h1>Probe</h1><img src="/x.png"><input type="text" name="nolabel">
</main></body></html>"""


def test_chromium_opens_the_local_api(page: Any) -> None:
    response = page.goto("/api/health")
    assert response is not None and response.status == 200
    assert '"ok"' in page.content() or "ok" in page.inner_text("body")


def test_a_person_of_each_role_signs_in_with_the_current_code(
    page: Any, users: dict[str, User]
) -> None:
    for user in users.values():
        resp = page.request.post(
            "/api/auth/login",
            data={"email": user.email, "password": user.password, "mfaCode": fresh_code()},
        )
        assert resp.status == 200, (user.role, resp.text())
        assert resp.json()["accessToken"]


def test_a_wrong_code_is_refused(page: Any, users: dict[str, User]) -> None:
    user = users["OWNER"]
    wrong = f"{(int(fresh_code()) + 1) % 1_000_000:06d}"
    resp = page.request.post(
        "/api/auth/login",
        data={"email": user.email, "password": user.password, "mfaCode": wrong},
    )
    assert resp.status == 401


def test_the_demo_is_billed_and_invoiceninja_answers_for_it(
    page: Any, users: dict[str, User], demo: Demo, invoiceninja: Any
) -> None:
    assert demo.statement_ids and demo.period
    user = users["ADMIN"]
    tokens = page.request.post(
        "/api/auth/login",
        data={"email": user.email, "password": user.password, "mfaCode": fresh_code()},
    ).json()
    resp = page.request.get(
        f"/api/billing/invoices?orgId={demo.org_id}",
        headers={"authorization": f"Bearer {tokens['accessToken']}"},
    )
    assert resp.status == 200, resp.text()
    body = resp.json()
    assert body["state"] == "ok"
    active = [
        d
        for d in invoiceninja.state.invoices.values()
        if not d.get("is_deleted") and not d.get("archived_at")
    ]
    assert len(body["rows"]) == len(active) > 0


def test_the_accessibility_check_fails_on_serious_violations(page: Any) -> None:
    _serve(page, "/axe-probe-bad", BAD)
    page.goto("/axe-probe-bad")
    found = {v["id"]: v["impact"] for v in axe_violations(page)}
    assert found.get("image-alt") == "critical"
    with pytest.raises(AssertionError, match="image-alt"):
        assert_accessible(page)


def test_the_accessibility_check_passes_a_labelled_page_under_a_strict_csp(page: Any) -> None:
    _serve(page, "/axe-probe-good", GOOD)
    page.goto("/axe-probe-good")
    assert_accessible(page)


def test_screenshots_are_written_at_both_widths(page: Any, tmp_path: Path) -> None:
    _serve(page, "/shot-probe", GOOD)
    page.goto("/shot-probe")
    written = capture(page, "probe", tmp_path)
    assert [p.name for p in written] == [f"probe-{w}.png" for w in WIDTHS.values()]
    assert [png_size(p)[0] for p in written] == list(WIDTHS.values())
    assert page.viewport_size == {"width": 1280, "height": 900}
