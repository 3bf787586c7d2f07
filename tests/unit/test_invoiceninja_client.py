"""The httpx client against a scripted transport: headers, paging, retries, errors in
words, the deadline. No sockets (the stand-in tests cover real HTTP)."""

from __future__ import annotations

import json
import socket
import ssl
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from psa_billing.invoiceninja.client import InvoiceNinjaClient, describe_connect_error
from psa_billing.invoiceninja.errors import InvoiceNinjaError, Problem, RejectedError
from psa_billing.invoiceninja.settings import InvoiceNinjaConfig

TOKEN = "tok-3f9a-SECRET"


def _config(**kw: Any) -> InvoiceNinjaConfig:
    args: dict[str, Any] = {
        "base_url": "https://in.example",
        "token": SecretStr(TOKEN),
        "ui_url": "https://in.example",
        "invoice_url_template": "{ui}/#/invoices/{id}/edit",
        "quote_url_template": "{ui}/#/quotes/{id}/edit",
        "page_size": 2,
    }
    args.update(kw)
    return InvoiceNinjaConfig(**args)


def _client(
    handler: Callable[[httpx.Request], httpx.Response], **kw: Any
) -> tuple[InvoiceNinjaClient, list[float]]:
    slept: list[float] = []
    client = InvoiceNinjaClient(
        _config(**kw), transport=httpx.MockTransport(handler), sleep=slept.append
    )
    return client, slept


def _json(body: Any, status: int = 200) -> httpx.Response:
    return httpx.Response(status, json=body)


def _page(rows: list[dict[str, Any]], page: int, pages: int) -> httpx.Response:
    links = {"next": f"https://in.example/api/v1/invoices?page={page + 1}"} if page < pages else {}
    return _json(
        {
            "data": rows,
            "meta": {
                "pagination": {
                    "total": 5,
                    "count": len(rows),
                    "per_page": 2,
                    "current_page": page,
                    "total_pages": pages,
                    "links": links,
                }
            },
        }
    )


def test_every_request_sends_the_token_and_the_json_headers() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return _json({"company_name": "Acme", "user_name": "A B"})

    client, _ = _client(handler)
    client.ping()
    headers = seen[0].headers
    assert headers["x-api-token"] == TOKEN
    assert headers["x-requested-with"] == "XMLHttpRequest"
    assert headers["accept"] == "application/json"
    assert "x-react" not in headers
    assert seen[0].url == "https://in.example/api/v1/ping"


