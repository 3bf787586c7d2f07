"""``psa-billing invoiceninja status`` and ``psa-billing invoiceninja push``.

Register with ``cli.add_command(invoiceninja)`` in ``psa_billing_dev.cli.main``.
``status`` needs only the settings. ``push`` also needs the portal's ports: the main CLI
passes a ``PortalPorts`` (or a zero-argument callable returning one) as the click
context object of the root command.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from datetime import UTC, datetime

import click

from psa_billing.invoiceninja import wiring
from psa_billing.invoiceninja.connection import check_connection
from psa_billing.invoiceninja.errors import InvoiceNinjaError, PushError
from psa_billing.invoiceninja.ports import PortalPorts, Source
from psa_billing.invoiceninja.push import Clock, push


def _fail(message: str, code: int = 1) -> None:
    click.echo(f"psa-billing: {message}", err=True)
    sys.exit(code)


@click.group("invoiceninja")
def invoiceninja() -> None:
    """The InvoiceNinja sync: test the connection, push projects and tickets.

    Configured by INVOICENINJA_URL and INVOICENINJA_TOKEN (or INVOICENINJA_TOKEN_PARAMETER,
    the name of an SSM SecureString).
    """


@invoiceninja.command("status")
def status() -> None:
    """Not configured, connected (with the company name), or unreachable (with why).

    Exits 0 when connected, 1 when unreachable, 2 when not configured.
    """
    result = check_connection(wiring.api_client)
    if result.state == "connected":
        click.echo(f"connected: {result.company_name}")
        return
    if result.state == "not_configured":
        click.echo("not configured: set INVOICENINJA_URL and INVOICENINJA_TOKEN")
        sys.exit(2)
    click.echo(f"unreachable: {result.message}")
    sys.exit(1)


def _ports(ctx: click.Context) -> PortalPorts:
    obj = ctx.find_root().obj
    if callable(obj) and not isinstance(obj, PortalPorts):
        factory: Callable[[], object] = obj
        obj = factory()
    if not isinstance(obj, PortalPorts):
        raise click.UsageError(
            "push needs the portal repository; run it as `psa-billing invoiceninja push`"
        )
    return obj


@invoiceninja.command("push")
@click.option("--org", "org_id", required=True, help="Organisation of the project or ticket.")
@click.option("--project", "project_id", help="Push this billable project.")
@click.option("--ticket", "ticket_id", help="Push this ticket's billable time as an invoice.")
@click.option(
    "--as",
    "kind",
    type=click.Choice(["invoice", "quote"]),
    default="invoice",
    show_default=True,
    help="What a project becomes in InvoiceNinja.",
)
@click.option("--idempotency-key", help="Retrying with the same key never pushes twice.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_context
def push_cmd(
    ctx: click.Context,
    org_id: str,
    project_id: str | None,
    ticket_id: str | None,
    kind: str,
    idempotency_key: str | None,
    as_json: bool,
) -> None:
    """Push the time not pushed yet as one InvoiceNinja invoice (or quote)."""
    if (project_id is None) == (ticket_id is None):
        raise click.UsageError("give exactly one of --project and --ticket")
    if ticket_id is not None and kind != "invoice":
        raise click.UsageError("a ticket is pushed as an invoice")
    source = Source("project", project_id) if project_id else Source("ticket", ticket_id or "")
    ports = _ports(ctx)
    try:
        api = wiring.api_client()
        if api is None:
            _fail("InvoiceNinja is not configured: set INVOICENINJA_URL and INVOICENINJA_TOKEN", 2)
            return
        result = push(
            org_id,
            source,
            "invoice" if kind == "invoice" else "quote",
            work=ports.work,
            store=ports.store,
            api=api,
            clock=Clock(now=lambda: datetime.now(UTC)),
            idempotency_key=idempotency_key,
        )
    except (InvoiceNinjaError, PushError) as exc:
        _fail(str(exc))
        return
    rec = result.record
    if as_json:
        click.echo(
            json.dumps(
                {
                    "outcome": result.outcome,
                    "kind": rec.document_kind,
                    "documentId": rec.document_id,
                    "documentNumber": rec.document_number,
                    "url": result.url,
                    "inClientId": rec.in_client_id,
                    "clientCreated": result.client_created,
                    "entryIds": list(rec.entry_ids),
                },
                indent=2,
            )
        )
        return
    verb = "pushed" if result.outcome == "created" else "already pushed"
    client = " (new InvoiceNinja client)" if result.client_created else ""
    click.echo(
        f"{source}: {verb} as {rec.document_kind} {rec.document_number or rec.document_id}, "
        f"{len(rec.entry_ids)} time entries{client}"
    )
    click.echo(f"  {result.url}")
