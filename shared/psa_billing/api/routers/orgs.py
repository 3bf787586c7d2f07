"""An organisation's own settings, including feature flags."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from fastapi.responses import JSONResponse

from psa_billing.api.deps import (
    Access,
    CurrentPrincipal,
    Idem,
    IdempotencyKey,
    LambdaCtx,
    Repository,
    Route,
)
from psa_billing.api.errors import documented
from psa_billing.api.schemas import OrgPublic, OrgUpdate
from psa_billing.logic import settings_api as uc

router = APIRouter(prefix="/api/orgs", tags=["organisations"])

OrgId = Annotated[str, Path(min_length=1, max_length=64)]


@router.get(
    "/{org_id}",
    response_model=OrgPublic,
    responses=documented(401, 404),
    summary="Name, address, contact email and feature flags (any member)",
)
def get_org(
    principal: CurrentPrincipal, repo: Repository, access: Access, org_id: OrgId
) -> dict[str, Any]:
    return uc.get_org(repo, access, principal, org_id)


@router.put(
    "/{org_id}",
    response_model=OrgPublic,
    responses=documented(401, 403, 404),
    summary="Change the organisation's settings (OWNER only)",
)
def put_org(
    principal: CurrentPrincipal,
    repo: Repository,
    access: Access,
    idem: Idem,
    key: IdempotencyKey,
    route: Route,
    ctx: LambdaCtx,
    org_id: OrgId,
    body: OrgUpdate,
) -> JSONResponse:
    change = body.changes()

    def work() -> tuple[int, dict[str, Any]]:
        doc = uc.put_org(repo, access, principal, org_id, change)
        return 200, OrgPublic.model_validate(doc).model_dump(by_alias=True)

    return idem.respond(
        key,
        principal=principal.subject,
        route=f"{route} {org_id}",
        body=change,
        work=work,
        lambda_context=ctx,
    )
