"""What `statements show` prints about a statement's review evidence and its mail's
delivery (docs/billing-rules.md "Review with evidence", "Delivery you can see")."""

from __future__ import annotations

import click

from psa_billing.domain.statement import Statement


def print_review_and_delivery(st: Statement) -> None:
    if st.evidence is not None:
        ev = st.evidence
        if ev.held:
            click.echo(f"  held      {'; '.join(ev.held)}")
        click.echo("")
        click.echo("Change against the previous statement:")
        for line in ev.lines():
            click.echo(f"  {line}")
        if ev.devices_added:
            click.echo(f"  devices that came: {', '.join(ev.devices_added)}")
        if ev.devices_removed:
            click.echo(f"  devices that went: {', '.join(ev.devices_removed)}")
        click.echo("")
    if st.delivery is not None:
        click.echo(f"  delivery  {st.delivery.summary()}")
        click.echo(
            f"            at {st.delivery.at}, revision {st.delivery.revision}, "
            f"message {st.delivery.message_id} ({st.delivery.source})"
        )
    elif st.message_id:
        click.echo(f"  delivery  accepted by SES (message {st.message_id}); no news yet")
    if st.delivery_events:
        click.echo("")
        click.echo("Mail events, in order:")
        for e in st.delivery_events:
            click.echo(f"  {e.at}  r{e.revision}  {e.summary()}  ({e.source})")


def review_reason(st: Statement) -> str:
    """Why a statement waits in the review queue, in one line."""
    if st.delivery is not None and st.delivery.needs_review:
        return st.delivery.summary()
    if st.evidence is not None and st.evidence.held:
        return "held: " + "; ".join(st.evidence.held)
    if st.last_error:
        return st.last_error
    if st.revision > 0:
        return f"adjusted (revision {st.revision}): waits to be sent again"
    return "auto-send is off for this customer"


def print_review_queue(items: list[Statement]) -> None:
    """The statements waiting for a person, each with why and its evidence."""
    waiting = [s for s in items if str(s.status) == "pending_review"]
    if not waiting:
        click.echo("nothing waits for review")
        return
    for st in waiting:
        now = st.current()
        click.echo(f"{st.number}  {st.id}  {st.customer_name}  {now.total} {st.currency}")
        click.echo(f"  why: {review_reason(st)}")
        if st.evidence is not None:
            for line in st.evidence.lines():
                click.echo(f"      {line}")
