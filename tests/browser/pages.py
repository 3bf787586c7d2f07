"""Every portal page, once: what `test_pages.py` opens for the axe-core check and, under
`make screenshots`, photographs at 1280 px and 390 px into docs/screenshots/.

A new page adds one ``PortalPage`` here. ``path`` may name the demo's facts:
``{org}``, ``{customer}``, ``{statement}``, ``{period}``, ``{run}`` (tests/browser/
conftest.py ``Demo``). ``role``: who is signed in (None: nobody). ``invoiceninja``: how
the API's InvoiceNinja is configured while the page is open (conftest ``invoiceninja_as``).
``ready``: a CSS selector the page shows once it is complete (default: ``main``).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PortalPage:
    name: str  # the screenshots' file stem: docs/screenshots/NAME-1280.png, NAME-390.png
    path: str
    role: str | None = "OWNER"
    invoiceninja: str = "connected"
    ready: str = "main"


PAGES: tuple[PortalPage, ...] = (
    # Sign-in, the monthly run, a statement, the review queue's confirmation (the 403 and
    # 404 pages are axe-checked in test_run_and_statement_pages.py).
    PortalPage(name="signin", path="/signin", role=None),
    PortalPage(name="monthly-run", path="/admin/billing?period={period}", ready="#statements"),
    PortalPage(
        name="monthly-run-review-queue",
        path="/admin/billing?period={period}&status=pending_review",
    ),
    PortalPage(name="statement", path="/statements/{statement}", ready="#lines"),
    PortalPage(name="send-pending", path="/admin/billing/send-pending?period={period}"),
    # A customer's Billing tab (web/pages/customer_billing.py)
    PortalPage("customer-billing", "/customers/{customer}/billing?org={org}", role="ADMIN"),
    # /billing, InvoiceNinja's invoices and quotes (web/pages/invoiceninja.py)
    PortalPage("invoiceninja-invoices", "/billing?org={org}", role="ADMIN", ready="table"),
    PortalPage("invoiceninja-quotes", "/billing?org={org}&type=quotes", ready="table"),
    PortalPage("invoiceninja-not-configured", "/billing?org={org}", invoiceninja="not_configured"),
    PortalPage("invoiceninja-unreachable", "/billing?org={org}", invoiceninja="unreachable"),
    # The connection tester's three states
    PortalPage("integration-connected", "/admin/integrations/invoiceninja?org={org}"),
    PortalPage(
        "integration-not-configured",
        "/admin/integrations/invoiceninja?org={org}",
        invoiceninja="not_configured",
    ),
    PortalPage(
        "integration-unreachable",
        "/admin/integrations/invoiceninja?org={org}",
        invoiceninja="unreachable",
    ),
)
