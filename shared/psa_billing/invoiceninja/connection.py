"""Use case: the admin page's connection tester (product doc "Configuring InvoiceNinja")."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from psa_billing.invoiceninja.errors import InvoiceNinjaError
from psa_billing.invoiceninja.ports import InvoiceNinjaApi

ConnectionState = Literal["not_configured", "connected", "unreachable"]


@dataclass(frozen=True, slots=True)
class ConnectionStatus:
    state: ConnectionState
    company_name: str | None = None
    problem: str | None = None  # a Problem value when unreachable
    message: str | None = None  # the reason in words when unreachable


def check_connection(open_api: Callable[[], InvoiceNinjaApi | None]) -> ConnectionStatus:
    """Not configured, connected (with the company name), or unreachable (with why).

    ``open_api`` gives the configured client, None when nothing is configured, or raises
    InvoiceNinjaError when the configuration itself is wrong. One ``GET /ping``, the
    lightest authenticated call (invoiceninja-api.md §2).
    """
    try:
        api = open_api()
        if api is None:
            return ConnectionStatus("not_configured")
        ping = api.ping()
    except InvoiceNinjaError as exc:
        return ConnectionStatus("unreachable", problem=str(exc.problem), message=exc.message)
    return ConnectionStatus("connected", company_name=ping.company_name or "Untitled Company")
