"""The Billing tab, /billing and the InvoiceNinja connection tester, clicked in Chromium
against the local stack and the InvoiceNinja stand-in.

The KPIs are checked against what the stand-in holds (its own records: active rows
only, cancelled and reversed invoices not counted, per client currency), not against
figures written into the test."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from psa_billing.domain.money import Currency, format_amount
from psa_billing.render.formatting import formatter
from psa_billing_dev.invoiceninja_standin import _CODE_OF
from tests.browser.conftest import Demo
from tests.browser.harness import assert_accessible, capture, screenshots_dir

pytestmark = pytest.mark.browser

LOCALE = "en-GB"  # the demo organisation's locale (no default_locale set: the portal's)


def _active(records: dict[int, dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in records.values() if not r["is_deleted"] and not r["archived_at"]]


def expected_kpis(state: Any) -> dict[str, dict[str, str]]:
    """Per currency, the five KPI figures as the page must show them."""
    sums: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for kind, records in (("invoice", state.invoices), ("quote", state.quotes)):
        for r in _active(records):
            client = state.clients[r["_client_n"]]
            code = _CODE_OF[client["settings"]["currency_id"]]
            s = sums[code]
            if kind == "quote":
                s["quote-count"] += 1
                s["quote-total"] += Decimal(r["amount"])
            elif r["status_id"] not in ("5", "6"):  # cancelled and reversed are void
                s["invoice-count"] += 1
                s["invoice-total"] += Decimal(r["amount"])
                s["outstanding"] += Decimal(r["balance"])
    out = {}
    for code, s in sums.items():
        f = formatter(LOCALE, code)
        out[code] = {
            "invoice-count": str(int(s["invoice-count"])),
            "invoice-total": f.money(s["invoice-total"]),
            "outstanding": f.money(s["outstanding"]),
            "quote-count": str(int(s["quote-count"])),
            "quote-total": f.money(s["quote-total"]),
        }
    return out


def _shown_kpis(page: Any) -> dict[str, dict[str, str]]:
    shown: dict[str, dict[str, str]] = {}
    for group in page.locator("section.kpi-group").all():
        code = group.locator("h2").inner_text().strip()
        shown[code] = {
            el.get_attribute("data-kpi"): el.inner_text().strip()
            for el in group.locator("[data-kpi]").all()
        }
    return shown


def _shot(page: Any, name: str) -> None:
    out = screenshots_dir()
    if out is not None:
        capture(page, name, out)


# -- the Billing tab ---------------------------------------------------------------------


def test_billing_settings_one_invalid_value_then_a_valid_one(
    signed_in: Callable[..., Any], demo: Demo, access: Any
) -> None:
    customer_id = demo.customer_ids[1]
    before = access.get_customer(demo.org_id, customer_id)
    cur = Currency.of(before.billing.currency)
    page = signed_in("ADMIN")
    page.goto(f"/customers/{customer_id}/billing?org={demo.org_id}")
    assert page.get_by_role("heading", level=1).inner_text() == before.name

    rate = page.get_by_label(re.compile(r"^Per-device rate"))
    rate.fill("twelve")
    with page.expect_navigation():
        page.get_by_role("button", name="Save billing settings").click()
    error = page.locator("#f-perDeviceRate-error")
    assert "decimal" in error.inner_text()
    assert rate.get_attribute("aria-invalid") == "true"
    assert rate.input_value() == "twelve"  # what was typed stays
    assert page.get_by_role("alert").count() >= 1
    assert access.get_customer(demo.org_id, customer_id) == before  # nothing saved
    assert_accessible(page)
    _shot(page, "customer-billing-invalid")

    new_rate = format_amount(before.billing.per_device_rate + Decimal("1.5"), cur)
    rate.fill(new_rate)
    with page.expect_navigation():
        page.get_by_role("button", name="Save billing settings").click()
    assert "saved=1" in page.url
    assert page.get_by_role("status").filter(has_text="Billing settings saved.").count() == 1
    assert page.locator("#f-perDeviceRate-error").count() == 0
    after = access.get_customer(demo.org_id, customer_id)
    assert format_amount(after.billing.per_device_rate, cur) == new_rate
    history = page.locator("table tbody tr").first
    assert "Per-device rate:" in history.inner_text()
    assert history.locator("time").count() == 1
    assert_accessible(page)
    _shot(page, "customer-billing-saved")


def test_the_billing_tab_is_usable_with_the_keyboard(
    signed_in: Callable[..., Any], demo: Demo
) -> None:
    page = signed_in("OWNER")
    page.goto(f"/customers/{demo.customer_ids[2]}/billing?org={demo.org_id}")
    page.get_by_label(re.compile(r"^Per-device rate")).focus()
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.id")
    assert focused == "f-defaultHourlyRate"


# -- /billing ----------------------------------------------------------------------------


def test_the_kpis_and_rows_equal_the_stand_ins_data(
    signed_in: Callable[..., Any], demo: Demo, invoiceninja: Any
) -> None:
    page = signed_in("ADMIN")
    page.goto(f"/billing?org={demo.org_id}")
    expected = expected_kpis(invoiceninja.state)
    assert len(expected) >= 2  # the demo bills in several currencies: never added up
    assert _shown_kpis(page) == expected

    active = _active(invoiceninja.state.invoices)
    rows = page.locator("table tbody tr")
    assert rows.count() == len(active)
    shown = page.locator("tbody td[data-label=Number] a").all_text_contents()
    assert sorted(t.split(" (opens")[0].strip() for t in shown) == sorted(
        r["number"] for r in active
    )
    # Number and "Open in IN" go to InvoiceNinja's edit page; mapped customers and
    # project references go to the portal.
    first = rows.first
    edit = first.locator("td").first.locator("a").get_attribute("href")
    assert edit and edit.startswith(invoiceninja.url) and edit.endswith("/edit")
    assert first.get_by_role("link", name=re.compile(r"^Open in IN")).get_attribute("href") == edit
    customers = page.locator("td[data-label=Customer] a")
    assert customers.count() > 0
    assert all(
        re.fullmatch(r"/customers/cust-\d{4}/billing\?org=demo-msp", h or "")
        for h in (customers.nth(i).get_attribute("href") for i in range(customers.count()))
    )
    refs = page.locator("td[data-label=Reference] a")
    assert refs.count() > 0
    assert all(
        (refs.nth(i).get_attribute("href") or "").startswith("/projects/")
        for i in range(refs.count())
    )
    # Walk-in Repairs is in InvoiceNinja only: shown by name, not linked.
    walk_in = page.locator("tr", has_text="Walk-in Repairs").first
    assert walk_in.locator("td[data-label=Customer] a").count() == 0


def test_the_quotes_toggle_is_a_plain_link(
    signed_in: Callable[..., Any], demo: Demo, invoiceninja: Any
) -> None:
    page = signed_in("ADMIN")
    page.goto(f"/billing?org={demo.org_id}")
    invoices_tab = page.get_by_role("link", name="Invoices", exact=True)
    assert invoices_tab.get_attribute("aria-current") == "page"
    with page.expect_navigation():
        page.get_by_role("link", name="Quotes", exact=True).click()
    assert "type=quotes" in page.url
    assert (
        page.get_by_role("link", name="Quotes", exact=True).get_attribute("aria-current") == "page"
    )
    assert page.locator("table tbody tr").count() == len(_active(invoiceninja.state.quotes))
    assert _shown_kpis(page) == expected_kpis(invoiceninja.state)  # KPIs cover both kinds


def test_not_configured_shows_the_connect_prompt(
    signed_in: Callable[..., Any], demo: Demo, invoiceninja_as: Callable[[str], None]
) -> None:
    invoiceninja_as("not_configured")
    page = signed_in("ADMIN")
    page.goto(f"/billing?org={demo.org_id}")
    link = page.get_by_role("link", name="Connect InvoiceNinja")
    assert link.get_attribute("href") == f"/admin/integrations/invoiceninja?org={demo.org_id}"
    assert page.locator("table").count() == 0
    with page.expect_navigation():
        link.click()
    assert page.locator(".badge").first.inner_text() == "Not configured"


def test_invoiceninja_down_still_renders_the_page_with_the_reason(
    signed_in: Callable[..., Any], demo: Demo, invoiceninja_as: Callable[[str], None]
) -> None:
    invoiceninja_as("unreachable")
    page = signed_in("ADMIN")
    response = page.goto(f"/billing?org={demo.org_id}")
    assert response is not None and response.status == 200
    alert = page.get_by_role("alert")
    assert "InvoiceNinja did not answer" in alert.inner_text()
    assert "refused" in alert.inner_text().lower() or "reach" in alert.inner_text().lower()
    assert page.get_by_role("navigation", name="Main").count() == 1  # the page around it


def test_without_the_projects_feature_billing_says_so_and_the_nav_hides_it(
    signed_in: Callable[..., Any], demo: Demo, access: Any
) -> None:
    from psa_billing.web.deps import forget_org

    access.put_org_features(demo.org_id, {"projects": False}, "browser test")
    forget_org(demo.org_id)
    try:
        page = signed_in("OWNER")
        response = page.goto(f"/billing?org={demo.org_id}")
        assert response is not None and response.status == 403
        assert "projects feature" in page.inner_text("main")
        assert page.get_by_role("link", name="Invoices & quotes").count() == 0
        assert_accessible(page)
    finally:
        access.put_org_features(demo.org_id, {"projects": True}, "browser test")
        forget_org(demo.org_id)


def test_a_technician_is_refused_billing_and_the_nav_hides_it(
    signed_in: Callable[..., Any], demo: Demo
) -> None:
    page = signed_in("TECHNICIAN")
    response = page.goto(f"/billing?org={demo.org_id}")
    assert response is not None and response.status == 403
    assert "billing access" in page.inner_text("main")
    assert page.get_by_role("link", name="Invoices & quotes").count() == 0


def test_another_organisations_customer_is_not_found(
    signed_in: Callable[..., Any], demo: Demo
) -> None:
    page = signed_in("OUTSIDER")
    response = page.goto(f"/customers/{demo.customer_id}/billing")
    assert response is not None and response.status == 404
    assert "Not found" in page.inner_text("main")


# -- the connection tester ---------------------------------------------------------------


def test_the_connection_tester_shows_each_state_and_re_tests(
    signed_in: Callable[..., Any],
    demo: Demo,
    invoiceninja: Any,
    invoiceninja_as: Callable[[str], None],
) -> None:
    page = signed_in("ADMIN")
    url = f"/admin/integrations/invoiceninja?org={demo.org_id}"
    page.goto(url)
    assert page.locator(".badge").first.inner_text() == "Connected"
    assert page.locator("[data-testid=company]").inner_text() == invoiceninja.state.company_name
    assert invoiceninja.token not in page.content()

    invoiceninja_as("bad_token")
    with page.expect_navigation():
        page.get_by_role("button", name="Re-test connection").click()
    assert page.locator(".badge").first.inner_text() == "Configured but unreachable"
    assert "token" in page.locator("[data-testid=problem]").inner_text().lower()
    assert invoiceninja.token not in page.content()

    invoiceninja_as("unreachable")
    with page.expect_navigation():
        page.get_by_role("button", name="Re-test connection").click()
    assert page.locator(".badge").first.inner_text() == "Configured but unreachable"
    assert page.locator("[data-testid=problem]").inner_text()

    invoiceninja_as("not_configured")
    with page.expect_navigation():
        page.get_by_role("button", name="Re-test connection").click()
    assert page.locator(".badge").first.inner_text() == "Not configured"
    assert f"org={demo.org_id}" in page.url  # the re-test keeps the organisation

    invoiceninja_as("connected")
    with page.expect_navigation():
        page.get_by_role("button", name="Re-test connection").click()
    assert page.locator(".badge").first.inner_text() == "Connected"
