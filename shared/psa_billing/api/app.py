"""The billing API as a FastAPI app: ``create_app()`` is what Lambda (through Mangum)
and the local server (uvicorn) both serve."""

from __future__ import annotations

from fastapi import FastAPI
from starlette.staticfiles import StaticFiles

from psa_billing.api import errors, groups
from psa_billing.api.groups import RouteGroup
from psa_billing.web import STATIC

DESCRIPTION = """
The billing API of psa-billing: statements, runs, customer billing settings and
organisation settings, for the portal and for accounting tools.

Every request but sign-in needs `Authorization: Bearer <accessToken>`. Errors always
have the shape `{"error": {"code", "message", "details"?}}` (codes in docs/api.md).
POST and PUT accept an `Idempotency-Key` header: a retry with the same key returns
the first answer and changes nothing.
"""


# Every route the app serves, by group: a group is built on the first request under its
# prefixes (api/groups.py: cold start). The API's groups, then the portal's pages (web/,
# docs/portal.md: same app, same use cases, HTML). A new router needs a line here;
# tests/unit/test_route_groups.py fails until its routes are under its prefixes.
ROUTE_GROUPS = (
    RouteGroup("auth", ("/api/auth/",), "psa_billing.api.routers.auth:router"),
    RouteGroup(
        "statements", ("/api/billing/statements",), "psa_billing.api.routers.statements:router"
    ),
    RouteGroup("runs", ("/api/billing/runs",), "psa_billing.api.routers.runs:router"),
    RouteGroup("customers", ("/api/customers/",), "psa_billing.api.routers.customers:router"),
    RouteGroup("orgs", ("/api/orgs/",), "psa_billing.api.routers.orgs:router"),
    RouteGroup(
        "invoiceninja",
        ("/api/billing/invoiceninja/", "/api/billing/invoices"),
        "psa_billing.api.routers.invoiceninja:install",
    ),
    RouteGroup(
        "page:auth", ("/signin", "/signout"), "psa_billing.web.pages.auth:router", paths=("/",)
    ),
    RouteGroup("page:statements", ("/statements/",), "psa_billing.web.pages.statements:router"),
    RouteGroup("page:runs", ("/admin/billing",), "psa_billing.web.pages.runs:router"),
    RouteGroup(
        "page:customer_billing",
        ("/customers/",),
        "psa_billing.web.pages.customer_billing:router",
    ),
    RouteGroup(
        "page:invoiceninja",
        ("/billing", "/admin/integrations/"),
        "psa_billing.web.pages.invoiceninja:router",
    ),
)


def create_app() -> FastAPI:
    app = FastAPI(
        title="psa-billing API",
        version="1.0.0",
        description=DESCRIPTION,
        openapi_url="/api/openapi.json",
        docs_url="/api/docs",
        redoc_url=None,
    )
    groups.install(app, ROUTE_GROUPS)
    errors.install(app)  # after: its catch-all also covers a group that fails to build
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/api/health", tags=["health"], summary="Liveness (no sign-in needed)")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    return app
