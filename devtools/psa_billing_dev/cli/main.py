"""The ``psa-billing`` command line."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import click

from psa_billing_dev.cli import target
from psa_billing_dev.cli.errors import _fail, reports_errors

F = TypeVar("F", bound=Callable[..., Any])


def _connect() -> None:
    if not target.targets_aws():
        target.use_local_stack()


def _repo() -> Any:
    from psa_billing import runtime  # noqa: PLC0415

    _connect()
    return runtime.repository()


def _portal_ports() -> Any:
    """What `invoiceninja push` reads and writes: the portal's records and the sync's
    own items, in the same table (built only when a push needs them)."""
    from psa_billing import config  # noqa: PLC0415
    from psa_billing.dal.invoiceninja_store import DynamoInvoiceNinjaStore  # noqa: PLC0415
    from psa_billing.dal.portal import DynamoPortal  # noqa: PLC0415
    from psa_billing.invoiceninja.ports import PortalPorts  # noqa: PLC0415

    _repo()  # connects to the target and binds the models to its table
    portal = DynamoPortal()
    s = config.storage()
    store = DynamoInvoiceNinjaStore(s.data_table, s.aws_default_region)
    return PortalPorts(directory=portal, work=portal, store=store)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--debug", is_flag=True, help="Show the traceback of an unexpected error.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """Monthly PSA billing for MSPs: import data, run billing, inspect statements.

    Every command talks to the local stack (`psa-billing local up`) unless
    PSA_BILLING_TARGET=aws, in which case it uses your AWS configuration and the
    deployed stack's DATA_TABLE, STATEMENTS_BUCKET and STATE_MACHINE_ARN.
    """
    ctx.obj = _portal_ports
    if debug:
        os.environ["PSA_BILLING_DEBUG"] = "1"


# ------------------------------------------------------------------------------- data


@cli.command("import")
@click.argument("what", nargs=-1, required=True, metavar="FILE | status ORG")
@click.option("--dry-run", is_flag=True, help="Check the document; write nothing.")
@reports_errors
def import_cmd(what: tuple[str, ...], dry_run: bool) -> None:
    """Load an organisation's billing data (upsert by id), or show its last import.

    `import FILE`: the whole document is checked first; a document with any problem is
    refused with every problem listed, and nothing is written. No run of the
    organisation overlaps the writing. `import status ORG`: whether the organisation's
    last import finished (an unfinished one blocks its runs until it is imported again).
    """
    if what[0] == "status":
        if len(what) != 2:
            _fail("usage: psa-billing import status ORG")
        _import_status(what[1])
        return
    if len(what) != 1:
        _fail("give one document: psa-billing import FILE")
    file = Path(what[0])
    if not file.is_file():
        _fail(f"{file}: no such file" if not file.exists() else f"{file}: not a file")
    _import_file(file, dry_run)


def _import_status(org_id: str) -> None:
    from psa_billing import runtime  # noqa: PLC0415

    _repo()
    state = runtime.leases().import_state(org_id)
    if state is None:
        click.echo(f"{org_id}: no import recorded")
        return
    if state.complete:
        click.echo(
            f"{org_id}: complete: {state.items_written} items, {state.holder}, "
            f"finished {state.finished_at}"
        )
        return
    click.echo(
        f"{org_id}: INCOMPLETE: {state.holder} stopped after {state.items_written} items; "
        "its runs are refused until the same document is imported again"
    )
    sys.exit(3)


def _import_file(file: Path, dry_run: bool) -> None:
    from psa_billing import config, runtime  # noqa: PLC0415
    from psa_billing.ingest.validate import ImportRejected  # noqa: PLC0415
    from psa_billing.logic.importing import import_document  # noqa: PLC0415

    try:
        result = import_document(
            file.read_bytes(),
            _repo(),
            clock=runtime.utc_now,
            leases=runtime.leases(),
            holder=f"import of {file.name} by {_actor(None)}",
            dry_run=dry_run,
            lease_seconds=config.storage().import_lease_seconds,
        )
    except ImportRejected as exc:
        for problem in exc.problems:
            click.echo(f"  {problem}", err=True)
        _fail(f"{file}: refused, {len(exc.problems)} problem(s); nothing was written", 2)
        return
    for warning in result.warnings:
        click.echo(f"warning: {warning}", err=True)
    verb = "would write" if dry_run else "wrote"
    counts = ", ".join(f"{n} {kind}" for kind, n in result.counts.items())
    click.echo(f"{result.org_id}: {verb} {counts}")


@cli.command("demo-data")
@click.option("--customers", type=click.IntRange(1, 200_000), default=25, show_default=True)
@click.option("--seed", type=int, default=7, show_default=True)
@click.option("--period", help="Month the time entries fall in (default: last month).")
@click.option("--org", "org_id", default="demo-msp", show_default=True)
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path))
@reports_errors
def demo_data(
    customers: int, seed: int, period: str | None, org_id: str, output: Path | None
) -> None:
    """Write a realistic import document (to stdout or --output)."""
    from psa_billing.domain.model import Period  # noqa: PLC0415
    from psa_billing_dev.demo import demo_document_json  # noqa: PLC0415

    p = Period.parse(period) if period else Period.before(datetime.now(UTC).date())
    text = demo_document_json(customers, seed, p, org_id=org_id)
    if output:
        output.write_text(text, encoding="utf-8")
        click.echo(f"wrote {customers} customers for {p} to {output}", err=True)
    else:
        click.echo(text)


# -------------------------------------------------------------------------------- run


@cli.command("run")
@click.option("--org", "org_id", required=True, help="Organisation to bill.")
@click.option("--period", required=True, help="Month to bill, YYYY-MM.")
@click.option("--customer", "customers", multiple=True, help="Bill only this customer.")
@click.option("--no-wait", is_flag=True, help="Start the run and print its id.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@reports_errors
def run_cmd(
    org_id: str, period: str, customers: tuple[str, ...], no_wait: bool, as_json: bool
) -> None:
    """Bill a period through the state machine, exactly as the monthly schedule does.
    Only a month that has ended in the organisation's time zone is billed."""
    from psa_billing import runtime  # noqa: PLC0415
    from psa_billing.domain.calendar import ensure_period_ended  # noqa: PLC0415
    from psa_billing.domain.model import Period  # noqa: PLC0415
    from psa_billing_dev.cli import report  # noqa: PLC0415

    month = Period.parse(period)
    repo = _repo()
    org = repo.get_org(org_id)
    if org is None:
        _fail(f"organisation {org_id!r} does not exist (import its data first)")
        return
    ensure_period_ended(month, runtime.utc_now(), org.time_zone)  # the plan step checks too
    summary = report.run_and_wait(
        repo, org_id=org_id, period=period, customers=list(customers) or None, wait=not no_wait
    )
    if summary is None:
        return
    if as_json:
        click.echo(json.dumps(summary, indent=2))
    else:
        report.print_run_summary(repo, summary)


