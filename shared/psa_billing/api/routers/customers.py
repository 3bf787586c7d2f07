"""A customer's billing settings, with the history of changes."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.responses import JSONResponse

from psa_billing.api.deps import (
    Access,
    CurrentPrincipal,
    Idem,
    IdempotencyKey,
    LambdaCtx,
    Route,
    utc_now,
)
from psa_billing.api.errors import documented
from psa_billing.api.schemas import CustomerBillingPublic, CustomerBillingUpdate
from psa_billing.logic import settings_api as uc

router = APIRouter(prefix="/api/customers", tags=["customers"])

CustomerId = Annotated[str, Path(min_length=1, max_length=64)]
OrgQuery = Annotated[
    str | None,
    Query(alias="orgId", max_length=64, description="Needed when you bill several organisations"),
]


@router.get(
    "/{customer_id}/billing",
    response_model=CustomerBillingPublic,
    responses=documented(401, 403, 404),
    summary="Per-device rate, hourly rate, tax, currency, auto-send, billing email, and the "
    "statement details (address, tax id, locale, payment terms)",
)
def get_billing(
    principal: CurrentPrincipal, access: Access, customer_id: CustomerId, org_id: OrgQuery = None
) -> dict[str, Any]:
    return uc.get_billing(access, principal, customer_id, org_id)


@router.put(
    "/{customer_id}/billing",
    response_model=CustomerBillingPublic,
    responses=documented(401, 403, 404, 409),
    summary="Change the billing settings and statement details (validated as the import "
    "validates them)",
)
def put_billing(
    principal: CurrentPrincipal,
    access: Access,
    idem: Idem,
    key: IdempotencyKey,
    route: Route,
    ctx: LambdaCtx,
    customer_id: CustomerId,
    body: CustomerBillingUpdate,
    org_id: OrgQuery = None,
) -> JSONResponse:
    # The import model's Decimal fields do not round-trip through model_dump: hash the
    # validated values instead, of the fields given (a detail left out is kept, so a
    # body without it is a different request from one that clears it).
    request = {name: str(getattr(body, name)) for name in sorted(body.model_fields_set)}

    def work() -> tuple[int, dict[str, Any]]:
        doc = uc.put_billing(
            access,
            principal,
            customer_id,
            org_id,
            body,
            clock=utc_now,
            profile_changes=body.profile_changes(),
        )
        return 200, CustomerBillingPublic.model_validate(doc).model_dump(by_alias=True)

    return idem.respond(
        key,
        principal=principal.subject,
        route=f"{route} {org_id} {customer_id}",
        body=request,
        work=work,
        lambda_context=ctx,
    )
