"""Each portal page (tests/browser/pages.py) in Chromium: no serious or critical
axe-core violation, no script or CSP error; under `make screenshots`, its PNGs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.browser.conftest import Demo
from tests.browser.harness import assert_accessible, capture, screenshots_dir
from tests.browser.pages import PAGES, PortalPage

pytestmark = pytest.mark.browser


def page_url(p: PortalPage, demo: Demo) -> str:
    return p.path.format(
        org=demo.org_id,
        customer=demo.customer_id,
        statement=demo.statement_id,
        period=demo.period,
        run=demo.run_id,
    )


@pytest.mark.parametrize("portal_page", PAGES, ids=[p.name for p in PAGES])
def test_every_page_is_accessible_without_script_errors(
    portal_page: PortalPage,
    page: Any,
    page_errors: list[str],
    signed_in: Callable[..., Any],
    invoiceninja_as: Callable[[str], None],
    demo: Demo,
) -> None:
    invoiceninja_as(portal_page.invoiceninja)
    if portal_page.role is not None:
        signed_in(portal_page.role)
    response = page.goto(page_url(portal_page, demo))
    assert response is not None and response.status < 500, response and response.status
    page.locator(portal_page.ready).first.wait_for()
    assert_accessible(page)
    assert page_errors == []
    out = screenshots_dir()
    if out is not None:
        capture(page, portal_page.name, out)
