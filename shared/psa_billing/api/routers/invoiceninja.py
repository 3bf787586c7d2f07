"""The InvoiceNinja routes (psa_billing.invoiceninja.routes) with the API's own sign-in,
roles and portal data: the organisation is the ``orgId`` query parameter, or the one
organisation the caller belongs to; ADMIN or above there; a caller who is not a member
gets 404 (never the data)."""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated

from fastapi import FastAPI, Query

from psa_billing.api.deps import Access, CurrentPrincipal, Repository
from psa_billing.api.errors import NotFoundError, UnprocessableError, documented
from psa_billing.auth.roles import BILLING_ROLE
from psa_billing.invoiceninja import routes, wiring
from psa_billing.invoiceninja.ports import PortalPorts
from psa_billing.invoiceninja.routes import InvoiceNinjaContext

router = routes.router


def invoiceninja_context(
    principal: CurrentPrincipal,
    access: Access,
    org_id: Annotated[
        str | None,
        Query(
            alias="orgId",
            max_length=64,
            description="The organisation (may be left out by a member of only one)",
        ),
    ] = None,
) -> InvoiceNinjaContext:
    if org_id is None:
        if len(principal.roles) != 1:
            raise UnprocessableError("give orgId: you belong to more than one organisation")
        (org_id,) = principal.roles
    role = principal.role_in(org_id)
    if role is None:
        raise NotFoundError(f"no organisation {org_id!r}")
    return InvoiceNinjaContext(
        org_id=org_id,
        is_admin=role.at_least(BILLING_ROLE) and not principal.read_only,
        projects_enabled=bool(access.org_features(org_id).get("projects", False)),
        actor=principal.actor,
    )


def portal_ports(repo: Repository) -> PortalPorts:
    del repo  # taken so that the models are bound to the deployment's table first
    return _ports()


@lru_cache(maxsize=1)
def _ports() -> PortalPorts:
    from psa_billing.dal.portal import DynamoPortal  # noqa: PLC0415

    portal = DynamoPortal()
    return PortalPorts(directory=portal, work=portal, store=wiring.store())


# What each InvoiceNinja route may answer besides 200 (documented in the OpenAPI).
_ERRORS = {
    "/api/billing/invoiceninja/status": (401, 403, 404),
    "/api/billing/invoices": (401, 403, 404, 502, 503, 504),
    "/api/billing/invoiceninja/push": (401, 403, 404, 409, 502, 503, 504),
}


def install(app: FastAPI) -> None:
    for route in router.routes:
        path = getattr(route, "path", "")
        if path in _ERRORS and hasattr(route, "responses"):
            route.responses.update(documented(*_ERRORS[path]))
    app.include_router(router)
    # setdefault: the group is built on its first request (api/groups.py), after a test
    # may have put its own in.
    app.dependency_overrides.setdefault(routes.get_context, invoiceninja_context)
    app.dependency_overrides.setdefault(routes.get_ports, portal_ports)
