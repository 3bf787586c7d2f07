"""The InvoiceNinja v5 adapter (httpx). The only module that talks HTTP to InvoiceNinja.

Behaviour from invoiceninja-api.md:
* headers: ``X-API-TOKEN``, plus ``X-Requested-With`` and ``Accept: application/json`` so
  that errors come back as JSON rather than a 302 or an HTML page (§1, §7.2);
* lists: ``status=active`` (lists include archived and deleted rows otherwise), a stable
  ``sort=id|asc`` (there is no default ORDER BY), and page URLs built here, because the
  server's ``links`` keep only ``?page=N`` (§2.1, §7.8);
* an invalid token is 403, not 401; an unknown id is 400; creates answer 200 (§6).

Reads are retried with backoff on 429, 5xx and timeouts; writes never are (a retried
create could make a second invoice). Every call has an overall deadline covering all its
pages and retries, checked between received chunks too, so a slow or dripping server
fails with a clear error instead of hanging.
"""

from __future__ import annotations

import errno
import json
import random
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import httpx
from pydantic import ValidationError

from psa_billing.invoiceninja.deadline import Deadline
from psa_billing.invoiceninja.errors import InvoiceNinjaError, Problem, RejectedError
from psa_billing.invoiceninja.settings import InvoiceNinjaConfig
from psa_billing.invoiceninja.wire import (
    DocumentKind,
    ItemEnvelope,
    ListEnvelope,
    Ping,
    WireClient,
    WireDocument,
)

_PATHS: dict[str, str] = {"invoice": "invoices", "quote": "quotes"}
_RETRY_STATUS = frozenset({429, 500, 502, 503, 504})
_MAX_PAGES = 10_000  # a server claiming more pages than this is not believed
# Pages read at once after the first; a hosted plan allows 1,000 requests a minute.
_PARALLEL_PAGES = 4
# No answer the sync uses is near this; a bigger one is not an InvoiceNinja list page.
_MAX_BODY = 64 * 1024 * 1024
# Worth another try for a read: the server may answer the next time.
_TRANSIENT = (httpx.TimeoutException, httpx.ReadError, httpx.RemoteProtocolError)


def encode_json(value: Any) -> bytes:
    """JSON with Decimals written as exact numbers (the json module would refuse them,
    and a float would round them)."""
    return _encode(value).encode()