# ------------------------------------------------------------------------- statements


@cli.group()
def statements() -> None:
    """List and inspect statements."""


@statements.command("list")
@click.option("--org", "org_id", required=True)
@click.option("--period", help="Only this month, YYYY-MM.")
@click.option("--json", "as_json", is_flag=True)
@reports_errors
def statements_list(org_id: str, period: str | None, as_json: bool) -> None:
    """An organisation's statements, by period and customer."""
    from psa_billing.domain.model import Period  # noqa: PLC0415
    from psa_billing_dev.cli import report  # noqa: PLC0415

    if period:
        Period.parse(period)
    items = _repo().list_statements(org_id, period)
    if as_json:
        click.echo(json.dumps([s.public() for s in items], indent=2, ensure_ascii=False))
    else:
        report.print_statement_table(items)


@statements.command("show")
@click.argument("statement_id", metavar="ID|NUMBER")
@click.option("--org", "org_id", help="The organisation a NUMBER belongs to (default: any).")
@click.option("--json", "as_json", is_flag=True)
@reports_errors
def statements_show(statement_id: str, org_id: str | None, as_json: bool) -> None:
    """One statement, by id or by its number, with its lines, adjustments and totals."""
    from psa_billing_dev.cli import report  # noqa: PLC0415

    repo = _repo()
    st = repo.get_statement(statement_id) if ":" in statement_id else None
    if st is None and ":" not in statement_id:
        # A number: each organisation has its own sequence.
        for org in [org_id] if org_id else repo.list_org_ids():
            found = repo.find_by_number(org, statement_id)
            if found:
                st = repo.get_statement(found)
                break
    if st is None:
        _fail(f"no statement {statement_id!r}")
        return
    from psa_billing.logic.adjusting import late_waiting  # noqa: PLC0415

    # docs/billing-rules.md "Late time": the late entries still waiting for it.
    st, late = late_waiting(repo, st)
    if as_json:
        doc = {**st.public(), "lateWaiting": late.public()}
        click.echo(json.dumps(doc, indent=2, ensure_ascii=False))
    else:
        report.print_statement(st, late)


