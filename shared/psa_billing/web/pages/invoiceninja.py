"""The InvoiceNinja pages: ``/billing`` (invoices and quotes, live) and
``/admin/integrations/invoiceninja`` (the connection tester).

Both call the use cases the JSON routes call (invoiceninja/listing.list_documents,
invoiceninja/connection.check_connection) with the same client, ports and "today"
(invoiceninja/routes.py dependencies, api/routers/invoiceninja.portal_ports), so the
page shows exactly what ``GET /api/billing/invoices`` and ``GET
/api/billing/invoiceninja/status`` answer. Nothing is stored or polled: InvoiceNinja is
asked on every load. When it cannot answer, the page still renders, with the reason in
words; when it is not configured, it shows the "Connect InvoiceNinja" prompt.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from psa_billing.api.routers.invoiceninja import portal_ports
from psa_billing.invoiceninja.connection import check_connection
from psa_billing.invoiceninja.errors import InvoiceNinjaError
from psa_billing.invoiceninja.listing import Listing, list_documents
from psa_billing.invoiceninja.ports import PortalPorts
from psa_billing.invoiceninja.routes import ApiOpener, get_api_opener, get_today
from psa_billing.invoiceninja.settings import get_settings
from psa_billing.web.deps import BillingViewer, org_facts
from psa_billing.web.errors import PageRoute, error_page
from psa_billing.web.render import render

router = APIRouter(route_class=PageRoute, include_in_schema=False)

INTEGRATION_PAGE = "/admin/integrations/invoiceninja"
# The portal's own project page (served by the portal around these billing pages, not by
# this app): a Reference that matches a project code links there.
PROJECT_URL = "/projects/{id}"
CUSTOMER_URL = "/customers/{id}/billing"

Opener = Annotated[ApiOpener, Depends(get_api_opener)]
Ports = Annotated[PortalPorts, Depends(portal_ports)]
Today = Annotated[date, Depends(get_today)]
Kind = Literal["invoices", "quotes"]


@dataclass(frozen=True, slots=True)
class Failure:
    """Why InvoiceNinja gave no list, in words (never the token)."""

    problem: str
    message: str


def _load(
    org_id: str, kind: Kind, *, open_api: ApiOpener, ports: PortalPorts, today: date
) -> Listing | Failure | None:
    """The listing; None when InvoiceNinja is not configured; Failure when it did not
    answer (or its settings are wrong)."""
    try:
        api = open_api()
        if api is None:
            return None
        return list_documents(
            org_id,
            "invoice" if kind == "invoices" else "quote",
            api=api,
            directory=ports.directory,
            store=ports.store,
            today=today,
        )
    except InvoiceNinjaError as exc:
        return Failure(str(exc.problem), exc.message)


@router.get("/billing")
def invoiceninja_billing(
    request: Request,
    viewer: BillingViewer,
    ports: Ports,
    open_api: Opener,
    today: Today,
    kind: Annotated[Kind, Query(alias="type")] = "invoices",
) -> Response:
    org = org_facts(viewer.org_id)
    if org is None or not org.features.get("projects", False):
        return error_page(
            request,
            403,
            title="Invoices & quotes are not on for this organisation",
            message="This page needs the projects feature. An owner of the organisation "
            "can turn it on.",
        )
    found = _load(viewer.org_id, kind, open_api=open_api, ports=ports, today=today)
    return render(
        request,
        "billing_invoiceninja.html.j2",
        {
            "kind": kind,
            "listing": found if isinstance(found, Listing) else None,
            "failure": found if isinstance(found, Failure) else None,
            "not_configured": found is None,
            "integration_page": INTEGRATION_PAGE,
            "project_url": PROJECT_URL,
            "customer_url": CUSTOMER_URL,
            "org_query": f"org={viewer.org_id}",
        },
    )


@router.get(INTEGRATION_PAGE)
def invoiceninja_integration(request: Request, viewer: BillingViewer, open_api: Opener) -> Response:
    """The connection tester: runs on every load; "Re-test connection" loads it again."""
    # ADMIN or OWNER of the organisation shown (BillingViewer); the connection is the
    # install's own (INVOICENINJA_URL / INVOICENINJA_TOKEN), the same for every organisation.
    status = check_connection(open_api)
    try:
        configured_url = get_settings().url
    except ValueError:  # settings that do not parse: the status above says why
        configured_url = ""
    return render(
        request,
        "integration_invoiceninja.html.j2",
        {
            "status": status,
            "configured_url": configured_url,
            "checked_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "integration_page": INTEGRATION_PAGE,
        },
    )
