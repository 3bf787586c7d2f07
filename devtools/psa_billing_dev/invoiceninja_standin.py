"""A local InvoiceNinja v5 stand-in, for tests, benchmarks and ``make run``.

A small Starlette app served by uvicorn on loopback in a background thread. It answers
the endpoints the psa-billing client uses the way the real server does according to
invoiceninja-api.md: ``X-API-TOKEN`` checked (403 ``Invalid token``), list envelopes
with Fractal pagination whose ``links`` keep only ``?page=N``, no default ORDER BY (rows
come back shuffled unless ``sort`` is given), archived and deleted rows listed unless
``status=active``, opaque hashed ids, 200 on create, 422/400 error bodies, money as
PHP prints it (``1500``, ``849.5``), quote status ``-1`` computed on read.

Seeded from the demo organisation (``psa_billing_dev.demo``): most demo customers
already have a client (``id_number`` = ``<org>:<customer>``), with invoices and quotes
whose ``po_number`` is one of the customer's project codes or ticket ids.

Faults are switchable per request (``state.fail_next``) or for every request
(``state.delay``, ``state.money_style``), so tests can exercise 429, 5xx, timeouts,
slow drips, malformed JSON, HTML error pages and unknown status ids.

    stand_in = start()            # port=0: a free port
    stand_in.url, stand_in.token  # INVOICENINJA_URL, INVOICENINJA_TOKEN
    stand_in.stop()

Run it alone with ``python -m psa_billing_dev.invoiceninja_standin [--port N]``.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import math
import random
import secrets
import threading
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

from psa_billing.domain.model import Period
from psa_billing_dev.demo import demo_document

# Currency ids: 1-17 as in InvoiceNinja's CurrenciesSeeder (invoiceninja-api.md §3.3);
# the others are this stand-in's own, which is why the client reads them from /statics.
CURRENCIES: dict[str, tuple[int, int]] = {
    "USD": (1, 2),
    "GBP": (2, 2),
    "EUR": (3, 2),
    "ZAR": (4, 2),
    "DKK": (5, 2),
    "SEK": (7, 2),
    "CAD": (9, 2),
    "AUD": (12, 2),
    "NOK": (14, 2),
    "NZD": (15, 2),
    "CHF": (17, 2),
    "JPY": (45, 0),
    "BHD": (98, 3),
    "KWD": (99, 3),
}
_CODE_OF = {str(i): code for code, (i, _) in CURRENCIES.items()}

Fault = Literal[
    "429",
    "500",
    "502",
    "503",
    "html502",  # an nginx-style HTML error page
    "html200",  # a web page with 200, as a React build answers unknown paths
    "malformed",  # 200 application/json that is not JSON
    "hang",  # answer only after ``hang_seconds``
    "drip",  # send the body one byte every ``drip_seconds``
    "403user",  # 403 "User inactive"
]
MoneyStyle = Literal["php", "string"]


def hashed_id(n: int) -> str:
    """An opaque 10-character id like InvoiceNinja's Hashids (never a bare integer)."""
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ1234567890"
    digest = hashlib.sha256(f"standin:{n}".encode()).digest()
    return "".join(alphabet[b % len(alphabet)] for b in digest[:10])


def _round(value: Decimal, currency_id: str) -> Decimal:
    precision = CURRENCIES.get(_CODE_OF.get(currency_id, "USD"), (0, 2))[1]
    return value.quantize(Decimal(1).scaleb(-precision), rounding=ROUND_HALF_UP)