def test_every_page_is_read_with_urls_the_client_builds_not_the_servers_links() -> None:
    rows = [{"id": f"id{n}", "amount": n} for n in range(5)]
    asked: list[dict[str, str]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        params = dict(request.url.params)
        asked.append(params)
        page = int(params["page"])
        return _page(rows[(page - 1) * 2 : page * 2], page, 3)

    client, _ = _client(handler)
    docs = client.list_documents("invoice")
    assert [d.id for d in docs] == [r["id"] for r in rows]
    assert [a["page"] for a in asked] == ["1", "2", "3"]
    for a in asked:
        assert a["status"] == "active" and a["sort"] == "id|asc" and a["per_page"] == "2"
        assert a["include"] == "client"


def test_links_printed_as_an_empty_list_on_a_single_page_are_accepted() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        meta = {"pagination": {"total": 1, "current_page": 1, "total_pages": 1, "links": []}}
        return _json({"data": [{"id": "a"}], "meta": meta})

    client, _ = _client(handler)
    assert [d.id for d in client.list_documents("quote")] == ["a"]


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_reads_are_retried_with_backoff_on_429_and_5xx(status: int) -> None:
    answers = [_json({"message": "x"}, status), _json({"company_name": "Acme"})]
    client, slept = _client(lambda r: answers.pop(0))
    assert client.ping().company_name == "Acme"
    assert len(slept) == 1 and 0 < slept[0] <= 2


def test_reads_give_up_after_the_configured_attempts_with_the_reason() -> None:
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return _json({"message": "Server Error"}, 500)

    client, slept = _client(handler, max_attempts=3)
    with pytest.raises(InvoiceNinjaError) as err:
        client.ping()
    assert err.value.problem == Problem.SERVER_ERROR and "500" in err.value.message
    assert len(calls) == 3 and len(slept) == 2 and slept[1] > slept[0] / 2


def test_creates_are_never_retried() -> None:
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return _json({"message": "Server Error"}, 503)

    client, _ = _client(handler)
    with pytest.raises(InvoiceNinjaError):
        client.create_document("invoice", {"client_id": "x"})
    assert calls == [1]


@pytest.mark.parametrize(
    "failure",
    [httpx.ReadTimeout("slow"), httpx.RemoteProtocolError("closed"), httpx.ReadError("reset")],
)
def test_timeouts_and_dropped_connections_on_reads_are_retried(failure: Exception) -> None:
    answers: list[Any] = [failure, _json({"company_name": "Acme"})]

    def handler(request: httpx.Request) -> httpx.Response:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    client, slept = _client(handler)
    assert client.ping().company_name == "Acme" and len(slept) == 1


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ({"message": "Invalid token"}, Problem.BAD_TOKEN),
        ({"message": "Invalid token", "errors": {}}, Problem.BAD_TOKEN),
        ({"message": "Invalid Token", "errors": {}}, Problem.BAD_TOKEN),
        ({"message": "User inactive", "errors": {}}, Problem.FORBIDDEN),
    ],
)
def test_403_is_a_bad_token_unless_the_server_says_otherwise(
    body: dict[str, Any], problem: Problem
) -> None:
    client, slept = _client(lambda r: _json(body, 403))
    with pytest.raises(InvoiceNinjaError) as err:
        client.ping()
    assert err.value.problem == problem and slept == []


def test_validation_errors_carry_the_fields() -> None:
    body = {
        "message": "The given data was invalid.",
        "errors": {"client_id": ["The selected client id is invalid."]},
    }
    client, _ = _client(lambda r: _json(body, 422))
    with pytest.raises(RejectedError) as err:
        client.create_document("invoice", {"client_id": "nope"})
    assert err.value.fields == {"client_id": ["The selected client id is invalid."]}
    assert "selected client id is invalid" in str(err.value)


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(200, html="<!DOCTYPE html><html></html>"),
        httpx.Response(200, content=b'{"data": [', headers={"content-type": "application/json"}),
        httpx.Response(302, headers={"location": "/login"}),
        httpx.Response(404, json={"message": "Route does not exist"}),
        httpx.Response(200, json={"hello": "world"}),
    ],
    ids=["html-page", "malformed-json", "redirect", "no-route", "other-json"],
)
def test_answers_that_are_not_from_invoiceninja_say_so(response: httpx.Response) -> None:
    client, _ = _client(lambda r: response)
    with pytest.raises(InvoiceNinjaError) as err:
        client.ping()
    assert err.value.problem == Problem.NOT_INVOICENINJA
    assert "INVOICENINJA_URL" in err.value.message


def test_the_token_never_appears_in_an_error_even_when_the_server_echoes_it() -> None:
    client, _ = _client(lambda r: _json({"message": f"User inactive: {TOKEN}"}, 403))
    with pytest.raises(InvoiceNinjaError) as err:
        client.ping()
    assert TOKEN not in str(err.value) and TOKEN not in repr(err.value)
    assert TOKEN not in repr(client)


def _connect_error(cause: BaseException) -> httpx.ConnectError:
    exc = httpx.ConnectError("failed")
    exc.__cause__ = cause
    return exc


