"""``psa-billing local up``: the local stack, optionally with a demo run, until Ctrl-C."""

from __future__ import annotations

import json
import re
import signal
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import click

from psa_billing_dev.cli import report, target


def up(
    *,
    port: int | None,
    demo: bool,
    customers: int,
    seed: int,
    out: Path,
    exit_after_demo: bool = False,
) -> None:
    from psa_billing_dev.cli.errors import _fail  # noqa: PLC0415
    from psa_billing_dev.local.stack import LocalPortInUseError, start_local_stack  # noqa: PLC0415

    chosen = port if port is not None else int(target.local_endpoint().rsplit(":", 1)[1])
    click.echo(f"starting the local stack on 127.0.0.1:{chosen} ...", err=True)
    try:
        stack = start_local_stack(port=chosen)
    except LocalPortInUseError as exc:
        _fail(str(exc))
        return
    from psa_billing_dev.cli.users import start_local_api  # noqa: PLC0415

    api = start_local_api(stack, demo=demo)
    invoiceninja = _start_invoiceninja(customers=customers, seed=seed) if demo else None
    try:
        click.echo(f"local stack ready at {stack.endpoint} (all state is kept in memory)")
        if demo:
            run_demo(customers=customers, seed=seed, out=out)
        if exit_after_demo:
            return
        click.echo("")
        from psa_billing_dev.cli.users import print_api_help  # noqa: PLC0415

        print_api_help(api, demo=demo)
        if invoiceninja is not None:
            click.echo(
                f"InvoiceNinja stand-in at {invoiceninja.url} (token {invoiceninja.token}): "
                f"GET {api.url}/api/billing/invoices lists its invoices"
            )
        click.echo(f"Up at {stack.endpoint}. In another shell try:")
        click.echo("  psa-billing statements list --org demo-msp")
        click.echo("Press Ctrl-C to stop (everything is forgotten).")
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        try:
            while not stop.wait(1):
                pass
        except KeyboardInterrupt:
            pass
    finally:
        if invoiceninja is not None:
            invoiceninja.stop()
        api.stop()
        stack.stop()
        click.echo("local stack stopped", err=True)


def _start_invoiceninja(*, customers: int, seed: int) -> Any:
    """A local InvoiceNinja stand-in seeded with the demo organisation's customers and
    projects, configured the way an MSP configures the real one (environment)."""
    import os  # noqa: PLC0415

    from psa_billing.invoiceninja import wiring  # noqa: PLC0415
    from psa_billing_dev.invoiceninja_standin import start  # noqa: PLC0415

    standin = start(customers=customers, seed=seed, org_id="demo-msp")
    os.environ["INVOICENINJA_URL"] = standin.url
    os.environ["INVOICENINJA_TOKEN"] = standin.token
    wiring.reset()
    return standin


def run_demo(*, customers: int, seed: int, out: Path) -> None:
    from psa_billing import runtime  # noqa: PLC0415
    from psa_billing.domain.model import Period  # noqa: PLC0415

    period = Period.before(datetime.now(UTC).date())
    repo = runtime.repository()
    counts = prepare_demo_org(repo, customers=customers, seed=seed, period=period)
    click.echo(f"imported demo organisation demo-msp: {counts}")
    summary = report.run_and_wait(
        repo, org_id="demo-msp", period=str(period), customers=None, wait=True
    )
    assert summary is not None
    report.print_run_summary(repo, summary)
    pdfs, mails = export_outputs(out)
    click.echo("")
    click.echo(f"PDFs:   {len(pdfs)} in {out / 'pdf'}/  (also in S3: s3://{_bucket()}/statements/)")
    click.echo(f"Emails: {len(mails)} in {out / 'mail'}/  (what the local SES accepted, .eml)")


