"""What `statements show` prints about a statement's review evidence and its mail's
delivery (docs/billing-rules.md "Review with evidence", "Delivery you can see")."""

from __future__ import annotations

import click

from psa_billing.domain.statement import Statement


def print_review_and_delivery(st: Statement) -> None:
    if st.delivery is not None:
        click.echo(f"  delivery  {st.delivery.kind}: {st.delivery.summary()}")
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
            click.echo(f"  {e.at}  r{e.revision}  {e.kind}: {e.summary()}  ({e.source})")