@dataclass
class StandInState:
    """Everything the stand-in knows; tests read and change it directly."""

    token: str
    company_name: str = "Demo MSP Ltd"
    user_name: str = "Alex Admin"
    company_currency_id: str = "2"
    clients: dict[int, dict[str, Any]] = field(default_factory=dict)
    invoices: dict[int, dict[str, Any]] = field(default_factory=dict)
    quotes: dict[int, dict[str, Any]] = field(default_factory=dict)
    requests: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    delay: float = 0.0
    hang_seconds: float = 30.0
    drip_seconds: float = 0.5
    create_delay: float = 0.0  # widens race windows in concurrency tests
    money_style: MoneyStyle = "php"
    today: date = field(default_factory=lambda: datetime.now(UTC).date())
    _faults: list[tuple[Fault, str | None, str | None]] = field(default_factory=list)
    _next_id: int = 1
    lock: threading.Lock = field(default_factory=threading.Lock)

    # -- faults ----------------------------------------------------------------------

    def fail_next(
        self, fault: Fault, times: int = 1, path: str | None = None, method: str | None = None
    ) -> None:
        """The next ``times`` requests (to paths starting with ``path`` and with ``method``,
        when given) fail."""
        with self.lock:
            self._faults.extend([(fault, path, method)] * times)

    def clear_faults(self) -> None:
        with self.lock:
            self._faults.clear()
            self.delay = 0.0

    def take_fault(self, method: str, path: str) -> Fault | None:
        with self.lock:
            for i, (fault, prefix, verb) in enumerate(self._faults):
                if (prefix is None or path.startswith(prefix)) and verb in (None, method):
                    del self._faults[i]
                    return fault
        return None

    def calls(self, method: str, path: str) -> list[dict[str, str]]:
        """Query strings of the requests made to ``method path`` (e.g. "GET", "invoices")."""
        with self.lock:
            return [q for m, p, q in self.requests if m == method and p == path]

    # -- records -----------------------------------------------------------------------

    def new_id(self) -> int:
        with self.lock:
            n = self._next_id
            self._next_id += 1
            return n

    def add_client(
        self,
        name: str,
        currency: str = "GBP",
        *,
        id_number: str = "",
        archived: bool = False,
        deleted: bool = False,
    ) -> dict[str, Any]:
        n = self.new_id()
        now = int(time.time())
        record: dict[str, Any] = {
            "_n": n,
            "id": hashed_id(n),
            "name": name,
            "display_name": name,
            "number": f"{len(self.clients) + 1:04d}",
            "id_number": id_number,
            "settings": {
                "entity": "App\\Models\\Client",
                "industry_id": "",
                "size_id": "",
                "currency_id": str(CURRENCIES[currency][0]),
            },
            "balance": Decimal(0),
            "paid_to_date": Decimal(0),
            "is_deleted": deleted,
            "archived_at": now if (archived or deleted) else 0,
            "created_at": now,
            "updated_at": now,
            "contacts": [],
        }
        self.clients[n] = record
        return record

    def add_document(
        self,
        kind: Literal["invoice", "quote"],
        client: dict[str, Any],
        *,
        amount: Decimal | str,
        status_id: str = "2",
        po_number: str = "",
        paid: Decimal | str = Decimal(0),
        issued: date | None = None,
        due: date | None = None,
        archived: bool = False,
        deleted: bool = False,
        invoice_id: str = "",
        number: str | None = None,
        line_items: list[dict[str, Any]] | None = None,
        custom_value4: str = "",
    ) -> dict[str, Any]:
        table = self.invoices if kind == "invoice" else self.quotes
        n = self.new_id()
        total = _round(Decimal(amount), client["settings"]["currency_id"])
        paid_amount = Decimal(paid)
        if kind == "quote" or status_id in ("1", "5", "6"):
            balance = Decimal(0)  # drafts, cancelled and reversed invoices have none
        else:
            balance = total - paid_amount
        issued = issued or self.today
        now = int(time.time())
        record: dict[str, Any] = {
            "_n": n,
            "id": hashed_id(n),
            "user_id": hashed_id(1),
            "client_id": client["id"],
            "_client_n": client["_n"],
            "status_id": status_id,
            "number": number if number is not None else f"{len(table) + 1:04d}",
            "po_number": po_number,
            "amount": total,
            "balance": balance,
            "paid_to_date": paid_amount,
            "partial": Decimal(0),
            "partial_due_date": "",
            "date": issued.isoformat(),
            "due_date": due.isoformat() if due else "",
            "is_deleted": deleted,
            "archived_at": now if (archived or deleted) else 0,
            "created_at": now,
            "updated_at": now,
            "custom_value1": "",
            "custom_value2": "",
            "custom_value3": "",
            "custom_value4": custom_value4,
            "line_items": line_items or [],
            "entity_type": kind,
            "invitations": [],
            "documents": [],
        }
        if kind == "quote":
            record["invoice_id"] = invoice_id
        table[n] = record
        return record

    def add_invoices(self, count: int, seed: int = 1) -> None:
        """``count`` more invoices spread over the existing clients (benchmarks, paging)."""
        rng = random.Random(seed)
        clients = [c for c in self.clients.values() if not c["is_deleted"]]
        for _ in range(count):
            client = rng.choice(clients)
            cents = Decimal(rng.randint(5_000, 900_000)) / 100
            status = rng.choice(("1", "2", "2", "3", "4", "4", "5"))
            self.add_document(
                "invoice",
                client,
                amount=cents,
                status_id=status,
                paid=cents / 2 if status == "3" else (cents if status == "4" else Decimal(0)),
                issued=self.today - timedelta(days=rng.randint(0, 300)),
                due=self.today + timedelta(days=rng.randint(-60, 30)),
            )


