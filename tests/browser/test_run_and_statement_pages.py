"""The monthly run and statement pages in Chromium, signed in as people sign in (the
form, a TOTP code computed from the secret): run a month and watch it finish, open a
statement, its PDF, adjust and re-send, send from the review queue; refused roles,
another organisation's statement, a form without its CSRF token."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

import pytest

from tests.browser.conftest import Demo
from tests.browser.harness import assert_accessible

pytestmark = pytest.mark.browser


def test_sign_in_lands_on_the_monthly_run_with_no_token_in_reach_of_script(
    page: Any, signed_in: Callable[..., Any], page_errors: list[str]
) -> None:
    signed_in("ADMIN")
    assert page.url.endswith("/admin/billing")
    assert page.locator("h1").inner_text() == "Monthly run"
    cookies = {c["name"]: c for c in page.context.cookies()}
    assert cookies["psa_access"]["httpOnly"] and cookies["psa_refresh"]["httpOnly"]
    assert cookies["psa_access"]["sameSite"] == "Lax"
    # Nothing of the session is readable by page script or kept in storage.
    assert page.evaluate("document.cookie") == ""
    assert (
        page.evaluate("Object.keys(localStorage).length + Object.keys(sessionStorage).length") == 0
    )
    assert page_errors == []


def test_wrong_details_give_one_clear_message(page: Any, users: dict[str, Any]) -> None:
    page.goto("/signin")
    page.locator("input[type=email]").fill(users["ADMIN"].email)
    page.locator("input[type=password]").fill("not-the-Password1")
    page.locator("input[autocomplete=one-time-code]").fill("123456")
    page.locator("form button[type=submit]").click()
    alert = page.locator("[role=alert]")
    assert alert.inner_text() == "Email, password or code is not correct. Check them and try again."
    assert_accessible(page)


def test_run_a_month_and_watch_it_finish(
    page: Any, signed_in: Callable[..., Any], demo: Demo
) -> None:
    from psa_billing.domain.model import Period

    signed_in("OWNER")
    page.goto("/admin/billing")
    month = page.locator("#run-period")
    assert month.input_value() == demo.period  # the previous month is preselected
    # The month before the demo's, never billed: its devices are.
    earlier = Period.parse(demo.period)
    earlier_text = str(
        Period(earlier.year - 1, 12)
        if earlier.month == 1
        else Period(earlier.year, earlier.month - 1)
    )
    month.fill(earlier_text)
    page.get_by_role("button", name="Run now").click()
    page.locator(".notice--success").wait_for()
    deadline = time.monotonic() + 180
    while page.locator('meta[http-equiv="refresh"]').count() and time.monotonic() < deadline:
        page.wait_for_timeout(1000)  # the page reloads itself every 3 s while running
    assert page.locator('meta[http-equiv="refresh"]').count() == 0
    done = int(page.locator("#progress-done").inner_text())
    total = int(page.locator("#progress-total").inner_text())
    assert done == total > 0
    assert page.locator("#progress-failed").inner_text() == "0"
    rows = page.locator("#statements tbody tr")
    assert 0 < rows.count() <= total
    assert rows.locator(".badge--billed").count() == rows.count()
    total_cell = rows.first.locator('td[data-label="Total"]')
    assert total_cell.evaluate("e => getComputedStyle(e).textAlign") == "right"
    assert re.match(r"^[0-9,]+\.[0-9]{2}", total_cell.inner_text())
    assert_accessible(page)


def test_open_a_statement_download_its_pdf_adjust_and_re_send(
    page: Any, signed_in: Callable[..., Any], demo: Demo
) -> None:
    signed_in("ADMIN")
    page.goto(f"/admin/billing?period={demo.period}")
    page.locator("#statements tbody tr").first.locator("td[data-label=Customer] a").click()
    page.locator("h1").wait_for()
    assert page.locator("h1").inner_text().startswith("Statement ")
    assert_accessible(page)
    sid = page.url.rsplit("/statements/", 1)[1].split("?", 1)[0]
    pdf = page.request.get(f"/statements/{sid}/pdf")
    assert pdf.status == 200 and pdf.body()[:4] == b"%PDF"
    before = page.locator("#statement-total").inner_text()
    # An invalid amount first: the API's rule, beside the field, what was typed kept.
    page.get_by_text("Add a credit note").click()
    page.locator("#credit-amount").fill("-3")
    page.locator("#credit-description").fill("Goodwill for the outage")
    page.locator("#credit-reason").fill("Outage on the 3rd")
    page.get_by_role("button", name="Add the credit note").click()
    error = page.locator("#credit-amount-error")
    assert "Enter an amount such as 12.50" in error.inner_text()
    assert page.locator("#credit-description").input_value() == "Goodwill for the outage"
    assert page.locator("#credit-amount").get_attribute("aria-invalid") == "true"
    assert_accessible(page)
    page.locator("#credit-amount").fill("5.00")
    page.get_by_role("button", name="Add the credit note").click()
    page.locator(".notice--success").wait_for()
    assert page.locator("#statement-total").inner_text() != before
    row = page.locator("#adjustments tbody tr").last
    assert row.locator("td[data-label=Why]").inner_text() == "Outage on the 3rd"
    assert "@demo-msp.example" in row.locator("td[data-label=Who]").inner_text()
    assert page.locator("#revisions a", has_text="Revision 1").count() == 1
    new_pdf = page.request.get(f"/statements/{sid}/pdf?revision=1")
    assert new_pdf.body()[:4] == b"%PDF"
    button = page.locator(".page-header form button[type=submit]")
    button.click()
    page.locator(".notice--success").wait_for()
    assert "emailed" in page.locator(".notice--success").inner_text()
    assert page.locator(".page-header form button[type=submit]").inner_text() == "Re-send"
    page.locator(".page-header form button[type=submit]").click()
    assert "emailed again" in page.locator(".notice--success").inner_text()


def test_send_from_the_review_queue(page: Any, signed_in: Callable[..., Any], demo: Demo) -> None:
    signed_in("OWNER")
    page.goto(f"/admin/billing?period={demo.period}&status=pending_review")
    rows = page.locator("#statements tbody tr")
    pending = rows.count()
    assert pending >= 2, "the demo leaves statements waiting for review"
    rows.first.get_by_role("button", name=re.compile("^Send")).click()
    page.locator(".notice--success").wait_for()
    page.goto(f"/admin/billing?period={demo.period}&status=pending_review")
    assert page.locator("#statements tbody tr").count() == pending - 1
    page.get_by_role("link", name="Send all pending review…").click()
    assert page.locator("h1").inner_text() == "Send the statements pending review?"
    assert_accessible(page)
    page.get_by_role("button", name=re.compile(r"^Send \d+ now$")).click()
    page.locator(".notice").first.wait_for()
    assert "Sent " in page.locator(".notice").first.inner_text()
    page.goto(f"/admin/billing?period={demo.period}&status=pending_review")
    assert page.locator("#statements tbody tr").count() == 0


def test_a_technician_is_refused_and_sees_no_billing_navigation(
    page: Any, signed_in: Callable[..., Any], demo: Demo
) -> None:
    signed_in("TECHNICIAN")
    assert page.locator("nav[aria-label=Main]").count() == 0
    response = page.goto(f"/statements/{demo.statement_id}")
    assert response.status == 403
    assert page.locator("h1").inner_text() == "You don't have billing access"
    response = page.goto("/admin/billing")
    assert response.status == 403
    assert_accessible(page)


def test_another_organisations_statement_is_not_found(
    page: Any, signed_in: Callable[..., Any], demo: Demo
) -> None:
    signed_in("OUTSIDER")
    response = page.goto(f"/statements/{demo.statement_id}")
    assert response.status == 404
    assert page.locator("h1").inner_text() == "Not found"
    assert demo.statement_id not in page.content()
    assert_accessible(page)


def test_a_form_post_without_its_csrf_token_is_refused(
    page: Any, signed_in: Callable[..., Any], demo: Demo
) -> None:
    signed_in("ADMIN")
    page.goto(f"/statements/{demo.statement_ids[-1]}")
    revision = page.locator("#revisions li").count()
    page.get_by_text("Add a charge").click()
    form = page.locator("form", has=page.locator("#charge-description"))
    form.locator("input[name=csrf_token]").evaluate("e => e.remove()")
    page.locator("#charge-description").fill("Extra cabling")
    page.locator("#charge-quantity").fill("1")
    page.locator("#charge-unit_price").fill("10.00")
    page.locator("#charge-reason").fill("on site")
    with page.expect_navigation():
        page.get_by_role("button", name="Add the charge").click()
    assert page.locator("h1").inner_text() == "This form has expired"
    page.goto(f"/statements/{demo.statement_ids[-1]}")
    assert page.locator("#revisions li").count() == revision  # nothing was added
