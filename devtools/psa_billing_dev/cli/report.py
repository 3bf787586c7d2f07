"""What the command line prints: run progress, run summaries, statements."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import click

from psa_billing import config
from psa_billing.domain.late import LateTime
from psa_billing.domain.model import Line
from psa_billing.domain.money import Currency, format_amount
from psa_billing.domain.statement import (
    Statement,
    StatementStatus,
    format_percent,
    format_quantity,
)
from psa_billing.logic.events import RunRequest
from psa_billing_dev.cli.report_review import print_review_and_delivery
from psa_billing_dev.cli.runner import Progress, start_run, wait_for_run


class ProgressBar:
    """done / failed / total on one redrawn line (only when stderr is a terminal)."""

    def __init__(self, width: int = 30) -> None:
        self.width = width
        self.tty = sys.stderr.isatty()
        self.last = ""

    def __call__(self, p: Progress) -> None:
        if p.total is None:
            text = "planning the run..."
        else:
            filled = self.width * p.done // max(p.total, 1)
            bar = "#" * filled + "." * (self.width - filled)
            text = f"[{bar}] {p.done}/{p.total} done, {p.failed} failed"
        if text != self.last and self.tty:
            click.echo("\r" + text, nl=False, err=True)
        self.last = text

    def close(self) -> None:
        if self.tty and self.last:
            click.echo("", err=True)


def run_and_wait(
    repo: Any, *, org_id: str, period: str, customers: list[str] | None, wait: bool
) -> dict[str, Any] | None:
    request = RunRequest(trigger="manual", orgId=org_id, period=period, customerIds=customers)
    arn = start_run(config.run().state_machine_arn, request)
    run_id = arn.rsplit(":", 1)[-1]
    if not wait:
        click.echo(run_id)
        return None
    click.echo(f"run {run_id}: billing {org_id} for {period}", err=True)
    bar = ProgressBar()
    try:
        result = wait_for_run(arn, repo, on_progress=bar)
    finally:
        bar.close()
    return result.summary


def print_run_summary(repo: Any, summary: dict[str, Any]) -> None:
    counts = summary.get("counts", {})
    run_id = summary.get("runId", "")
    click.echo(
        f"run {run_id} {summary.get('status')}: {summary.get('total')} customers - "
        f"{counts.get('billed', 0)} billed, {counts.get('already_billed', 0)} already billed, "
        f"{counts.get('nothing_to_bill', 0)} nothing to bill, {counts.get('failed', 0)} failed"
    )
    outcomes = {(o.org_id, o.customer_id): o for o in repo.outcomes(run_id)}
    statements = {}
    for org_id in {org for org, _ in outcomes}:
        for st in repo.list_statements(org_id, summary.get("period")):
            statements[(st.org_id, st.customer_id)] = st
    rows = []
    for key in sorted(outcomes):
        o = outcomes[key]
        st = statements.get(key)
        if st is not None:
            cur = Currency.of(st.currency)
            rows.append(
                (
                    o.customer_id,
                    _clip(st.customer_name, 28),
                    str(o.outcome),
                    st.currency,
                    format_amount(st.total, cur),
                    str(len(st.lines)),
                    str(st.status),
                )
            )
        else:
            rows.append((o.customer_id, "", str(o.outcome), "", "", "", _clip(o.error or "", 60)))
    if rows:
        _table(("customer", "name", "outcome", "cur", "total", "lines", "delivery"), rows)
    for failure in summary.get("failures", []):
        click.echo(f"failed: {failure['orgId']}/{failure['customerId']}: {failure['error']}")
    for o in outcomes.values():
        if str(o.outcome) == "already_billed" and o.error:
            click.echo(f"already billed: {o.org_id}/{o.customer_id}: {o.error}")
    # docs/billing-rules.md "Late time": not billed by a re-run; reported, per customer.
    for late in summary.get("late", []):
        entries = late["entries"]
        click.echo(
            f"late time waiting: {late['orgId']}/{late['customerId']}: {entries} "
            f"entr{'y' if entries == 1 else 'ies'}, {late['hours']} h, for "
            f"{late['statementId']} (bill with `statements adjust "
            f"{late['statementId']} --late-time --reason ...`)"
        )


def print_statement_table(items: list[Statement]) -> None:
    if not items:
        click.echo("no statements")
        return
    rows = []
    for st in items:
        cur = Currency.of(st.currency)
        now = st.current()
        rows.append(
            (
                st.id,
                _clip(st.customer_name, 28),
                str(st.period),
                st.currency,
                format_amount(now.subtotal, cur),
                format_amount(now.tax, cur),
                format_amount(now.total, cur),
                str(st.revision),
                f"{st.status} ({st.delivery.kind})" if st.delivery else str(st.status),
            )
        )
    _table(("id", "customer", "period", "cur", "subtotal", "tax", "total", "rev", "status"), rows)


def _print_bill_to(st: Statement) -> None:
    bill_to = st.customer_profile  # as billed (docs/documents.md)
    if bill_to.address_lines:
        click.echo(f"  address   {', '.join(bill_to.address_lines)}")
    if bill_to.tax_id:
        click.echo(f"  tax id    {bill_to.tax_id}")
    if bill_to.locale or bill_to.payment_terms_days is not None:
        terms = bill_to.payment_terms_days
        click.echo(
            f"  locale    {bill_to.locale or '(organisation default)'}   payment terms "
            + (f"{terms} days" if terms is not None else "(organisation default)")
        )


def _print_claim(st: Statement) -> None:
    """What is known of a send claim still held or whose outcome is unknown."""
    claim = st.claim_public()
    if claim is None:
        return
    click.echo(
        f"  claim     taken {claim['claimedAt'] or '(not recorded)'}, handed to SES "
        f"{claim['handedToSesAt'] or '(not recorded)'}, expires {claim['expiresAt']}"
    )
    if st.status is StatementStatus.SEND_UNKNOWN:
        click.echo(
            "  unknown   the mail was handed to SES but its answer was never recorded: check "
            "with the customer, then `statements resend` it or `statements mark-sent` it"
        )


def _print_void_notice(st: Statement) -> None:
    """Where a void statement's notice stands, with what is known of its claim."""
    notice = st.void_notice_public()
    if notice is None or notice["state"] == "not_needed":
        return
    state = notice["state"]
    if state == "sent":
        by = notice["markedSentBy"]
        marked = f" (marked sent by {by}: the outcome was unknown)" if by else ""
        click.echo(f"  void notice sent {notice['sentAt']}{marked}")
        return
    said = {
        "not_sent": "not sent yet: `statements resend` emails it",
        "sending": "being sent",
        "failed": f"failed: {notice['error']}; `statements resend` tries again",
        "released": f"released: {notice['error']}",
        "unknown": "unknown: it was handed to SES but its answer was never recorded; check "
        "with the customer, then `statements resend --anyway` it or `statements mark-sent` it",
    }
    click.echo(f"  void notice {said.get(state, state)}")
    if notice["claimedAt"]:
        click.echo(
            f"  notice claim taken {notice['claimedAt']}, handed to SES "
            f"{notice['handedToSesAt'] or '(not recorded)'}, expires "
            f"{notice['claimExpiresAt']}"
        )