# -- seeding ---------------------------------------------------------------------------


def seed_demo(
    state: StandInState, *, customers: int = 25, seed: int = 7, org_id: str = "demo-msp"
) -> None:
    """Clients, invoices and quotes matching the demo organisation's customers/projects."""
    period = Period.before(state.today)
    doc = demo_document(customers, seed, period, org_id=org_id)
    rng = random.Random(seed)
    projects: dict[str, list[str]] = {}
    for p in doc["projects"]:
        projects.setdefault(p["customerId"], []).append(p["code"])
    tickets: dict[str, list[str]] = {}
    for t in doc["tickets"]:
        tickets.setdefault(t["customerId"], []).append(t["id"])
    today = state.today
    for k, customer in enumerate(doc["customers"]):
        if k % 4 == 3:
            continue  # not every portal customer is in InvoiceNinja yet
        currency = customer["billing"]["currency"]
        client = state.add_client(
            customer["name"], currency, id_number=f"{org_id}:{customer['id']}"
        )
        refs = projects.get(customer["id"], []) + tickets.get(customer["id"], [])[:2]
        scale = Decimal(190) if currency == "JPY" else Decimal(1)
        for i in range(rng.randint(1, 4)):
            amount = (Decimal(rng.randint(20_000, 400_000)) / 100 * scale).quantize(Decimal(1))
            status = rng.choice(("1", "2", "2", "3", "4", "4", "5"))
            state.add_document(
                "invoice",
                client,
                amount=amount,
                status_id=status,
                po_number=refs[i % len(refs)] if refs and rng.random() < 0.7 else "",
                paid=amount / 2 if status == "3" else (amount if status == "4" else Decimal(0)),
                issued=today - timedelta(days=rng.randint(5, 120)),
                due=today + timedelta(days=rng.randint(-45, 25)),
            )
        if rng.random() < 0.6:
            amount = (Decimal(rng.randint(50_000, 900_000)) / 100 * scale).quantize(Decimal(1))
            status = rng.choice(("1", "2", "3", "4"))
            state.add_document(
                "quote",
                client,
                amount=amount,
                status_id=status,
                po_number=refs[0] if refs else "",
                issued=today - timedelta(days=rng.randint(5, 60)),
                due=today + timedelta(days=rng.randint(-20, 30)),
                invoice_id=hashed_id(1) if status == "4" else "",
            )
    # InvoiceNinja also holds clients the portal does not know, and rows that are archived
    # or deleted (a list without status=active would show them).
    walk_in = state.add_client("Walk-in Repairs", "GBP")
    state.add_document("invoice", walk_in, amount="149.99", status_id="4", paid="149.99")
    state.add_document("invoice", walk_in, amount="75", status_id="2", archived=True)
    state.add_document("invoice", walk_in, amount="60", status_id="2", deleted=True)
    state.add_document("quote", walk_in, amount="1200", status_id="2", deleted=True)
    gone = state.add_client("Closed Account GmbH", "EUR", deleted=True)
    state.add_document("invoice", gone, amount="300", status_id="2", deleted=True)


# -- rendering -------------------------------------------------------------------------


def _php_number(value: Decimal, style: MoneyStyle) -> Any:
    """Money as PHP prints it: an int when whole (``1500``), else a float (``849.5``).
    PHP's money *is* a float; converting here simulates that wire, nothing more."""
    if style == "string":
        return format(value, "f")
    if value == value.to_integral_value():
        return int(value)
    return float(value)