@pytest.mark.parametrize(
    ("cause", "problem", "words"),
    [
        (socket.gaierror(-2, "Name or service not known"), Problem.DNS, "DNS"),
        (ConnectionRefusedError(111, "Connection refused"), Problem.REFUSED, "refused"),
        (OSError(113, "No route to host"), Problem.NO_ROUTE, "no route"),
        (ssl.SSLCertVerificationError("certificate verify failed"), Problem.TLS, "certificate"),
        (ssl.SSLError("wrong version number"), Problem.TLS, "TLS"),
    ],
)
def test_connection_failures_are_told_apart_in_words(
    cause: BaseException, problem: Problem, words: str
) -> None:
    error = describe_connect_error(_connect_error(cause), "in.example")
    assert error.problem == problem and words in error.message


def test_a_connection_failure_is_not_retried() -> None:
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        raise _connect_error(socket.gaierror(-2, "Name or service not known"))

    client, _ = _client(handler)
    with pytest.raises(InvoiceNinjaError) as err:
        client.ping()
    assert err.value.problem == Problem.DNS and calls == [1]


def test_a_list_stops_at_the_overall_deadline() -> None:
    now = [0.0]
    lock = threading.Lock()
    pages: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        with lock:
            now[0] += 3.0  # every page takes 3 s
            pages.append(int(request.url.params["page"]))
        page = pages[-1]
        return _page([{"id": f"p{page}"}], page, 100)

    client = InvoiceNinjaClient(
        _config(deadline=10.0),
        transport=httpx.MockTransport(handler),
        sleep=lambda s: None,
        clock=lambda: now[0],
    )
    with pytest.raises(InvoiceNinjaError) as err:
        client.list_documents("invoice")
    assert err.value.problem == Problem.DEADLINE and "10 s" in err.value.message
    assert len(pages) < 10


def test_pages_after_the_first_are_read_in_parallel_and_kept_in_order() -> None:
    in_flight = [0, 0]
    lock = threading.Lock()
    rows = [{"id": f"id{n:03d}"} for n in range(20)]

    def handler(request: httpx.Request) -> httpx.Response:
        with lock:
            in_flight[0] += 1
            in_flight[1] = max(in_flight)
        time.sleep(0.05)
        with lock:
            in_flight[0] -= 1
        page = int(request.url.params["page"])
        return _page(rows[(page - 1) * 2 : page * 2], page, 10)

    client, _ = _client(handler)
    assert [d.id for d in client.list_documents("invoice")] == [r["id"] for r in rows]
    assert 2 <= in_flight[1] <= 4


def test_currencies_come_from_statics_once() -> None:
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        return _json({"currencies": [{"id": 1, "code": "USD"}, {"id": "2", "code": "gbp"}]})

    client, _ = _client(handler)
    assert client.currency_codes() == {"1": "USD", "2": "GBP"}
    assert client.currency_codes() == {"1": "USD", "2": "GBP"}
    assert calls == ["/api/v1/statics"]


def test_a_client_is_found_only_by_an_exact_id_number() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        rows = [
            {"id": "a", "id_number": "org:cust-00011"},
            {"id": "b", "id_number": "org:cust-0001"},
        ]
        return _page(rows, 1, 1)

    client, _ = _client(handler)
    found = client.find_client("org:cust-0001")
    assert found is not None and found.id == "b"


def test_json_bodies_are_sent_with_exact_numbers() -> None:
    sent: list[bytes] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request.content)
        return _json({"data": {"id": "inv1", "number": "0001", "amount": 10}})

    client, _ = _client(handler)
    from decimal import Decimal

    doc = client.create_document(
        "invoice",
        {
            "client_id": "c",
            "line_items": [{"cost": Decimal("9.90"), "quantity": Decimal("1.0000")}],
        },
    )
    assert doc.id == "inv1"
    assert json.loads(sent[0])["line_items"][0] == {"cost": 9.9, "quantity": 1.0}
    assert b'"cost":9.90' in sent[0]


def test_a_connection_dropped_on_every_try_is_a_server_error_in_words() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.RemoteProtocolError("Server disconnected without sending a response.")

    client, slept = _client(handler)
    with pytest.raises(InvoiceNinjaError) as err:
        client.ping()
    assert err.value.problem == Problem.SERVER_ERROR and "closed the connection" in str(err.value)
    assert len(slept) == 2