def _actor(actor: str | None) -> str:
    return actor or os.environ.get("USER") or "psa-billing cli"


@statements.command("adjust")
@click.argument("statement_id")
@click.option("--line", "line_id", help="Edit this line (e.g. L2).")
@click.option("--description", help="New description (edit), or the credit note's text.")
@click.option("--quantity", help="New quantity (edit): a device count or hours.")
@click.option("--unit-price", help="New unit price (edit), in the statement's currency.")
@click.option("--credit", "credit_amount", help="Add a credit note of this positive amount.")
@click.option(
    "--charge",
    "is_charge",
    is_flag=True,
    help="Add a charge: --description --quantity --unit-price.",
)
@click.option(
    "--late-time",
    "is_late",
    is_flag=True,
    help="Bill the late entries waiting (see `statements show`), by the rules.",
)
@click.option("--reason", required=True, help="Why: kept with the adjustment.")
@click.option("--actor", help="Who (default: $USER).")
@click.option("--json", "as_json", is_flag=True)
@reports_errors
def statements_adjust(
    statement_id: str,
    line_id: str | None,
    description: str | None,
    quantity: str | None,
    unit_price: str | None,
    credit_amount: str | None,
    is_charge: bool,
    is_late: bool,
    reason: str,
    actor: str | None,
    as_json: bool,
) -> None:
    """Append an adjustment: edit one line, add a credit note, add a charge, or bill
    the late entries waiting. Originals are kept; the revision goes up, the totals are
    recomputed and the new revision's PDF is rendered (`statements pdf --revision N`)."""
    from psa_billing import runtime  # noqa: PLC0415
    from psa_billing.logic.statements import (  # noqa: PLC0415
        Change,
        Charge,
        Credit,
        LateTimeChange,
        LineEdit,
        adjust,
    )
    from psa_billing_dev.cli import report  # noqa: PLC0415

    if [line_id is not None, credit_amount is not None, is_charge, is_late].count(True) != 1:
        _fail("give one of --line (an edit), --credit (a credit note), --charge or --late-time")
        return
    change: Change
    if is_late:
        if description or quantity or unit_price:
            _fail("--late-time takes --reason only: its lines are computed by the rules")
            return
        change = LateTimeChange()
    elif is_charge:
        if not (description and quantity and unit_price):
            _fail("a charge needs --description, --quantity and --unit-price")
            return
        change = Charge(description=description, quantity=quantity, unit_price=unit_price)
    elif credit_amount is not None:
        if quantity is not None or unit_price is not None:
            _fail("a credit note takes --credit and --description only")
            return
        if not description:
            _fail("a credit note needs --description")
            return
        change = Credit(amount=credit_amount, description=description)
    else:
        assert line_id is not None
        change = LineEdit(line_id, description, quantity, unit_price)
    st = adjust(
        _repo(),
        statement_id,
        change,
        actor=_actor(actor),
        reason=reason,
        clock=runtime.utc_now,
        store=runtime.object_store(),
        orgs=runtime.org_cache(),
    )
    if as_json:
        click.echo(json.dumps(st.public(), indent=2, ensure_ascii=False))
    else:
        report.print_statement(st)


