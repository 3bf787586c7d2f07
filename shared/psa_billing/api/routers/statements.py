"""Statements: list (paged), one, its PDF, the period's CSV, adjust, void, send, resend,
mark sent."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Query
from fastapi.responses import JSONResponse, RedirectResponse, StreamingResponse

from psa_billing.api.deps import (
    Access,
    CurrentPrincipal,
    Cursors,
    Idem,
    IdempotencyKey,
    LambdaCtx,
    PdfLinks,
    Repository,
    Route,
    Settings,
    Workers,
    utc_now,
)
from psa_billing.api.errors import documented, logger
from psa_billing.api.idempotency import Idempotency
from psa_billing.api.schemas import (
    AdjustmentCreate,
    PeriodText,
    SendPublic,
    StatementPagePublic,
    StatementPublic,
    VoidCreate,
)
from psa_billing.dal.access import StatementPosition
from psa_billing.logic import billing_api as uc

router = APIRouter(prefix="/api/billing", tags=["statements"])

StatementId = Annotated[
    str, Path(min_length=1, max_length=200, description="As the CLI prints it: org:customer:period")
]


@router.get(
    "/statements",
    response_model=StatementPagePublic,
    responses=documented(400, 401, 403, 404),
    summary="The caller's organisations' statements, newest period first",
)
def list_statements(
    principal: CurrentPrincipal,
    access: Access,
    repo: Repository,
    cursors: Cursors,
    period: Annotated[PeriodText | None, Query(description="YYYY-MM")] = None,
    customer_id: Annotated[str | None, Query(alias="customerId", max_length=64)] = None,
    status: Annotated[str | None, Query(max_length=40)] = None,
    org_id: Annotated[str | None, Query(alias="orgId", max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=2000)] = None,
) -> dict[str, Any]:
    orgs = uc.read_orgs(principal, org_id)
    bound = {
        "sub": principal.subject,
        "orgs": orgs,
        "period": period,
        "customerId": customer_id,
        "status": status,
    }
    after = None
    if cursor is not None:
        pos = cursors.decode(cursor, bound_to=bound)
        after = StatementPosition(
            str(pos["p"]), str(pos["o"]), str(pos["c"]), int(str(pos.get("v", 1)))
        )
    items, last = uc.list_statements(
        access,
        repo,
        orgs,
        period=period,
        customer_id=customer_id,
        status=status,
        limit=limit,
        after=after,
    )
    next_cursor = None
    if last is not None:
        position: dict[str, Any] = {"p": last.period, "o": last.org_id, "c": last.customer_id}
        if last.version != 1:
            position["v"] = last.version
        next_cursor = cursors.encode(position, bound_to=bound)
    return {"items": [uc.summary_view(s) for s in items], "nextCursor": next_cursor}


@router.get(
    "/statements.csv",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"text/csv": {}}, "description": "One row per effective line"},
        **documented(401, 403, 404),
    },
    summary="Every effective line of a period's statements, for accountants",
)
def statements_csv(
    principal: CurrentPrincipal,
    access: Access,
    period: Annotated[PeriodText, Query(description="YYYY-MM")],
    org_id: Annotated[str | None, Query(alias="orgId", max_length=64)] = None,
) -> StreamingResponse:
    orgs = uc.read_orgs(principal, org_id)
    uc.check_period(period)
    return StreamingResponse(
        uc.csv_rows(access, orgs, period),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="statements-{period}.csv"'},
    )


@router.get(
    "/statements/{statement_id}",
    response_model=StatementPublic,
    responses=documented(401, 403, 404),
    summary="Original lines, every adjustment, effective lines and totals, delivery, "
    "late entries waiting",
)
def get_statement(
    principal: CurrentPrincipal, repo: Repository, statement_id: StatementId
) -> dict[str, Any]:
    return uc.statement_detail(repo, principal, statement_id)


@router.get(
    "/statements/{statement_id}/pdf",
    status_code=302,
    response_class=RedirectResponse,
    responses={302: {"description": "To a presigned S3 URL"}, **documented(401, 403, 404, 503)},
    summary="Redirect to the PDF of a revision (default: the current one)",
)
def statement_pdf(
    principal: CurrentPrincipal,
    repo: Repository,
    links: PdfLinks,
    workers: Workers,
    settings: Settings,
    statement_id: StatementId,
    revision: Annotated[int | None, Query(ge=0, le=100_000)] = None,
) -> RedirectResponse:
    url = uc.pdf_link(
        repo, links, workers, principal, statement_id, revision, settings.pdf_url_seconds
    )
    return RedirectResponse(url, status_code=302)


def _log_render_failure(exc: Exception) -> None:
    logger.warning("render after adjustment failed", extra={"errorType": type(exc).__name__})


@router.post(
    "/statements/{statement_id}/adjustments",
    response_model=StatementPublic,
    status_code=201,
    responses=documented(401, 403, 404, 409),
    summary="Append an adjustment (edit a line, a credit note, a charge, late time); "
    "the revision goes up",
)
def adjust(
    principal: CurrentPrincipal,
    repo: Repository,
    workers: Workers,
    idem: Idem,
    key: IdempotencyKey,
    route: Route,
    ctx: LambdaCtx,
    statement_id: StatementId,
    body: Annotated[AdjustmentCreate, Body()],
) -> JSONResponse:
    change = body.model_dump(by_alias=True, exclude_none=True)

    def work() -> tuple[int, dict[str, Any]]:
        st = uc.adjust_statement(
            repo,
            workers,
            principal,
            statement_id,
            change,
            clock=utc_now,
            on_render_failure=_log_render_failure,
            request_key=key,
        )
        return 201, StatementPublic.model_validate(uc.statement_view(st)).model_dump(
            by_alias=True, mode="json"
        )

    return idem.respond(
        key,
        principal=principal.subject,
        route=f"{route} {statement_id}",
        body=change,
        work=work,
        lambda_context=ctx,
    )


@router.post(
    "/statements/{statement_id}/void",
    response_model=StatementPublic,
    responses=documented(401, 403, 404, 409, 422),
    summary="Void the statement (kept, nothing due); the next run bills its period anew",
)
def void(
    principal: CurrentPrincipal,
    repo: Repository,
    workers: Workers,
    idem: Idem,
    key: IdempotencyKey,
    route: Route,
    ctx: LambdaCtx,
    statement_id: StatementId,
    body: Annotated[VoidCreate, Body()],
) -> JSONResponse:
    request = body.model_dump(by_alias=True)

    def work() -> tuple[int, dict[str, Any]]:
        st = uc.void_statement(
            repo,
            workers,
            principal,
            statement_id,
            body.reason,
            clock=utc_now,
            on_render_failure=_log_render_failure,
        )
        return 200, StatementPublic.model_validate(uc.statement_view(st)).model_dump(
            by_alias=True, mode="json"
        )

    return idem.respond(
        key,
        principal=principal.subject,
        route=f"{route} {statement_id}",
        body=request,
        work=work,
        lambda_context=ctx,
    )


def _send(
    principal: Any,
    repo: Any,
    workers: Any,
    idem: Idempotency,
    key: str | None,
    route: str,
    statement_id: str,
    again: bool,
    ctx: Any,
    anyway: bool = False,
) -> JSONResponse:
    def work() -> tuple[int, dict[str, Any]]:
        st, sent, pdf = uc.send(repo, workers, principal, statement_id, again=again, anyway=anyway)
        doc = {"statement": uc.statement_view(st), "sent": sent, "pdfKey": pdf}
        return 200, SendPublic.model_validate(doc).model_dump(by_alias=True, mode="json")

    return idem.respond(
        key,
        principal=principal.subject,
        route=f"{route} {statement_id}",
        body={"anyway": True} if anyway else {},
        work=work,
        lambda_context=ctx,
    )


@router.post(
    "/statements/{statement_id}/send",
    response_model=SendPublic,
    responses=documented(401, 403, 404, 409, 503),
    summary="Email the current revision (refused if it was already sent)",
)
def send(
    principal: CurrentPrincipal,
    repo: Repository,
    workers: Workers,
    idem: Idem,
    key: IdempotencyKey,
    route: Route,
    ctx: LambdaCtx,
    statement_id: StatementId,
) -> JSONResponse:
    return _send(principal, repo, workers, idem, key, route, statement_id, again=False, ctx=ctx)


@router.post(
    "/statements/{statement_id}/mark-sent",
    response_model=StatementPublic,
    responses=documented(401, 403, 404, 409),
    summary="Record that a send whose outcome was unknown (send_unknown) did arrive",
    description=(
        "For a statement whose sender stopped after handing the mail to SES and before "
        "SES's answer was recorded: a person who checked with the customer records it as "
        "sent (the actor is the signed-in user). Of a void statement: its void notice "
        "whose outcome is unknown (`void.notice.state` = `unknown`). Nothing is emailed. "
        "Any other state is a 409 not_sendable with the reason."
    ),
)
def mark_sent(
    principal: CurrentPrincipal,
    repo: Repository,
    idem: Idem,
    key: IdempotencyKey,
    route: Route,
    ctx: LambdaCtx,
    statement_id: StatementId,
) -> JSONResponse:
    def work() -> tuple[int, dict[str, Any]]:
        st = uc.mark_sent(repo, principal, statement_id)
        return 200, StatementPublic.model_validate(uc.statement_view(st)).model_dump(
            by_alias=True, mode="json"
        )

    return idem.respond(
        key,
        principal=principal.subject,
        route=f"{route} {statement_id}",
        body={},
        work=work,
        lambda_context=ctx,
    )


@router.post(
    "/statements/{statement_id}/resend",
    response_model=SendPublic,
    responses=documented(401, 403, 404, 409, 503),
    summary="Email the current revision again, even if it was sent",
    description=(
        "Of a void statement whose customer had been sent it: emails its void notice, "
        "if that has not gone out (never tried, failed, or its claim released). A void "
        "notice whose outcome is unknown (`void.notice.state` = `unknown`: handed to SES, "
        "its answer never recorded) is a 409 not_sendable with the reason unless "
        "`anyway=true` (a person who checked with the customer sends it anyway); "
        "`mark-sent` records it as sent instead."
    ),
)
def resend(
    principal: CurrentPrincipal,
    repo: Repository,
    workers: Workers,
    idem: Idem,
    key: IdempotencyKey,
    route: Route,
    ctx: LambdaCtx,
    statement_id: StatementId,
    anyway: Annotated[
        bool, Query(description="A void notice whose outcome is unknown: send it anyway")
    ] = False,
) -> JSONResponse:
    return _send(
        principal, repo, workers, idem, key, route, statement_id, again=True, ctx=ctx, anyway=anyway
    )
