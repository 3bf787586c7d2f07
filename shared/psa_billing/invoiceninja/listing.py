"""Use case: the live list of InvoiceNinja invoices or quotes, joined to the portal.

Fetched from InvoiceNinja on every call (product doc: "no status polling — the list is
fetched live"): nothing is copied into DynamoDB. The KPI cards need both invoices and
quotes, so both lists are read, in parallel, under one deadline.
"""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from psa_billing.domain.errors import UnknownCurrencyError
from psa_billing.domain.money import Currency
from psa_billing.invoiceninja.deadline import Deadline
from psa_billing.invoiceninja.ports import (
    InvoiceNinjaApi,
    InvoiceNinjaStore,
    PortalDirectory,
    customer_of_id_number,
)
from psa_billing.invoiceninja.statuses import (
    VOID_INVOICE,
    invoice_status,
    is_overdue,
    quote_status,
)
from psa_billing.invoiceninja.wire import DocumentKind, WireDocument


@dataclass(frozen=True, slots=True)
class DocumentRow:
    kind: DocumentKind
    id: str
    number: str
    url: str  # the InvoiceNinja edit page
    customer_name: str
    customer_id: str | None  # the portal customer, when the InvoiceNinja client is mapped
    in_client_id: str
    reference: str  # po_number
    project_id: str | None  # the portal project whose code is the po_number
    status: str
    overdue: bool
    amount: Decimal
    balance: Decimal
    currency: str  # ISO code; "" when InvoiceNinja's currency id is not known
    date: str
    due_date: str


@dataclass(frozen=True, slots=True)
class CurrencyTotals:
    """The KPI cards for one currency: amounts in different currencies never add up."""

    currency: str
    invoice_count: int = 0
    invoice_total: Decimal = Decimal(0)
    outstanding: Decimal = Decimal(0)
    quote_count: int = 0
    quote_total: Decimal = Decimal(0)


@dataclass(frozen=True, slots=True)
class Listing:
    kind: DocumentKind
    rows: tuple[DocumentRow, ...]
    totals: tuple[CurrencyTotals, ...]


def exponent_of(currency: str) -> int | None:
    try:
        return Currency.of(currency).exponent
    except UnknownCurrencyError:
        return None


def _rounded(value: Decimal, currency: str) -> Decimal:
    """In the currency's own precision (half-up); as sent when the currency is unknown."""
    try:
        return Currency.of(currency).round(value)
    except UnknownCurrencyError:
        return value


def kpis(rows: Iterable[DocumentRow]) -> tuple[CurrencyTotals, ...]:
    """Per currency: invoices (count, total, outstanding balance) and quotes (count, total).
    docs/invoiceninja.md "KPIs": cancelled and reversed invoices are void and not counted."""
    sums: dict[str, dict[str, Decimal]] = {}
    for row in rows:
        s = sums.setdefault(row.currency, {k: Decimal(0) for k in ("ic", "it", "out", "qc", "qt")})
        if row.kind == "quote":
            s["qc"] += 1
            s["qt"] += row.amount
        elif row.status not in VOID_INVOICE:
            s["ic"] += 1
            s["it"] += row.amount
            s["out"] += row.balance
    return tuple(
        CurrencyTotals(
            currency=code,
            invoice_count=int(s["ic"]),
            invoice_total=s["it"],
            outstanding=s["out"],
            quote_count=int(s["qc"]),
            quote_total=s["qt"],
        )
        for code, s in sorted(sums.items())
    )


def _rows(
    kind: DocumentKind,
    docs: list[WireDocument],
    *,
    org_id: str,
    api: InvoiceNinjaApi,
    currency_of: dict[str, str],
    fallback_currency_id: str,
    mapped: dict[str, str],
    names: dict[str, str],
    project_codes: dict[str, str],
    today: date,
) -> list[DocumentRow]:
    rows = []
    for doc in docs:
        client = doc.client
        currency_id = (client.currency_id if client else "") or fallback_currency_id
        currency = currency_of.get(currency_id, "")
        customer_id = mapped.get(doc.client_id)
        if customer_id is None and client is not None:
            customer_id = customer_of_id_number(org_id, client.id_number)
        if customer_id not in names:
            customer_id = None
        if kind == "invoice":
            inv = invoice_status(doc.status_id)
            status = str(inv)
            overdue = is_overdue(
                inv,
                balance=doc.balance,
                partial=doc.partial,
                due_date=doc.due_date,
                partial_due_date=doc.partial_due_date,
                today=today,
            )
        else:
            status = str(quote_status(doc.status_id, doc.invoice_id))
            overdue = False
        rows.append(
            DocumentRow(
                kind=kind,
                id=doc.id,
                number=doc.number,
                url=api.config.edit_url(kind, doc.id),
                customer_name=names[customer_id]
                if customer_id
                else (client.label if client else ""),
                customer_id=customer_id,
                in_client_id=doc.client_id,
                reference=doc.po_number,
                project_id=project_codes.get(doc.po_number) if doc.po_number else None,
                status=status,
                overdue=overdue,
                amount=_rounded(doc.amount, currency),
                balance=_rounded(doc.balance, currency),
                currency=currency,
                date=doc.date,
                due_date=doc.due_date,
            )
        )
    # Newest first, as people read an invoice list.
    rows.sort(key=lambda r: (r.date, r.number, r.id), reverse=True)
    return rows


def list_documents(
    org_id: str,
    kind: DocumentKind,
    *,
    api: InvoiceNinjaApi,
    directory: PortalDirectory,
    store: InvoiceNinjaStore,
    today: date,
) -> Listing:
    """Rows of ``kind`` and the KPIs of both kinds, live. Raises InvoiceNinjaError (with the
    reason in words) when InvoiceNinja cannot answer within the deadline."""
    deadline: Deadline = api.deadline()
    with ThreadPoolExecutor(max_workers=3, thread_name_prefix="invoiceninja") as pool:
        invoices = pool.submit(api.list_documents, "invoice", deadline)
        quotes = pool.submit(api.list_documents, "quote", deadline)
        codes = pool.submit(api.currency_codes, deadline)
        # The portal side is read while InvoiceNinja answers.
        mapped = store.client_mappings(org_id)
        names = {c.id: c.name for c in directory.customers(org_id)}
        project_codes = {p.code: p.id for p in directory.projects(org_id)}
        docs: dict[DocumentKind, list[WireDocument]] = {
            "invoice": invoices.result(),
            "quote": quotes.result(),
        }
        currency_of = codes.result()
    fallback = ""
    if any(not (d.client and d.client.currency_id) for ds in docs.values() for d in ds):
        fallback = api.company_currency_id(deadline)
    built: dict[DocumentKind, list[DocumentRow]] = {
        k: _rows(
            k,
            ds,
            org_id=org_id,
            api=api,
            currency_of=currency_of,
            fallback_currency_id=fallback,
            mapped=mapped,
            names=names,
            project_codes=project_codes,
            today=today,
        )
        for k, ds in docs.items()
    }
    everything = built["invoice"] + built["quote"]
    return Listing(kind=kind, rows=tuple(built[kind]), totals=kpis(everything))