def _public(record: dict[str, Any], style: MoneyStyle) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in record.items():
        if key.startswith("_"):
            continue
        out[key] = _php_number(value, style) if isinstance(value, Decimal) else value
    return out


def _document(state: StandInState, record: dict[str, Any], include_client: bool) -> dict[str, Any]:
    out = _public(record, state.money_style)
    # Quote::getStatusIdAttribute: sent and valid-until on or before today reads "-1".
    sent_quote = record["entity_type"] == "quote" and record["status_id"] == "2"
    due = date.fromisoformat(record["due_date"]) if record["due_date"] else None
    if sent_quote and due is not None and due <= state.today and not record["is_deleted"]:
        out["status_id"] = "-1"
    if include_client:
        out["client"] = _public(state.clients[record["_client_n"]], state.money_style)
    return out


def _pretty(payload: Any, status: int = 200) -> Response:
    """BaseController::response: ksort, JSON_PRETTY_PRINT, ``\\/`` escaped."""
    if isinstance(payload, dict):
        payload = dict(sorted(payload.items()))
    text = json.dumps(payload, indent=4, ensure_ascii=False).replace("/", "\\/")
    return Response(
        text,
        status_code=status,
        media_type="application/json",
        headers={"X-Api-Version": "5.0.16", "X-App-Version": "5.12.28"},
    )


