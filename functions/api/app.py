"""HTTP API (API Gateway HTTP API -> Mangum -> FastAPI).

Statements are read-only here: the statement endpoints of the portal and of
accounting tools. API Gateway's JWT authorizer has already checked the Cognito
token; the app scopes every read to the caller's organisations (cognito:groups
"org:<orgId>"). Cold start: nothing here imports the PDF or email code.
"""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools import Logger
from fastapi import Depends, FastAPI, HTTPException, Query, Request
from mangum import Mangum

from psa_billing import runtime
from psa_billing.domain.errors import InvalidPeriodError
from psa_billing.domain.model import Period

logger = Logger()
app = FastAPI(title="psa-billing", version="0.1.0")


def caller_orgs(request: Request) -> frozenset[str]:
    """Organisations the caller belongs to, from the authorizer's verified claims."""
    event: dict[str, Any] = request.scope.get("aws.event") or {}
    claims = event.get("requestContext", {}).get("authorizer", {}).get("jwt", {}).get("claims", {})
    groups = claims.get("cognito:groups", "")
    if isinstance(groups, str):
        groups = groups.strip("[]").replace(",", " ").split()
    return frozenset(g.removeprefix("org:") for g in groups if g.startswith("org:"))


CallerOrgs = Annotated[frozenset[str], Depends(caller_orgs)]


@app.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok"}


@app.get("/api/billing/statements")
def list_statements(
    orgs: CallerOrgs, org: Annotated[str, Query()], period: str | None = None
) -> list[dict[str, Any]]:
    if org not in orgs:
        raise HTTPException(status_code=403, detail=f"not a member of organisation {org!r}")
    if period is not None:
        try:
            Period.parse(period)
        except InvalidPeriodError as exc:
            raise HTTPException(status_code=422, detail=str(exc)) from exc
    return [s.public() for s in runtime.repository().list_statements(org, period)]


@app.get("/api/billing/statements/{statement_id}")
def get_statement(orgs: CallerOrgs, statement_id: str) -> dict[str, Any]:
    st = runtime.repository().get_statement(statement_id)
    if st is None or st.org_id not in orgs:
        raise HTTPException(status_code=404, detail=f"no statement {statement_id!r}")
    return st.public()


handler = logger.inject_lambda_context(Mangum(app, lifespan="off"))
