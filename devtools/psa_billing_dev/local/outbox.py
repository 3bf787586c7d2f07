"""The local SES outbox: what moto's SES accepted, readable from any process.

moto keeps sent mail in memory of the server process, and its own
``/moto-api/data.json`` fails once Lambda functions exist without Docker. The local
stack therefore answers ``GET /_psa-billing/outbox`` itself (see ``OutboxServer``).
"""

from __future__ import annotations

import email
import email.policy
import json
from collections.abc import Callable, Iterable
from typing import Any

import httpx
from moto.moto_server.threaded_moto_server import ThreadedMotoServer
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import make_server

OUTBOX_PATH = "/_psa-billing/outbox"


def describe(raw: str) -> dict[str, Any]:
    msg = email.message_from_string(raw, policy=email.policy.default)
    attachments = []
    for part in msg.walk():
        filename = part.get_filename()
        if filename:
            payload = part.get_payload(decode=True)
            size = len(payload) if isinstance(payload, bytes) else 0
            attachments.append(
                {"filename": filename, "contentType": part.get_content_type(), "size": size}
            )
    return {
        "from": str(msg.get("From", "")),
        "to": str(msg.get("To", "")),
        "subject": str(msg.get("Subject", "")),
        "date": str(msg.get("Date", "")),
        "attachments": attachments,
    }


def sent_mail(account_id: str, region: str) -> list[dict[str, Any]]:
    from moto.ses.models import ses_backends  # noqa: PLC0415 - the server process only

    out = []
    for m in ses_backends[account_id][region].sent_messages:
        raw = getattr(m, "raw_data", None)
        if raw:
            out.append(describe(raw))
        else:
            out.append(
                {
                    "from": getattr(m, "source", ""),
                    "to": ", ".join(getattr(m, "destinations", {}).get("ToAddresses", [])),
                    "subject": getattr(m, "subject", ""),
                    "date": "",
                    "attachments": [],
                }
            )
    return out


class OutboxServer(ThreadedMotoServer):
    """moto's threaded server with one extra read-only route for the outbox."""

    def __init__(self, *, account_id: str, region: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._account_id = account_id
        self._region = region

    def _server_entry(self) -> None:
        moto_app = DomainDispatcherApplication(create_backend_app)

        def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
            if environ.get("PATH_INFO") == OUTBOX_PATH and environ.get("REQUEST_METHOD") == "GET":
                body = json.dumps(sent_mail(self._account_id, self._region)).encode()
                start_response("200 OK", [("Content-Type", "application/json")])
                return [body]
            result: Iterable[bytes] = moto_app(environ, start_response)
            return result

        self._server = make_server(
            self._ip_address, self._port, app, True, request_handler=MotoRequestHandler
        )
        self._server_ready_event.set()
        self._server.serve_forever()


def read_outbox(endpoint: str) -> list[dict[str, Any]]:
    resp = httpx.get(endpoint.rstrip("/") + OUTBOX_PATH, timeout=10)
    resp.raise_for_status()
    result: list[dict[str, Any]] = resp.json()
    return result