def prepare_demo_org(
    repo: Any, *, customers: int, seed: int, period: Any, org_id: str = "demo-msp"
) -> str:
    """The demo organisation as ``local up --demo`` has it before its run: the demo
    document imported, the organisation's document settings, the "projects" feature on.
    Also used by the browser tests (tests/browser). Returns the import's counts."""
    from psa_billing import runtime  # noqa: PLC0415
    from psa_billing.domain.org import new_org_settings, update_org_settings  # noqa: PLC0415
    from psa_billing.logic.importing import import_document  # noqa: PLC0415
    from psa_billing_dev.demo import demo_document, with_statement_details  # noqa: PLC0415

    doc = with_statement_details(demo_document(customers, seed, period, org_id=org_id))
    result = import_document(
        json.dumps(doc, ensure_ascii=False).encode(),
        repo,
        clock=runtime.utc_now,
        leases=runtime.leases(),
        holder="the demo",
    )
    org = repo.get_org(org_id) or new_org_settings(org_id, "Demo MSP Ltd")
    repo.put_org(
        update_org_settings(
            org,
            {
                "addressLines": [
                    "Unit 4, Riverside Business Park",
                    "Leeds LS1 4AP",
                    "United Kingdom",
                ],
                "email": "accounts@msp.example",
                "legalName": f"{org.name} Limited" if not org.name.endswith("Ltd") else org.name,
                "taxRegistrationNumber": "GB123456789",
                "taxLabel": "VAT",
                "paymentTermsDays": 30,
                "paymentInstructions": "Bank transfer to Demo MSP Ltd\n"
                "Sort code 12-34-56, account 12345678\nReference: the statement number",
                "footerNote": "Registered in England and Wales, company no. 01234567.",
            },
        )
    )
    from psa_billing import config  # noqa: PLC0415
    from psa_billing.dal.access import AccessRepository  # noqa: PLC0415

    s = config.storage()
    # The product doc's /billing needs the "projects" feature: the demo has it on.
    AccessRepository(s.data_table, s.aws_default_region).put_org_features(
        org_id, {"projects": True}, "the demo"
    )
    return ", ".join(f"{n} {kind}" for kind, n in result.counts.items())


def _bucket() -> str:
    from psa_billing import config  # noqa: PLC0415

    return config.bucket().statements_bucket


def export_outputs(out: Path) -> tuple[list[Path], list[Path]]:
    """Copy every statement PDF from the local S3 and every mail the local SES accepted
    into ``out`` so they can be opened without any AWS tooling."""
    s3 = boto3.client("s3")
    pdf_dir, mail_dir = out / "pdf", out / "mail"
    pdf_dir.mkdir(parents=True, exist_ok=True)
    mail_dir.mkdir(parents=True, exist_ok=True)
    pdfs: list[Path] = []
    for page in s3.get_paginator("list_objects_v2").paginate(
        Bucket=_bucket(), Prefix="statements/"
    ):
        for obj in page.get("Contents", []):
            if not obj["Key"].endswith(".pdf"):
                continue  # a logo, or a very big month's lines (dal/bodies.py)
            path = pdf_dir / obj["Key"].removeprefix("statements/").replace("/", "_")
            path.write_bytes(s3.get_object(Bucket=_bucket(), Key=obj["Key"])["Body"].read())
            pdfs.append(path)
    mails: list[Path] = []
    for n, msg in enumerate(sent_messages(), start=1):
        raw = getattr(msg, "raw_data", None)
        if raw is None:
            continue
        to = next(iter(getattr(msg, "destinations", []) or ["unknown"]), "unknown")
        path = mail_dir / f"{n:04d}-{re.sub(r'[^A-Za-z0-9@._-]', '_', str(to))}.eml"
        path.write_text(raw, encoding="utf-8")
        mails.append(path)
    return pdfs, mails


def sent_messages() -> list[Any]:
    """What moto's SES accepted (in-process: the server runs in this process)."""
    from moto.ses.models import ses_backends  # noqa: PLC0415

    from psa_billing_dev.local.template import local_resources  # noqa: PLC0415

    res = local_resources()
    return list(ses_backends[res.account_id][res.region].sent_messages)
