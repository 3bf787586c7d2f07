"""The billing API as a FastAPI app: ``create_app()`` is what Lambda (through Mangum)
and the local server (uvicorn) both serve."""

from __future__ import annotations

from fastapi import FastAPI

from psa_billing.api import errors
from psa_billing.api.routers import auth, customers, invoiceninja, orgs, runs, statements
from psa_billing.web import pages

DESCRIPTION = """
The billing API of psa-billing: statements, runs, customer billing settings and
organisation settings, for the portal and for accounting tools.

Every request but sign-in needs `Authorization: Bearer <accessToken>`. Errors always
have the shape `{"error": {"code", "message", "details"?}}` (codes in docs/api.md).
POST and PUT accept an `Idempotency-Key` header: a retry with the same key returns
the first answer and changes nothing.
"""


def create_app() -> FastAPI:
    app = FastAPI(
        title="psa-billing API",
        version="1.0.0",
        description=DESCRIPTION,
        openapi_url="/api/openapi.json",
        docs_url="/api/docs",
        redoc_url=None,
    )
    errors.install(app)
    for router in (auth.router, statements.router, runs.router, customers.router, orgs.router):
        app.include_router(router)
    invoiceninja.install(app)
    # The portal's pages: same app, same use cases, HTML (web/, docs/portal.md).
    pages.install(app)

    @app.get("/api/health", tags=["health"], summary="Liveness (no sign-in needed)")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    return app