def _expects_json(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return request.headers.get("x-requested-with") == "XMLHttpRequest" or "json" in accept


def _error(request: Request, status: int, message: str, **extra: Any) -> Response:
    if not _expects_json(request):
        # Handler.php renders JSON only when expectsJson(): otherwise validation errors
        # redirect back and other errors are HTML pages.
        if status == 422:
            return RedirectResponse("/", status_code=302)
        return Response(f"<html><body>{message}</body></html>", status, media_type="text/html")
    return JSONResponse({"message": message, **extra}, status_code=status)


_NGINX_502 = (
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n"
    "</body>\r\n</html>\r\n"
)
_REACT_PAGE = "<!DOCTYPE html><html><head><title>Invoice Ninja</title></head><body></body></html>"


# -- the app ---------------------------------------------------------------------------


def _flag(params: dict[str, str], name: str) -> bool:
    return params.get(name, "").lower() in ("1", "true")


def _listing(
    request: Request, state: StandInState, rows: list[dict[str, Any]], render: Callable[..., Any]
) -> Response:
    params = dict(request.query_params)
    statuses = {s for s in params.get("status", "").split(",") if s}
    if statuses:
        rows = [
            r
            for r in rows
            if ("active" in statuses and not r["archived_at"] and not r["is_deleted"])
            or ("archived" in statuses and r["archived_at"] and not r["is_deleted"])
            or ("deleted" in statuses and r["is_deleted"])
        ]
    for exact in ("client_id", "number", "id_number"):
        if exact in params:
            rows = [r for r in rows if r.get(exact) == params[exact]]
    if params.get("filter"):
        needle = params["filter"].lower()

        def haystack(r: dict[str, Any]) -> str:
            parts = [str(r.get(k, "")) for k in ("number", "po_number", "name", "id_number")]
            parts += [str(r.get(f"custom_value{i}", "")) for i in range(1, 5)]
            parts += [str(item.get("notes", "")) for item in r.get("line_items", [])]
            return " ".join(parts).lower()

        rows = [r for r in rows if needle in haystack(r)]
    if "sort" in params:
        column, _, direction = params["sort"].partition("|")
        column = "_n" if column == "id" else column
        rows = sorted(rows, key=lambda r: r.get(column, ""), reverse=direction == "desc")
    else:
        rows = list(rows)
        random.shuffle(rows)  # no default ORDER BY: the database's order is arbitrary
    try:
        per_page = min(abs(int(params.get("per_page", "20"))), 5000) or 15
    except ValueError:
        per_page = 20
    try:
        page = max(int(params.get("page", "1")), 1)
    except ValueError:
        page = 1
    total = len(rows)
    total_pages = max(1, math.ceil(total / per_page))
    chunk = rows[(page - 1) * per_page : page * per_page]
    base = str(request.url.replace(query=""))
    links: dict[str, str] = {}
    if page > 1:
        links["previous"] = f"{base}?page={page - 1}"
    if page < total_pages:
        links["next"] = f"{base}?page={page + 1}"
    return _pretty(
        {
            "data": [render(r) for r in chunk],
            "meta": {
                "pagination": {
                    "total": total,
                    "count": len(chunk),
                    "per_page": per_page,
                    "current_page": page,
                    "total_pages": total_pages,
                    "links": links,
                }
            },
        }
    )


async def _body(request: Request) -> dict[str, Any] | None:
    try:
        value = json.loads(await request.body() or b"{}")
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _create_client(request: Request, state: StandInState, body: dict[str, Any]) -> Response:
    id_number = str(body.get("id_number") or "")
    with state.lock:
        taken = id_number and any(
            c["id_number"] == id_number for c in state.clients.values() if not c["is_deleted"]
        )
    if taken:
        return _error(
            request,
            422,
            "The given data was invalid.",
            errors={"id_number": ["The id number has already been taken."]},
        )
    code = str(body.get("currency_code") or _CODE_OF[state.company_currency_id]).upper()
    if code not in CURRENCIES:
        return _error(
            request,
            422,
            "The given data was invalid.",
            errors={"currency_code": ["The selected currency code is invalid."]},
        )
    client = state.add_client(str(body.get("name") or ""), code, id_number=id_number)
    client["contacts"] = [
        {"id": hashed_id(state.new_id()), "email": c.get("email", ""), "is_primary": i == 0}
        for i, c in enumerate(body.get("contacts") or [])
        if isinstance(c, dict)
    ]
    return _pretty({"data": _public(client, state.money_style)})


def _create_document(
    request: Request, state: StandInState, kind: Literal["invoice", "quote"], body: dict[str, Any]
) -> Response:
    client_id = str(body.get("client_id") or "")
    if not client_id:
        return _error(
            request,
            422,
            "The given data was invalid.",
            errors={"client_id": ["The client id field is required."]},
        )
    client = next(
        (c for c in state.clients.values() if c["id"] == client_id and not c["is_deleted"]), None
    )
    if client is None:
        return _error(
            request,
            422,
            "The given data was invalid.",
            errors={"client_id": ["The selected client id is invalid."]},
        )
    items = []
    total = Decimal(0)
    for raw in body.get("line_items") or []:
        quantity = Decimal(str(raw.get("quantity", 0)))
        cost = Decimal(str(raw.get("cost", 0)))
        line_total = _round(quantity * cost, client["settings"]["currency_id"])
        total += line_total
        items.append({**raw, "quantity": quantity, "cost": cost, "line_total": line_total})
    status = "2" if _flag(dict(request.query_params), "mark_sent") else "1"
    record = state.add_document(
        kind,
        client,
        amount=total,
        status_id=status,
        po_number=str(body.get("po_number") or ""),
        issued=date.fromisoformat(body["date"]) if body.get("date") else None,
        line_items=items,
        custom_value4=str(body.get("custom_value4") or ""),
    )
    for item in record["line_items"]:
        for key in ("quantity", "cost", "line_total"):
            item[key] = _php_number(item[key], state.money_style)
    return _pretty({"data": _document(state, record, include_client=False)})


def build_app(state: StandInState) -> Starlette:
    async def api(request: Request) -> Response:
        path = request.path_params["path"].strip("/")
        with state.lock:
            state.requests.append((request.method, path, dict(request.query_params)))
        if state.delay:
            await asyncio.sleep(state.delay)
        fault = state.take_fault(request.method, path)
        if fault is not None:
            injected = await _fault(fault, state)
            if injected is not None:
                return injected
        if request.headers.get("x-api-token") != state.token:
            # TokenAuth.php (5.10 shape)
            return JSONResponse({"message": "Invalid token", "errors": {}}, status_code=403)
        return await _route(request, state, path)

    return Starlette(routes=[Route("/api/v1/{path:path}", api, methods=["GET", "POST"])])


async def _fault(fault: Fault, state: StandInState) -> Response | None:
    if fault in ("429",):
        return JSONResponse({"message": "Too many requests"}, status_code=429)
    if fault in ("500", "502", "503"):
        return JSONResponse({"message": "Server Error"}, status_code=int(fault))
    if fault == "html502":
        return Response(_NGINX_502, status_code=502, media_type="text/html")
    if fault == "html200":
        return Response(_REACT_PAGE, status_code=200, media_type="text/html")
    if fault == "malformed":
        return Response('{"data": [ {"id": "VolejRejNm", ', media_type="application/json")
    if fault == "403user":
        return JSONResponse({"message": "User inactive", "errors": {}}, status_code=403)
    if fault == "hang":
        await asyncio.sleep(state.hang_seconds)
        return None
    if fault == "drip":

        async def drip() -> AsyncIterator[bytes]:
            for byte in b'{"data": [], "meta": {}}' * 50:
                yield bytes([byte])
                await asyncio.sleep(state.drip_seconds)

        return StreamingResponse(drip(), media_type="application/json")
    return None


async def _route(request: Request, state: StandInState, path: str) -> Response:
    params = dict(request.query_params)
    include_client = "client" in params.get("include", "").split(",")
    method = request.method
    if method == "GET" and path == "ping":
        # PingController: compact JSON, no envelope.
        return JSONResponse({"company_name": state.company_name, "user_name": state.user_name})
    if method == "POST" and path == "companies/current":
        return _pretty(
            {
                "data": {
                    "id": hashed_id(1),
                    "settings": {
                        "name": state.company_name,
                        "currency_id": state.company_currency_id,
                    },
                }
            }
        )
    if method == "GET" and path == "statics":
        return JSONResponse(
            {
                "currencies": [
                    {"id": i, "code": code, "precision": p, "name": code}
                    for code, (i, p) in CURRENCIES.items()
                ]
            }
        )
    if path in ("clients", "invoices", "quotes") and method == "POST":
        body = await _body(request)
        if body is None:
            return _error(
                request, 400, "Malformed JSON payload.", error="Invalid JSON data provided"
            )
        if state.create_delay:
            await asyncio.sleep(state.create_delay)
        if path == "clients":
            return _create_client(request, state, body)
        return _create_document(request, state, "invoice" if path == "invoices" else "quote", body)
    if method == "GET" and path == "clients":
        with state.lock:
            clients = list(state.clients.values())
        return _listing(request, state, clients, lambda r: _public(r, state.money_style))
    if method == "GET" and path in ("invoices", "quotes"):
        with state.lock:
            rows = list((state.invoices if path == "invoices" else state.quotes).values())
        return _listing(request, state, rows, lambda r: _document(state, r, include_client))
    return _error(request, 404, "Route does not exist")


# -- running it ------------------------------------------------------------------------


@dataclass
class StandIn:
    url: str
    token: str
    state: StandInState
    stop: Callable[[], None]


def start(
    port: int = 0,
    *,
    customers: int = 25,
    seed: int = 7,
    org_id: str = "demo-msp",
    token: str | None = None,
    seeded: bool = True,
) -> StandIn:
    """Serve a seeded stand-in on 127.0.0.1 in a background thread until ``stop()``."""
    state = StandInState(token=token or secrets.token_hex(20))
    if seeded:
        seed_demo(state, customers=customers, seed=seed, org_id=org_id)
    config = uvicorn.Config(
        build_app(state),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="off",
        timeout_graceful_shutdown=1,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="invoiceninja-standin", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the InvoiceNinja stand-in did not start")
        time.sleep(0.01)
    bound = server.servers[0].sockets[0].getsockname()[1]

    def stop() -> None:
        server.should_exit = True
        thread.join(timeout=5)

    return StandIn(url=f"http://127.0.0.1:{bound}", token=state.token, state=state, stop=stop)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=4600)
    parser.add_argument("--customers", type=int, default=25)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    stand_in = start(args.port, customers=args.customers, seed=args.seed)
    print(f"INVOICENINJA_URL={stand_in.url}")
    print(f"INVOICENINJA_TOKEN={stand_in.token}")
    print("Ctrl-C to stop (everything is forgotten).")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        stand_in.stop()


if __name__ == "__main__":
    main()