@statements.command("void")
@click.argument("statement_id")
@click.option("--reason", required=True, help="Why it should not have been issued.")
@click.option("--actor", help="Who (default: $USER).")
@click.option("--json", "as_json", is_flag=True)
@reports_errors
def statements_void(statement_id: str, reason: str, actor: str | None, as_json: bool) -> None:
    """Void a statement: it is kept (number, lines, PDFs, history) with nothing due, a
    VOID-stamped PDF revision, and a void notice if it had been sent; its entries and
    devices are billed by the next run on a new statement with a new number."""
    from psa_billing import config, runtime  # noqa: PLC0415
    from psa_billing.logic.statements import void  # noqa: PLC0415
    from psa_billing_dev.cli import report  # noqa: PLC0415

    st = void(
        statement_id,
        reason=reason,
        actor=_actor(actor),
        repo=_repo(),
        store=runtime.object_store(),
        mailer=runtime.mailer(),
        orgs=runtime.org_cache(),
        sender=config.mail().sender_email,
        clock=runtime.utc_now,
    )
    if as_json:
        click.echo(json.dumps(st.public(), indent=2, ensure_ascii=False))
        return
    report.print_statement(st)
    click.echo("")
    click.echo(
        f"voided {st.id} ({st.number}); the next run for {st.customer_id} {st.period} bills "
        "its entries and devices on a new statement"
    )


def _deliver(statement_id: str, again: bool, anyway: bool = False) -> Any:
    from psa_billing import config, runtime  # noqa: PLC0415
    from psa_billing.logic.statements import deliver  # noqa: PLC0415

    return deliver(
        statement_id,
        repo=_repo(),
        store=runtime.object_store(),
        mailer=runtime.mailer(),
        orgs=runtime.org_cache(),
        sender=config.mail().sender_email,
        clock=runtime.utc_now,
        again=again,
        anyway=anyway,
    )


@statements.command("send")
@click.argument("statement_id", required=False)
@click.option("--org", "org_id", help="With --period --pending: every statement waiting.")
@click.option("--period")
@click.option("--pending", is_flag=True, help="Send every statement held for review.")
@reports_errors
def statements_send(
    statement_id: str | None, org_id: str | None, period: str | None, pending: bool
) -> None:
    """Email reviewed statements: one by id, or all pending ones of a period."""
    if statement_id:
        if org_id or period or pending:
            _fail("give a statement id, or --org ORG --period P --pending")
            return
        st = _deliver(statement_id, again=False)
        click.echo(f"sent {st.id} revision {st.revision} to {st.billing_email}")
        return
    if not (org_id and period and pending):
        _fail("give a statement id, or --org ORG --period P --pending")
        return
    from psa_billing.domain.errors import BillingError  # noqa: PLC0415
    from psa_billing.domain.model import Period  # noqa: PLC0415
    from psa_billing.logic.statements import sendable  # noqa: PLC0415

    Period.parse(period)
    waiting = sendable(_repo(), org_id, period)
    failed = 0
    for st in waiting:
        try:
            done = _deliver(st.id, again=False)
            click.echo(f"sent {done.id} revision {done.revision} to {done.billing_email}")
        except BillingError as exc:
            failed += 1
            click.echo(f"not sent {st.id}: {exc}", err=True)
    if failed:
        _fail(f"{failed} of {len(waiting)} statements not sent (see above)")
    if not waiting:
        click.echo(f"no statements of {org_id} for {period} are waiting to be sent")


@statements.command("resend")
@click.argument("statement_id")
@click.option(
    "--anyway",
    is_flag=True,
    help="A void statement's notice whose outcome is unknown: send it anyway.",
)
@reports_errors
def statements_resend(statement_id: str, anyway: bool) -> None:
    """Render the current revision to a new PDF (earlier ones are kept) and email it; of
    a void statement, email its void notice if that has not gone out."""
    st = _deliver(statement_id, again=True, anyway=anyway)
    if st.is_void:
        click.echo(f"sent the void notice of {st.id} to {st.billing_email}")
        return
    click.echo(f"sent {st.id} revision {st.revision} to {st.billing_email}")


@statements.command("mark-sent")
@click.argument("statement_id")
@click.option("--actor", help="Who checked (default: $USER).")
@reports_errors
def statements_mark_sent(statement_id: str, actor: str | None) -> None:
    """Record that a send whose outcome was unknown (send_unknown) did arrive; of a void
    statement, its void notice whose outcome was unknown."""
    from psa_billing.logic.statements import mark_sent  # noqa: PLC0415

    st = mark_sent(_repo(), statement_id, actor=_actor(actor))
    if st.is_void:
        click.echo(f"marked the void notice of {st.id} as sent")
        return
    click.echo(f"marked {st.id} revision {st.revision} as sent")