def print_statement(st: Statement, late: LateTime | None = None) -> None:
    cur = Currency.of(st.currency)
    click.echo(f"Statement {st.number}  ({st.id})")
    click.echo(f"  customer  {st.customer_name} <{st.billing_email}>")
    _print_bill_to(st)
    version = f"   version {st.version}" if st.version > 1 else ""
    click.echo(
        f"  period    {st.period}   currency {st.currency}   revision {st.revision}{version}"
    )
    click.echo(f"  status    {st.status}   created {st.created_at.isoformat(timespec='seconds')}")
    if st.last_error:
        click.echo(f"  error     {st.last_error}")
    _print_claim(st)
    voided = st.void_adjustment
    if st.is_void and voided is not None:
        click.echo(f"  VOID      {voided.at} by {voided.actor}: {voided.reason}")
        click.echo(f"  amount due {format_amount(st.amount_due(), cur)} {st.currency}")
    _print_void_notice(st)
    print_review_and_delivery(st)
    if late is not None and late.entries:
        _print_late(st, late)

    def lines_table(lines: tuple[Line, ...]) -> None:
        rows: list[tuple[str, ...]] = []
        for ln in lines:
            rows.append(
                (
                    ln.id,
                    _clip(ln.description, 60),
                    format_quantity(ln),
                    format_amount(ln.unit_price, cur),
                    format_amount(ln.amount, cur),
                )
            )
            # The tickets an included-hours line covered, with their minutes (no charge).
            for t in ln.coverage.tickets if ln.coverage else ():
                minutes = f"{t.minutes.normalize():f} min"
                rows.append(("", _clip(f"  covered: {t.label}", 60), minutes, "", ""))
        _table(("line", "description", "qty", "unit price", "amount"), rows)

    def totals(subtotal: Decimal, tax: Decimal, total: Decimal) -> None:
        click.echo(f"  subtotal  {format_amount(subtotal, cur):>14} {st.currency}")
        click.echo(
            f"  tax       {format_amount(tax, cur):>14} {st.currency}"
            f"  ({format_percent(st.tax_percent)}%)"
        )
        click.echo(f"  total     {format_amount(total, cur):>14} {st.currency}")

    click.echo("")
    if st.adjustments:
        click.echo("Original lines (never changed):")
    lines_table(st.lines)
    click.echo("")
    if not st.adjustments:
        totals(st.subtotal, st.tax, st.total)
        return
    totals(st.subtotal, st.tax, st.total)
    click.echo("")
    click.echo("Adjustments, in order:")
    for a in st.adjustments:
        click.echo(f"  {a.number}. {a.at}  {a.actor}: {a.summary(cur)}")
        click.echo(f"     reason: {a.reason}")
    now = st.current()
    click.echo("")
    click.echo(f"Effective statement (revision {st.revision}):")
    lines_table(now.lines)
    click.echo("")
    totals(now.subtotal, now.tax, now.total)


def _print_late(st: Statement, late: LateTime) -> None:
    hours = late.public()["hours"]
    click.echo(
        f"  late time {len(late.entries)} entries ({hours} h) waiting: "
        f"`statements adjust {st.id} --late-time --reason ...` bills them"
    )
    rows = [
        (e.id, e.date.isoformat(), str(e.minutes), e.ticket_id or e.project_id or "", e.user_id)
        for e in late.entries
    ]
    _table(("entry", "date", "minutes", "ticket/project", "user"), rows)


def _clip(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def _table(header: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> None:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    numeric = {"total", "subtotal", "tax", "amount", "unit price", "qty", "lines", "rev"}

    def fmt(cells: tuple[str, ...]) -> str:
        return "  ".join(
            c.rjust(w) if h in numeric else c.ljust(w)
            for c, w, h in zip(cells, widths, header, strict=True)
        ).rstrip()

    click.echo(fmt(header))
    click.echo("  ".join("-" * w for w in widths))
    for r in rows:
        click.echo(fmt(r))
