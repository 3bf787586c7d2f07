"""`psa-billing local schedule` and `psa-billing local bounce`: what AWS would do by
itself, done on the local stack on purpose so the whole path can be seen.

moto fires no EventBridge rule and SES publishes no events locally, so these invoke the
real functions (the daily schedule, the SES events function) with the documents AWS
would send them: an EventBridge "Scheduled Event" whose ``time`` is the clock you give,
and an SNS notification carrying an SES event record.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import boto3
import click

from psa_billing_dev.cli import target
from psa_billing_dev.cli.errors import _fail, reports_errors


def _invoke(logical_id: str, event: dict[str, Any]) -> dict[str, Any]:
    from psa_billing_dev.local.template import local_resources  # noqa: PLC0415

    endpoint = target.use_local_stack()
    res = local_resources()
    client = boto3.client("lambda", endpoint_url=endpoint, region_name=res.region)
    resp = client.invoke(FunctionName=res.functions[logical_id], Payload=json.dumps(event).encode())
    body = json.loads(resp["Payload"].read() or b"{}")
    if resp.get("FunctionError"):
        _fail(f"{logical_id} failed: {body.get('errorType')}: {body.get('errorMessage')}")
    return dict(body)


def scheduled_event(now: datetime, region: str, account: str, rule: str) -> dict[str, Any]:
    """An EventBridge Scheduled Event, as the daily rule delivers it."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": account,
        "time": now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [f"arn:aws:events:{region}:{account}:rule/{rule}"],
        "detail": {},
    }


@click.command("schedule")
@click.option(
    "--now",
    "now_text",
    help="The clock the schedule wakes at, ISO 8601 with offset (default: now).",
)
@click.option("--wait", is_flag=True, help="Follow the runs it starts to the end.")
@click.option("--json", "as_json", is_flag=True)
@reports_errors
def local_schedule(now_text: str | None, wait: bool, as_json: bool) -> None:
    """Wake the daily schedule as its EventBridge rule would, at a given time: it starts
    each organisation's run that is due then, once."""
    from psa_billing import runtime  # noqa: PLC0415
    from psa_billing_dev.cli.runner import wait_for_run  # noqa: PLC0415
    from psa_billing_dev.local.template import local_resources  # noqa: PLC0415

    now = datetime.now(UTC)
    if now_text:
        try:
            now = datetime.fromisoformat(now_text.replace("Z", "+00:00"))
        except ValueError:
            _fail(f"--now {now_text!r} is not an ISO 8601 time (e.g. 2026-11-01T00:15:00Z)")
        if now.tzinfo is None:
            _fail(f"--now {now_text!r} needs its UTC offset (e.g. Z or +01:00)")
    res = local_resources()
    rule = f"{res.stack_name}-ScheduleRunsFunction-Daily"
    report = _invoke("ScheduleRunsFunction", scheduled_event(now, res.region, res.account_id, rule))
    if as_json and not wait:
        click.echo(json.dumps(report, indent=2))
        return
    click.echo(
        f"schedule at {report['now']}: {report['organisations']} organisations, "
        f"{len(report['started'])} runs started, {report['alreadyStarted']} already started"
    )
    for doc in report["started"]:
        click.echo(f"  started {doc['runId']} ({doc['orgId']} {doc['period']}, due {doc['dueAt']})")
    for doc in report["skipped"]:
        click.echo(f"  {doc['orgId']} {doc['period']}: being started by another wake-up")
    if wait:
        repo = runtime.repository()
        for doc in report["started"]:
            result = wait_for_run(doc["executionArn"], repo)
            counts = result.summary.get("counts", {})
            click.echo(
                f"  run {result.run_id} {result.status.lower()}: "
                f"{counts.get('billed', 0)} billed, "
                f"{counts.get('already_billed', 0)} already billed"
            )


_KINDS = {"bounce": "Bounce", "delivery": "Delivery", "complaint": "Complaint", "reject": "Reject"}


def simulate_ses_event(statement_id: str, kind: str, **bounce: str) -> dict[str, Any]:
    """Send the SES events function what SES would, about the statement's last mail."""
    from psa_billing import runtime  # noqa: PLC0415
    from psa_billing_dev.ses_events import ses_record, sns_notification  # noqa: PLC0415

    target.use_local_stack()
    st = runtime.repository().get_statement(statement_id)
    if st is None:
        _fail(f"no statement {statement_id!r}")
        raise AssertionError  # _fail exits
    if not st.message_id:
        _fail(f"statement {statement_id} was never emailed through SES: no message id")
    record = ses_record(
        _KINDS[kind],
        message_id=str(st.message_id),
        to=st.billing_email,
        sent_at=st.sent_at,
        simulated=True,
        **bounce,
    )
    return _invoke("DeliveryEventsFunction", sns_notification(record))


def _print_events(report: dict[str, Any], as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(report, indent=2))
        return
    for e in report["events"]:
        click.echo(f"{e['statementId'] or e['messageId']}: {e['event']} {e['outcome']}")


@click.command("bounce")
@click.argument("statement_id")
@click.option(
    "--type",
    "bounce_type",
    type=click.Choice(["Permanent", "Transient", "Undetermined"]),
    default="Permanent",
    show_default=True,
)
@click.option("--sub-type", "bounce_sub_type", default="General", show_default=True)
@click.option(
    "--diagnostic",
    default="smtp; 550 5.1.1 user unknown",
    show_default=True,
    help="What the receiving server said.",
)
@click.option("--json", "as_json", is_flag=True)
@reports_errors
def local_bounce(
    statement_id: str, bounce_type: str, bounce_sub_type: str, diagnostic: str, as_json: bool
) -> None:
    """Simulate SES reporting that a statement's last mail bounced: the real SES events
    function records it, and the statement goes back to the review queue."""
    report = simulate_ses_event(
        statement_id,
        "bounce",
        bounce_type=bounce_type,
        bounce_sub_type=bounce_sub_type,
        diagnostic=diagnostic,
    )
    _print_events(report, as_json)


@click.command("ses-event")
@click.argument("statement_id")
@click.option("--kind", type=click.Choice(sorted(_KINDS)), required=True)
@click.option("--json", "as_json", is_flag=True)
@reports_errors
def local_ses_event(statement_id: str, kind: str, as_json: bool) -> None:
    """Simulate another SES event (delivery, complaint, reject) about a statement's mail."""
    _print_events(simulate_ses_event(statement_id, kind), as_json)


@click.command("review")
@click.option("--org", "org_id", required=True)
@click.option("--period", help="Only this month, YYYY-MM.")
@click.option("--json", "as_json", is_flag=True)
@reports_errors
def statements_review(org_id: str, period: str | None, as_json: bool) -> None:
    """The review queue: statements waiting for a person (held by a threshold, a
    bounced mail, auto-send off, adjusted), each with why and its change against the
    customer's previous statement."""
    from psa_billing import runtime  # noqa: PLC0415
    from psa_billing.domain.model import Period  # noqa: PLC0415
    from psa_billing_dev.cli.report_review import (  # noqa: PLC0415
        print_review_queue,
        review_reason,
    )

    if period:
        Period.parse(period)
    if not target.targets_aws():
        target.use_local_stack()
    items = runtime.repository().list_statements(org_id, period)
    if as_json:
        waiting = [s for s in items if str(s.status) == "pending_review"]
        docs = [{**s.public(), "reviewReason": review_reason(s)} for s in waiting]
        click.echo(json.dumps(docs, indent=2, ensure_ascii=False))
        return
    print_review_queue(items)