@statements.command("pdf")
@click.argument("statement_id")
@click.option("--revision", type=click.IntRange(0), help="Default: the current revision.")
@click.option("--output", "-o", required=True, type=click.Path(dir_okay=False, path_type=Path))
@reports_errors
def statements_pdf(statement_id: str, revision: int | None, output: Path) -> None:
    """Save a revision's PDF to a file."""
    from psa_billing import runtime  # noqa: PLC0415
    from psa_billing.logic.statements import pdf_bytes  # noqa: PLC0415

    data = pdf_bytes(_repo(), runtime.object_store(), runtime.org_cache(), statement_id, revision)
    output.write_bytes(data)
    click.echo(f"wrote {output} ({len(data):,} bytes)")


# ------------------------------------------------------------------------------- orgs


@cli.group()
def org() -> None:
    """The MSP's own details, printed on its statements."""


@org.command("set")
@click.argument("org_id")
@click.option("--name", help="The MSP's name.")
@click.option("--legal-name", help="Legal name, printed under the name when it differs.")
@click.option("--address", "address", multiple=True, help="An address line (repeat).")
@click.option("--email", help="Contact address shown on statements and used as Reply-To.")
@click.option("--tax-number", help="Tax registration number (e.g. a VAT number).")
@click.option("--tax-label", help='What the tax is called on statements: "VAT", "GST"...')
@click.option("--payment-terms", type=int, help="Days from issue to due date.")
@click.option("--payment-instructions", help="Bank details etc. (\\n for a new line).")
@click.option("--payment-link", help="An https link where customers pay.")
@click.option("--footer", help="Small print at the foot of every page.")
@click.option("--locale", help="Default locale of figures and dates (e.g. en-GB, de-DE).")
@click.option("--time-zone", help="IANA time zone (e.g. Europe/London).")
@click.option("--number-prefix", help="Statement number prefix (e.g. KW-).")
@click.option(
    "--logo",
    type=click.Path(exists=True, dir_okay=False, readable=True, path_type=Path),
    help="PNG or JPEG for the statements' masthead (at most 128 KB, 16-4000 px a side).",
)
@click.option("--no-logo", is_flag=True, help="Print no logo from now on.")
@click.option("--billing-day", type=int, help="Day of the month the last month is billed (1-31).")
@click.option(
    "--grace-days", type=int, help="Days after the billing day to wait for late time (0-28)."
)
@click.option("--review-total-percent", help="Hold a statement whose total moved more than this %.")
@click.option(
    "--review-devices", type=int, help="Hold a statement when more devices than this came/went."
)
@reports_errors
def org_set(org_id: str, logo: Path | None, no_logo: bool, **options: Any) -> None:
    """Set an organisation's details: what its statements say and how they are issued.
    Validated like the import: a refused value names the field and changes nothing."""
    from psa_billing.domain.org import update_org_settings  # noqa: PLC0415

    names = {
        "name": "name",
        "legal_name": "legalName",
        "address": "addressLines",
        "email": "email",
        "tax_number": "taxRegistrationNumber",
        "tax_label": "taxLabel",
        "payment_terms": "paymentTermsDays",
        "payment_instructions": "paymentInstructions",
        "payment_link": "paymentLink",
        "footer": "footerNote",
        "locale": "defaultLocale",
        "time_zone": "timeZone",
        "number_prefix": "statementNumberPrefix",
        "billing_day": "billingDay",
        "grace_days": "lateTimeGraceDays",
    }
    changes: dict[str, object] = {}
    thresholds = {
        "totalChangePercent": options.pop("review_total_percent"),
        "devicesChangedCount": options.pop("review_devices"),
    }
    for option, value in options.items():
        if value is None or value == ():
            continue
        if option == "payment_instructions":
            changes[names[option]] = str(value).replace("\\n", "\n")
        else:
            changes[names[option]] = list(value) if option == "address" else value
    if logo is not None and no_logo:
        _fail("give --logo FILE or --no-logo, not both")
        return
    repo = _repo()
    current = repo.get_org(org_id)
    if current is None:
        _fail(f"organisation {org_id!r} does not exist (import its data first)")
        return
    if any(v is not None for v in thresholds.values()):
        # One setting with two parts: a part not given keeps its value.
        kept = (
            current.review_thresholds.model_dump(by_alias=True, mode="json")
            if (current.review_thresholds)
            else {}
        )
        given = {k: v for k, v in thresholds.items() if v is not None}
        changes["reviewThresholds"] = {k: v for k, v in {**kept, **given}.items() if v is not None}
    if no_logo:
        changes["logo"] = None
    updated = update_org_settings(current, changes)  # every other setting checked first
    if logo is not None:
        updated = update_org_settings(updated, {"logo": _store_logo(org_id, logo)})
    repo.put_org(updated)
    for key, value in updated.public().items():
        click.echo(f"{key}: {value}")


