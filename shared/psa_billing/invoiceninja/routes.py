"""FastAPI router of the InvoiceNinja sync (``app.include_router(router)``).

``GET  /api/billing/invoiceninja/status``  the connection tester
``GET  /api/billing/invoices?type=invoices|quotes``  the live list and its KPIs
``POST /api/billing/invoiceninja/push``  push a project or a ticket

Two dependencies are placeholders the app must override (``app.dependency_overrides``):
``get_context`` (the signed-in caller: organisation, ADMIN role, "projects" feature) and
``get_ports`` (the portal repository's ports and the store). ``get_api_opener``, ``get_today``
and ``get_clock`` have working defaults. Handlers stay thin: parse, one use case, dump.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Header, HTTPException, Query
from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel

from psa_billing.domain.errors import UnknownCurrencyError
from psa_billing.domain.money import Currency, format_amount
from psa_billing.invoiceninja import wiring
from psa_billing.invoiceninja.connection import ConnectionState, check_connection
from psa_billing.invoiceninja.errors import (
    InvoiceNinjaError,
    NotBillableError,
    NothingToPushError,
    Problem,
    PushError,
    PushInProgressError,
    PushOutcomeUnknownError,
    UnknownSourceError,
)
from psa_billing.invoiceninja.listing import CurrencyTotals, DocumentRow, list_documents
from psa_billing.invoiceninja.ports import InvoiceNinjaApi, PortalPorts, Source
from psa_billing.invoiceninja.push import Clock, PushResult, push

router = APIRouter(prefix="/api/billing", tags=["invoiceninja"])


@dataclass(frozen=True)
class InvoiceNinjaContext:
    """Who is calling, for which organisation. ``is_admin``: the caller has ADMIN (or
    above) in ``org_id``; ``projects_enabled``: the organisation has the "projects"
    feature (product doc: the billing page requires it)."""

    org_id: str
    is_admin: bool
    projects_enabled: bool
    actor: str = ""


def get_context() -> InvoiceNinjaContext:
    """Placeholder: the app overrides it with the real sign-in and roles dependency."""
    raise NotImplementedError("override get_context with app.dependency_overrides")


def get_ports() -> PortalPorts:
    """Placeholder: the app overrides it with the repository-backed ports."""
    raise NotImplementedError("override get_ports with app.dependency_overrides")


ApiOpener = Callable[[], InvoiceNinjaApi | None]


def get_api_opener() -> ApiOpener:
    """How to get the configured client: None when not configured, InvoiceNinjaError
    when misconfigured (a function, so the connection tester can report that too)."""
    return wiring.api_client


def get_today() -> date:
    return datetime.now(UTC).date()


def get_clock() -> Clock:
    return Clock(now=lambda: datetime.now(UTC))


def billing_context(
    ctx: Annotated[InvoiceNinjaContext, Depends(get_context)],
) -> InvoiceNinjaContext:
    if not ctx.is_admin:
        raise HTTPException(403, "InvoiceNinja billing needs the ADMIN role")
    if not ctx.projects_enabled:
        raise HTTPException(403, "the projects feature is not enabled for this organisation")
    return ctx


Context = Annotated[InvoiceNinjaContext, Depends(billing_context)]
Ports = Annotated[PortalPorts, Depends(get_ports)]


Opener = Annotated[ApiOpener, Depends(get_api_opener)]


def _api(open_api: ApiOpener) -> InvoiceNinjaApi | None:
    try:
        return open_api()
    except InvoiceNinjaError as exc:
        raise _http(exc) from None


# -- response models ---------------------------------------------------------------------


class _Camel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True)


class ConnectionPublic(_Camel):
    state: ConnectionState
    company_name: str | None = None
    problem: str | None = None
    message: str | None = None


class DocumentPublic(_Camel):
    kind: Literal["invoice", "quote"]
    id: str
    number: str
    url: str
    customer_name: str
    customer_id: str | None
    in_client_id: str
    reference: str
    project_id: str | None
    status: str
    overdue: bool
    amount: str
    balance: str
    currency: str
    date: str
    due_date: str


class TotalsPublic(_Camel):
    currency: str
    invoice_count: int
    invoice_total: str
    outstanding_balance: str
    quote_count: int
    quote_total: str


class DocumentListPublic(_Camel):
    state: Literal["ok", "not_configured"]
    type: Literal["invoices", "quotes"]
    rows: list[DocumentPublic] = Field(default_factory=list)
    kpis: list[TotalsPublic] = Field(default_factory=list)


class PushCreate(_Camel):
    project_id: str | None = None
    ticket_id: str | None = None
    as_: Literal["invoice", "quote"] = Field(default="invoice", alias="as")

    @model_validator(mode="after")
    def _one_source(self) -> PushCreate:
        if (self.project_id is None) == (self.ticket_id is None):
            raise ValueError("give exactly one of projectId and ticketId")
        if self.ticket_id is not None and self.as_ != "invoice":
            raise ValueError("a ticket is pushed as an invoice")
        return self


class PushPublic(_Camel):
    outcome: Literal["created", "already_pushed"]
    source_kind: Literal["project", "ticket"]
    source_id: str
    kind: Literal["invoice", "quote"]
    document_id: str
    document_number: str
    url: str
    in_client_id: str
    client_created: bool
    entry_ids: list[str]


def money_text(value: Decimal, currency: str) -> str:
    """The currency's own digits ("1234.50", "1200" for JPY); as sent when unknown."""
    try:
        return format_amount(value, Currency.of(currency))
    except UnknownCurrencyError:
        return format(value, "f")