def _encode(value: Any) -> str:
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError("not a finite amount")
        return format(value, "f")
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(str(k))}:{_encode(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(_encode(v) for v in value) + "]"
    if isinstance(value, float):
        raise TypeError("money is never a float")
    return json.dumps(value, ensure_ascii=False)


def _causes(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def describe_connect_error(exc: httpx.TransportError, host: str) -> InvoiceNinjaError:
    """A transport failure in words: DNS, refused, no route, TLS, timeout."""
    if isinstance(exc, httpx.TimeoutException):
        return InvoiceNinjaError(Problem.TIMEOUT, f"{host} did not answer in time")
    if isinstance(exc, (httpx.ReadError, httpx.WriteError, httpx.RemoteProtocolError)):
        return InvoiceNinjaError(
            Problem.SERVER_ERROR, f"{host} closed the connection before answering"
        )
    text = str(exc).lower()
    for cause in _causes(exc):
        if isinstance(cause, socket.gaierror):
            return InvoiceNinjaError(Problem.DNS, f"the name {host} could not be resolved (DNS)")
        if isinstance(cause, ssl.SSLCertVerificationError):
            return InvoiceNinjaError(
                Problem.TLS, f"the TLS certificate of {host} could not be verified"
            )
        if isinstance(cause, ssl.SSLError):
            return InvoiceNinjaError(Problem.TLS, f"the TLS handshake with {host} failed")
        if isinstance(cause, ConnectionRefusedError):
            return InvoiceNinjaError(Problem.REFUSED, f"{host} refused the connection")
        if isinstance(cause, OSError) and cause.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH):
            return InvoiceNinjaError(Problem.NO_ROUTE, f"no route to host {host}")
    if (
        "name or service not known" in text
        or "nodename nor servname" in text
        or ("temporary failure in name resolution" in text or "getaddrinfo" in text)
    ):
        return InvoiceNinjaError(Problem.DNS, f"the name {host} could not be resolved (DNS)")
    if "certificate" in text or "ssl" in text or "tls" in text:
        return InvoiceNinjaError(Problem.TLS, f"the TLS handshake with {host} failed")
    if "refused" in text:
        return InvoiceNinjaError(Problem.REFUSED, f"{host} refused the connection")
    if "no route" in text or "unreachable" in text:
        return InvoiceNinjaError(Problem.NO_ROUTE, f"no route to host {host}")
    return InvoiceNinjaError(
        Problem.NO_ROUTE, f"could not connect to {host} ({type(exc).__name__})"
    )


@dataclass(frozen=True)
class _Answer:
    status: int
    content_type: str
    body: bytes


class InvoiceNinjaClient:
    """One InvoiceNinja install. Thread-safe; keep one per warm function."""

    def __init__(
        self,
        config: InvoiceNinjaConfig,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self._host = httpx.URL(config.base_url).host
        self._sleep = sleep
        self._clock = clock
        self._http = httpx.Client(
            base_url=f"{config.base_url}/api/v1/",
            headers={
                "X-API-TOKEN": config.token.get_secret_value(),
                "X-Requested-With": "XMLHttpRequest",
                "Accept": "application/json",
                "User-Agent": "psa-billing",
            },
            # A redirect means a login page or a wrong URL, never a result (§7.2).
            follow_redirects=False,
            transport=transport,
        )
        self._lock = threading.Lock()
        self._currencies: dict[str, str] | None = None
        self._company_currency: str | None = None

    def __repr__(self) -> str:
        return f"InvoiceNinjaClient({self.config.base_url!r})"

    def close(self) -> None:
        self._http.close()

    def deadline(self) -> Deadline:
        return Deadline(self.config.deadline, self._clock)

    # -- reads ------------------------------------------------------------------------

    def ping(self, deadline: Deadline | None = None) -> Ping:
        body = self._call("GET", "ping", read=True, deadline=deadline)
        if "company_name" not in body:
            raise self._not_in("answered /ping without a company name")
        try:
            return Ping.model_validate(body)
        except ValidationError:
            raise self._not_in("answered /ping with something else") from None

    def list_documents(
        self, kind: DocumentKind, deadline: Deadline | None = None
    ) -> list[WireDocument]:
        """Every active invoice (or quote) with its client, all pages, in id order."""
        rows = self._list_all(_PATHS[kind], {"include": "client"}, deadline or self.deadline())
        try:
            return [WireDocument.model_validate(r) for r in rows]
        except ValidationError as exc:
            raise self._not_in(
                f"sent a {kind} InvoiceNinja could not have sent ({exc.error_count()} bad fields)"
            ) from None

    def currency_codes(self, deadline: Deadline | None = None) -> dict[str, str]:
        """InvoiceNinja currency id -> ISO code, from /statics (read once per client)."""
        with self._lock:
            if self._currencies is not None:
                return self._currencies
        body = self._call("GET", "statics", read=True, deadline=deadline)
        raw = body.get("currencies")
        if raw is None and isinstance(body.get("data"), dict):
            raw = body["data"].get("currencies")
        if not isinstance(raw, list):
            raise self._not_in("sent /statics without currencies")
        codes = {
            str(c["id"]): str(c["code"]).upper()
            for c in raw
            if isinstance(c, dict) and c.get("id") is not None and c.get("code")
        }
        with self._lock:
            self._currencies = codes
        return codes

    def company_currency_id(self, deadline: Deadline | None = None) -> str:
        """The company's default currency id: a client without its own uses it (§3.3)."""
        with self._lock:
            if self._company_currency is not None:
                return self._company_currency
        # POST only (§7.12), but it changes nothing, so it is retried like a read.
        body = self._call("POST", "companies/current", read=True, deadline=deadline)
        try:
            data = ItemEnvelope.model_validate(body).data
        except ValidationError:
            raise self._not_in("sent the current company without its envelope") from None
        settings = data.get("settings")
        value = str(settings.get("currency_id") or "") if isinstance(settings, dict) else ""
        with self._lock:
            self._company_currency = value
        return value

    def find_client(self, id_number: str, deadline: Deadline | None = None) -> WireClient | None:
        """The active client whose ``id_number`` is exactly this (the filter is exact, and
        we check again in case a server treats it as a search)."""
        rows = self._list_all(
            "clients", {"id_number": id_number}, deadline or self.deadline(), max_pages=1
        )
        for row in rows:
            client = self._client(row)
            if client.id_number == id_number and not client.is_deleted:
                return client
        return None

    def find_document(
        self, kind: DocumentKind, marker: str, deadline: Deadline | None = None
    ) -> WireDocument | None:
        """The active invoice or quote whose ``custom_value4`` is ``marker``. ``filter`` is a
        substring search that covers the custom values; the match is made exact here."""
        rows = self._list_all(_PATHS[kind], {"filter": marker}, deadline or self.deadline())
        for row in rows:
            doc = self._document(row)
            if doc.custom_value4 == marker:
                return doc
        return None

    # -- writes (never retried) ---------------------------------------------------------

    def create_client(self, body: dict[str, Any], deadline: Deadline | None = None) -> WireClient:
        answer = self._call("POST", "clients", json_body=body, read=False, deadline=deadline)
        return self._client(self._item(answer))

    def create_document(
        self, kind: DocumentKind, body: dict[str, Any], deadline: Deadline | None = None
    ) -> WireDocument:
        answer = self._call("POST", _PATHS[kind], json_body=body, read=False, deadline=deadline)
        return self._document(self._item(answer))

    # -- plumbing ---------------------------------------------------------------------

    def _client(self, row: dict[str, Any]) -> WireClient:
        try:
            return WireClient.model_validate(row)
        except ValidationError:
            raise self._not_in("sent a client it could not have sent") from None

    def _document(self, row: dict[str, Any]) -> WireDocument:
        try:
            return WireDocument.model_validate(row)
        except ValidationError:
            raise self._not_in("sent a document it could not have sent") from None

    def _item(self, body: dict[str, Any]) -> dict[str, Any]:
        try:
            return ItemEnvelope.model_validate(body).data
        except ValidationError:
            raise self._not_in("answered without the {data: ...} envelope") from None

    def _not_in(self, what: str) -> InvoiceNinjaError:
        return InvoiceNinjaError(
            Problem.NOT_INVOICENINJA, f"{self._host} {what}: is INVOICENINJA_URL right?"
        )

    def _page(
        self, path: str, params: dict[str, str], page: int, deadline: Deadline
    ) -> ListEnvelope:
        query = {
            **params,
            "status": "active",
            "sort": "id|asc",
            "per_page": str(self.config.page_size),
            "page": str(page),
        }
        body = self._call("GET", path, params=query, read=True, deadline=deadline)
        try:
            return ListEnvelope.model_validate(body)
        except ValidationError:
            raise self._not_in(f"answered /{path} without a list envelope") from None

    def _list_all(
        self,
        path: str,
        params: dict[str, str],
        deadline: Deadline,
        max_pages: int = _MAX_PAGES,
    ) -> list[dict[str, Any]]:
        """Page 1 says how many pages there are; the rest are fetched a few at a time,
        since each page costs the server the same whatever its number."""
        first = self._page(path, params, 1, deadline)
        pagination = first.meta.pagination
        last = min(pagination.total_pages if pagination and first.data else 1, max_pages)
        envelopes = [first]
        if last > 1:
            workers = min(_PARALLEL_PAGES, last - 1)
            with ThreadPoolExecutor(workers, thread_name_prefix="invoiceninja-page") as pool:
                envelopes += pool.map(
                    lambda n: self._page(path, params, n, deadline), range(2, last + 1)
                )
        rows: list[dict[str, Any]] = []
        seen: set[str] = set()
        for envelope in envelopes:
            for row in envelope.data:
                key = str(row.get("id", ""))
                # A row deleted while we page shifts another onto the page read before.
                if key and key in seen:
                    continue
                seen.add(key)
                rows.append(row)
        return rows

    def _call(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        json_body: dict[str, Any] | None = None,
        read: bool,
        deadline: Deadline | None = None,
    ) -> dict[str, Any]:
        deadline = deadline or self.deadline()
        attempts = self.config.max_attempts if read else 1
        content = encode_json(json_body) if json_body is not None else None
        headers = {"Content-Type": "application/json"} if content is not None else None
        for attempt in range(1, attempts + 1):
            deadline.check()
            try:
                answer = self._send(method, path, params, content, headers, deadline)
            except _TRANSIENT as exc:
                error = describe_connect_error(exc, self._host)
                if attempt < attempts and self._backoff(attempt, deadline):
                    continue
                if deadline.remaining() <= 0:
                    deadline.check()
                raise error from None
            except httpx.TransportError as exc:
                # DNS, refused, TLS: retrying would not change the answer in time.
                raise describe_connect_error(exc, self._host) from None
            retry = answer.status in _RETRY_STATUS and attempt < attempts
            if retry and self._backoff(attempt, deadline):
                continue
            return self._decode(answer)
        raise AssertionError("unreachable: the loop returns or raises")

    def _send(
        self,
        method: str,
        path: str,
        params: dict[str, str] | None,
        content: bytes | None,
        headers: dict[str, str] | None,
        deadline: Deadline,
    ) -> _Answer:
        left = max(deadline.remaining(), 0.001)
        timeout = httpx.Timeout(
            connect=min(self.config.connect_timeout, left),
            read=min(self.config.read_timeout, left),
            write=min(self.config.read_timeout, left),
            pool=min(self.config.connect_timeout, left),
        )
        chunks: list[bytes] = []
        with self._http.stream(
            method, path, params=params, content=content, headers=headers, timeout=timeout
        ) as response:
            size = 0
            for chunk in response.iter_bytes():
                chunks.append(chunk)
                size += len(chunk)
                if size > _MAX_BODY:
                    raise self._not_in("sent an answer larger than 64 MiB")
                deadline.check()
            return _Answer(
                response.status_code, response.headers.get("content-type", ""), b"".join(chunks)
            )

    def _backoff(self, attempt: int, deadline: Deadline) -> bool:
        """Sleep before the next attempt; False when the deadline leaves no time for one."""
        delay = min(2.0, 0.25 * 2 ** (attempt - 1)) * (0.5 + random.random() / 2)
        if deadline.remaining() <= delay + 0.05:
            return False
        self._sleep(delay)
        return True

    def _decode(self, answer: _Answer) -> dict[str, Any]:
        status = answer.status
        is_json = "json" in answer.content_type.lower()
        body: Any = None
        if is_json:
            try:
                body = json.loads(answer.body, parse_float=Decimal)
            except (ValueError, UnicodeDecodeError):
                body = None
        message = self._message(body)
        if 200 <= status < 300:
            if not is_json:
                raise self._not_in("answered with a web page, not the InvoiceNinja API")
            if not isinstance(body, dict):
                raise self._not_in("answered with malformed JSON")
            return body
        if 300 <= status < 400:
            raise self._not_in(f"redirected the API call (HTTP {status})")
        if status == 403:
            if message.lower().startswith("invalid token") or not message:
                raise InvoiceNinjaError(
                    Problem.BAD_TOKEN, "InvoiceNinja refused the API token (HTTP 403)"
                )
            raise InvoiceNinjaError(Problem.FORBIDDEN, f"InvoiceNinja refused: {message}")
        if status == 401:
            raise InvoiceNinjaError(
                Problem.FORBIDDEN,
                f"the token's user may not do this in InvoiceNinja ({message or 'HTTP 401'})",
            )
        if status == 404:
            raise self._not_in("has no such API route (HTTP 404)")
        if status in (400, 422):
            fields: dict[str, list[str]] = {}
            if isinstance(body, dict) and isinstance(body.get("errors"), dict):
                fields = {
                    str(k): [self._clean(str(m)) for m in (v if isinstance(v, list) else [v])]
                    for k, v in body["errors"].items()
                }
            detail = "; ".join(f"{k}: {' '.join(v)}" for k, v in fields.items()) or message
            raise RejectedError(f"InvoiceNinja refused the request: {detail}", fields)
        if status == 429:
            raise InvoiceNinjaError(
                Problem.RATE_LIMITED, "InvoiceNinja is rate limiting requests (HTTP 429)"
            )
        if status >= 500:
            raise InvoiceNinjaError(
                Problem.SERVER_ERROR, f"InvoiceNinja had a server error (HTTP {status})"
            )
        raise self._not_in(f"answered HTTP {status}")

    def _message(self, body: Any) -> str:
        if isinstance(body, dict) and isinstance(body.get("message"), str):
            return self._clean(body["message"])
        return ""

    def _clean(self, text: str) -> str:
        """A server message, short, and never carrying the token back to anyone."""
        token = self.config.token.get_secret_value()
        if token:
            text = text.replace(token, "***")
        return text[:200]
