"""Monthly runs: start one for an organisation and period, list them, follow one."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.responses import JSONResponse

from psa_billing.api.deps import (
    Access,
    CurrentPrincipal,
    Cursors,
    Idem,
    IdempotencyKey,
    LambdaCtx,
    Repository,
    Route,
    RunStarter,
    utc_now,
)
from psa_billing.api.errors import documented
from psa_billing.api.schemas import RunCreate, RunPagePublic, RunPublic, RunStartedPublic
from psa_billing.logic import billing_api as uc

router = APIRouter(prefix="/api/billing/runs", tags=["runs"])


@router.post(
    "",
    response_model=RunStartedPublic,
    status_code=202,
    responses=documented(401, 403, 404, 409),
    summary="Bill a period through the state machine, as the monthly schedule does",
)
def start_run(
    principal: CurrentPrincipal,
    access: Access,
    repo: Repository,
    runs: RunStarter,
    idem: Idem,
    key: IdempotencyKey,
    route: Route,
    ctx: LambdaCtx,
    body: RunCreate,
) -> JSONResponse:
    request = body.model_dump(by_alias=True, exclude_none=True)

    def work() -> tuple[int, dict[str, Any]]:
        started = uc.start_run(
            access,
            runs,
            principal,
            org_id=body.org_id,
            period=body.period,
            customer_ids=body.customer_ids,
            clock=utc_now,
            time_zone_of=lambda org: uc.org_time_zone(repo, org),
        )
        return 202, started

    return idem.respond(
        key, principal=principal.subject, route=route, body=request, work=work, lambda_context=ctx
    )


@router.get(
    "",
    response_model=RunPagePublic,
    responses=documented(400, 401, 403, 404),
    summary="The caller's organisations' runs, newest first",
)
def list_runs(
    principal: CurrentPrincipal,
    access: Access,
    repo: Repository,
    cursors: Cursors,
    org_id: Annotated[str | None, Query(alias="orgId", max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=2000)] = None,
) -> dict[str, Any]:
    orgs = uc.read_orgs(principal, org_id)
    bound = {"sub": principal.subject, "orgs": orgs, "runs": True}
    before = None
    if cursor is not None:
        pos = cursors.decode(cursor, bound_to=bound)
        before = (str(pos["k"]), str(pos["o"]))
    items, last = uc.list_runs(repo, access, orgs, limit=limit, before=before)
    next_cursor = (
        cursors.encode({"k": last[0], "o": last[1]}, bound_to=bound) if last is not None else None
    )
    return {"items": items, "nextCursor": next_cursor}


@router.get(
    "/{run_id}",
    response_model=RunPublic,
    responses=documented(401, 403, 404),
    summary="A run's progress and each of the caller's customers' outcome",
)
def get_run(
    principal: CurrentPrincipal,
    access: Access,
    repo: Repository,
    run_id: Annotated[str, Path(min_length=1, max_length=80)],
) -> dict[str, Any]:
    return uc.run_view(repo, access, principal, run_id)