def _row(r: DocumentRow) -> DocumentPublic:
    return DocumentPublic(
        kind=r.kind,
        id=r.id,
        number=r.number,
        url=r.url,
        customer_name=r.customer_name,
        customer_id=r.customer_id,
        in_client_id=r.in_client_id,
        reference=r.reference,
        project_id=r.project_id,
        status=r.status,
        overdue=r.overdue,
        amount=money_text(r.amount, r.currency),
        balance=money_text(r.balance, r.currency),
        currency=r.currency,
        date=r.date,
        due_date=r.due_date,
    )


def _totals(t: CurrencyTotals) -> TotalsPublic:
    return TotalsPublic(
        currency=t.currency,
        invoice_count=t.invoice_count,
        invoice_total=money_text(t.invoice_total, t.currency),
        outstanding_balance=money_text(t.outstanding, t.currency),
        quote_count=t.quote_count,
        quote_total=money_text(t.quote_total, t.currency),
    )


def _push_public(result: PushResult) -> PushPublic:
    rec = result.record
    return PushPublic(
        outcome=result.outcome,
        source_kind=rec.source.kind,
        source_id=rec.source.id,
        kind=rec.document_kind,
        document_id=rec.document_id,
        document_number=rec.document_number,
        url=result.url,
        in_client_id=rec.in_client_id,
        client_created=result.client_created,
        entry_ids=list(rec.entry_ids),
    )


def _http(exc: InvoiceNinjaError) -> HTTPException:
    """The one place InvoiceNinja failures become status codes (STYLE.md 7)."""
    status = 504 if exc.problem in (Problem.TIMEOUT, Problem.DEADLINE) else 502
    if exc.problem == Problem.CONFIG:
        status = 503
    return HTTPException(status, {"problem": str(exc.problem), "message": exc.message})


_PUSH_STATUS: dict[type[PushError], int] = {
    UnknownSourceError: 404,
    NotBillableError: 422,
    NothingToPushError: 409,
    PushInProgressError: 409,
    PushOutcomeUnknownError: 503,
}


# -- routes ------------------------------------------------------------------------------


@router.get("/invoiceninja/status", response_model=ConnectionPublic)
def invoiceninja_status(ctx: Context, open_api: Opener) -> ConnectionPublic:
    result = check_connection(open_api)
    return ConnectionPublic(
        state=result.state,
        company_name=result.company_name,
        problem=result.problem,
        message=result.message,
    )


@router.get("/invoices", response_model=DocumentListPublic)
def invoiceninja_documents(
    ctx: Context,
    ports: Ports,
    open_api: Opener,
    today: Annotated[date, Depends(get_today)],
    kind: Annotated[Literal["invoices", "quotes"], Query(alias="type")] = "invoices",
) -> DocumentListPublic:
    api = _api(open_api)
    if api is None:
        return DocumentListPublic(state="not_configured", type=kind)
    try:
        listing = list_documents(
            ctx.org_id,
            "invoice" if kind == "invoices" else "quote",
            api=api,
            directory=ports.directory,
            store=ports.store,
            today=today,
        )
    except InvoiceNinjaError as exc:
        raise _http(exc) from None
    return DocumentListPublic(
        state="ok",
        type=kind,
        rows=[_row(r) for r in listing.rows],
        kpis=[_totals(t) for t in listing.totals],
    )


@router.post("/invoiceninja/push", response_model=PushPublic)
def invoiceninja_push(
    ctx: Context,
    ports: Ports,
    open_api: Opener,
    body: PushCreate,
    clock: Annotated[Clock, Depends(get_clock)],
    idempotency_key: Annotated[str | None, Header(max_length=64)] = None,
) -> PushPublic:
    api = _api(open_api)
    if api is None:
        raise HTTPException(
            409, {"problem": "not_configured", "message": "InvoiceNinja is not configured"}
        )
    source = (
        Source("project", body.project_id)
        if body.project_id is not None
        else Source("ticket", body.ticket_id or "")
    )
    try:
        result = push(
            ctx.org_id,
            source,
            body.as_,
            work=ports.work,
            store=ports.store,
            api=api,
            clock=clock,
            idempotency_key=idempotency_key,
        )
    except InvoiceNinjaError as exc:
        raise _http(exc) from None
    except PushError as exc:
        raise HTTPException(_PUSH_STATUS.get(type(exc), 409), str(exc)) from None
    return _push_public(result)