def _store_logo(org_id: str, path: Path) -> str:
    """Check the image and store it in S3 under the organisation, named by its content
    (written once); returns the name the settings keep (docs/documents.md "Logo")."""
    from psa_billing import runtime  # noqa: PLC0415
    from psa_billing.dal.keys import logo_key  # noqa: PLC0415
    from psa_billing.render.logo import check_logo  # noqa: PLC0415

    checked = check_logo(path.read_bytes(), name=str(path))
    name = f"{checked.sha256}.{checked.extension}"
    runtime.object_store().put_new(logo_key(org_id, name), checked.data, checked.content_type)
    return name


# ------------------------------------------------------------------------------ local


@cli.group()
def local() -> None:
    """The local stack: moto on loopback running the real handlers and state machine."""


@local.command("up")
@click.option("--port", type=int, help="Port (default 4599 or PSA_BILLING_LOCAL_PORT).")
@click.option("--demo", is_flag=True, help="Load a demo organisation and bill last month.")
@click.option("--customers", type=click.IntRange(1, 5000), default=25, show_default=True)
@click.option("--seed", type=int, default=7, show_default=True)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("local-out"),
    show_default=True,
    help="Where copies of the PDFs and emails are written.",
)
@click.option("--exit-after-demo", is_flag=True, hidden=True)
@reports_errors
def local_up(
    port: int | None, demo: bool, customers: int, seed: int, out: Path, exit_after_demo: bool
) -> None:
    """Start the local stack and keep it up until Ctrl-C (state is kept in memory)."""
    from psa_billing_dev.cli import localdemo  # noqa: PLC0415

    localdemo.up(
        port=port,
        demo=demo,
        customers=customers,
        seed=seed,
        out=out,
        exit_after_demo=exit_after_demo,
    )


@local.command("outbox")
@click.option("--json", "as_json", is_flag=True)
@reports_errors
def local_outbox(as_json: bool) -> None:
    """What the local SES accepted: to, subject, attachments (names and sizes)."""
    from psa_billing_dev.local.stack import read_outbox  # noqa: PLC0415

    mails = read_outbox(target.local_endpoint())
    if as_json:
        click.echo(json.dumps(mails, indent=2, ensure_ascii=False))
        return
    if not mails:
        click.echo("the local outbox is empty")
    for m in mails:
        files = ", ".join(f"{a['filename']} ({a['size']:,} bytes)" for a in m["attachments"])
        click.echo(f"{m['to']}  {m['subject']}  [{files}]")


@local.command("status")
def local_status() -> None:
    """Exit 0 when the local stack is up and ready."""
    from psa_billing_dev.local.stack import is_stack_ready  # noqa: PLC0415

    endpoint = target.local_endpoint()
    if is_stack_ready(endpoint):
        click.echo(f"ready at {endpoint}")
        return
    _fail(f"no local stack at {endpoint}: start it with `psa-billing local up`")


def _register() -> None:
    from psa_billing_dev.cli.delivery_cli import (  # noqa: PLC0415
        local_bounce,
        local_schedule,
        local_ses_event,
        statements_review,
    )
    from psa_billing_dev.cli.users import clients, users  # noqa: PLC0415
    from psa_billing_dev.invoiceninja_cli import invoiceninja  # noqa: PLC0415

    for command in (local_schedule, local_bounce, local_ses_event):
        local.add_command(command)
    statements.add_command(statements_review)

    cli.add_command(invoiceninja)
    cli.add_command(users)
    cli.add_command(clients)


_register()

if __name__ == "__main__":  # pragma: no cover
    cli()
