"""Serve the billing API locally: the same ``create_app()`` as Lambda, on uvicorn in a
thread of the local stack's process, against the local stack.

Only the settings that differ from AWS are set here: the JWKS URL on the moto server
(moto's tokens carry the real-looking issuer), the local machine-token issuer, and a
cursor key made at start-up (cursors do not outlive the local stack, nor does its data).
"""

from __future__ import annotations

import asyncio
import errno
import os
import secrets
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Final

import uvicorn

from psa_billing_dev.local.cognito import READ_SCOPE, PoolRef, ensure_resource_server, idp_client
from psa_billing_dev.local.machine_tokens import LocalTokenIssuer

DEFAULT_API_PORT: Final = 8000
API_PORT_ENV: Final = "PSA_BILLING_API_PORT"


class ApiPortInUseError(Exception):
    def __init__(self, port: int) -> None:
        super().__init__(
            f"port {port} on 127.0.0.1 is already in use, so the local API cannot start; "
            f"stop what is using it or set {API_PORT_ENV} to another port"
        )
        self.port = port


@dataclass
class RunningApi:
    url: str
    port: int
    issuer: LocalTokenIssuer
    app: Any
    _server: uvicorn.Server = field(repr=False)
    _thread: threading.Thread = field(repr=False)

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)


def default_api_port() -> int:
    return int(os.environ.get(API_PORT_ENV, str(DEFAULT_API_PORT)))


def _bind(port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.bind(("127.0.0.1", port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise ApiPortInUseError(port) from None
        raise
    sock.listen(128)
    return sock


def configure_api_env(endpoint: str, pool: PoolRef, issuer: LocalTokenIssuer) -> None:
    """Point the API's settings at the local stack and forget any cached adapters."""
    from psa_billing.api import deps  # noqa: PLC0415
    from psa_billing.api.settings import get_api_settings  # noqa: PLC0415

    os.environ["USER_POOL_ID"] = pool.user_pool_id
    os.environ["USER_POOL_CLIENT_ID"] = pool.client_id
    os.environ["AUTH_ISSUER"] = pool.issuer
    os.environ["AUTH_JWKS_URL"] = pool.jwks_url(endpoint)
    os.environ["MACHINE_TOKEN_ISSUER"] = issuer.issuer
    os.environ["MACHINE_TOKEN_JWKS_URL"] = issuer.jwks_url
    os.environ["MACHINE_READ_SCOPE"] = READ_SCOPE
    os.environ["PDF_LINK_ENDPOINT"] = endpoint
    os.environ.setdefault("CURSOR_SECRET", secrets.token_urlsafe(32))
    get_api_settings.cache_clear()
    for name in dir(deps):
        cached = getattr(deps, name)
        if callable(getattr(cached, "cache_clear", None)) and name != "get_api_settings":
            cached.cache_clear()


def start_api_server(stack: Any, port: int | None = None) -> RunningApi:
    """Serve on 127.0.0.1:``port`` (0 = any free port) until ``stop()``."""
    from psa_billing.api.app import create_app  # noqa: PLC0415

    sock = _bind(default_api_port() if port is None else port)
    bound = int(sock.getsockname()[1])
    url = f"http://127.0.0.1:{bound}"
    idp = idp_client(stack.endpoint)
    res = stack.resources
    pool = PoolRef(res.user_pool_id, res.user_pool_client_id, res.region)
    ensure_resource_server(idp, pool)
    issuer = LocalTokenIssuer(url, pool, idp)
    configure_api_env(stack.endpoint, pool, issuer)
    app = create_app()
    app.include_router(issuer.router())
    config = uvicorn.Config(
        app, log_level="warning", access_log=False, lifespan="off", timeout_keep_alive=30
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=lambda: asyncio.run(server.serve(sockets=[sock])), name="local-api", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            sock.close()
            raise RuntimeError(f"the local API did not start on {url}")
        time.sleep(0.02)
    return RunningApi(url=url, port=bound, issuer=issuer, app=app, _server=server, _thread=thread)
