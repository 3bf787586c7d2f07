"""Least privilege, checked: each function's IAM policy in template.yaml grants exactly the
actions its code performs in a real local run (counted per handler with botocore hooks),
on the table, indexes and bucket prefixes it uses, and nothing else.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from psa_billing.dal import keys
from psa_billing.dal.models import CustomerItem
from psa_billing.domain.model import Period
from psa_billing_dev.local.template import (
    function_properties,
    load_template,
    local_handler,
    resources_of_type,
)
from tests.support import bill, load_demo

PERIOD = Period(2026, 10)

# What a run exercises only on paths it does not take here. Each entry names the path.
NOT_EXERCISED: dict[str, set[str]] = {
    # A month too big for one item writes its lines and inputs to S3 (dal/bodies.py).
    "BillCustomerFunction": {"s3:PutObject"},
    # A statement too large for the state payload, or adjusted meanwhile, is read back
    # (with its S3 body when it has one); one whose PDF cannot show every character is
    # held for review (UpdateItem). The organisation's settings (GetItem): locally the
    # bill step's cache, in the same process, answers for the render step.
    "RenderStatementFunction": {
        "dynamodb:Query",
        "dynamodb:UpdateItem",
        "dynamodb:GetItem",
        "s3:GetObject",
    },
    # Sending an adjusted statement reads its adjustments (items of their own). And the
    # organisation's details: locally every handler shares one process, so the bill
    # step's cache answers the send step; on AWS the send function reads them itself.
    "SendStatementFunction": {"dynamodb:Query", "dynamodb:GetItem"},
}
# Functions the monthly run invokes (the API function is checked by its own tests).
RUN_FUNCTIONS = (
    "PlanRunFunction",
    "BillCustomerFunction",
    "RecordFailureFunction",
    "CloseRunFunction",
    "RenderStatementFunction",
    "SendStatementFunction",
)
# Functions woken by events, not by the run: the daily schedule and SES's mail events.
EVENT_FUNCTIONS = ("ScheduleRunsFunction", "DeliveryEventsFunction")


def _granted(template: dict[str, Any], logical_id: str) -> tuple[set[str], list[Any]]:
    """(actions, resources) of a function's inline policy statements. Policy templates
    (DynamoDBCrudPolicy, S3CrudPolicy, ...) are refused: they grant more than code uses."""
    actions: set[str] = set()
    resources: list[Any] = []
    for policy in function_properties(template, logical_id).get("Policies", []):
        assert isinstance(policy, dict) and set(policy) == {"Statement"}, (
            f"{logical_id}: use explicit statements, not {policy!r}"
        )
        for statement in policy["Statement"]:
            assert statement["Effect"] == "Allow"
            acts = statement["Action"]
            actions.update([acts] if isinstance(acts, str) else acts)
            res = statement["Resource"]
            resources.extend(res if isinstance(res, list) else [res])
    return actions, resources


@pytest.fixture(scope="module")
def used(repo: Any, request_counter: Any) -> dict[str, set[str]]:
    """Run two organisations' months through the real state machine: one with every
    step taken (billed, emailed, held for review, nothing to bill), one whose customer
    fails (its data broken behind the import's back), so RecordFailure runs."""
    request_counter.reset()
    load_demo(repo, "iam-org", customers=12, seed=3, period=PERIOD)
    bill(repo, "iam-org", PERIOD)
    load_demo(repo, "iam-broken", customers=1, seed=4, period=PERIOD)
    item = CustomerItem.get(keys.org_pk("iam-broken"), keys.customer_sk("cust-0001"))
    item.update(actions=[CustomerItem.currency.set("XXX")])
    bill(repo, "iam-broken", PERIOD)
    return {handler: set(actions) for handler, actions in request_counter.actions.items()}


@pytest.mark.local_stack
@pytest.mark.parametrize("logical_id", RUN_FUNCTIONS)
def test_each_function_is_granted_exactly_the_actions_its_code_performs(
    logical_id: str, used: dict[str, set[str]]
) -> None:
    template = load_template()
    props = function_properties(template, logical_id)
    handler = local_handler(str(props["CodeUri"]), str(props["Handler"]))
    granted, _ = _granted(template, logical_id)
    performed = used.get(handler, set())

    assert performed, f"{logical_id} ({handler}) made no AWS call in the run?"
    assert performed - granted == set(), "the template grants less than the code does"
    assert granted - performed - NOT_EXERCISED.get(logical_id, set()) == set(), (
        "the template grants more than the code does"
    )


@pytest.mark.parametrize("logical_id", RUN_FUNCTIONS + EVENT_FUNCTIONS)
def test_no_function_may_scan_delete_or_use_a_wildcard(logical_id: str) -> None:
    actions, resources = _granted(load_template(), logical_id)
    assert not {a for a in actions if a.endswith(("Scan", "DeleteItem", "*")) or ":Delete" in a}
    assert "*" not in resources
    for res in resources:
        text = res.get("Fn::Sub", "") if isinstance(res, dict) else str(res)
        if "StatementsBucket.Arn" in text:  # objects under one prefix, never the bucket
            assert text.endswith(("/runs/*", "/statements/*")), text


def test_every_function_of_the_template_is_checked_here_or_by_the_api_tests() -> None:
    functions = set(resources_of_type(load_template(), "AWS::Serverless::Function"))
    assert functions - set(RUN_FUNCTIONS) - set(EVENT_FUNCTIONS) <= {"ApiFunction"}


@pytest.fixture(scope="module")
def used_by_events(repo: Any, local_stack: Any, request_counter: Any) -> dict[str, set[str]]:
    """Wake the schedule (it starts one run) and report a bounce and a delivery of an
    emailed statement (the second event finds the statement no longer sent, so the
    narrower write is taken too)."""
    import json
    from datetime import datetime

    import boto3

    from psa_billing import runtime
    from psa_billing.dal.serde import scheduled_run_item
    from psa_billing.domain.calendar import latest_due_period
    from psa_billing.domain.statement import StatementStatus
    from psa_billing_dev.cli.delivery_cli import scheduled_event
    from psa_billing_dev.cli.runner import wait_for_run
    from psa_billing_dev.ses_events import ses_record, sns_notification

    res = local_stack.resources
    lam = boto3.client("lambda", region_name=res.region)

    def invoke(logical_id: str, event: dict[str, Any]) -> dict[str, Any]:
        resp = lam.invoke(FunctionName=res.functions[logical_id], Payload=json.dumps(event))
        body = json.loads(resp["Payload"].read())
        assert not resp.get("FunctionError"), body
        return dict(body)

    load_demo(repo, "iam-events", customers=6, seed=3, period=Period(2005, 1))
    now = datetime.fromisoformat("2005-02-01T00:15:00+00:00")
    for org in runtime.schedule().list_orgs():  # only this test's organisation is due
        if org.id != "iam-events":
            period = str(latest_due_period(now, org.calendar()))
            item = scheduled_run_item(org.id, period, "other-test", "", now.isoformat())
            item.state = "started"
            item.save()
    request_counter.reset()
    report = invoke("ScheduleRunsFunction", scheduled_event(now, res.region, "1", "daily"))
    (started,) = report["started"]
    wait_for_run(started["executionArn"], repo, poll_seconds=0.2)
    sent = [
        s for s in repo.list_statements("iam-events", "2005-01") if s.status is StatementStatus.SENT
    ]
    to = sent[0].billing_email
    invoke(
        "DeliveryEventsFunction",
        sns_notification(
            ses_record("Bounce", message_id=sent[0].message_id, to=to),
            ses_record("Delivery", message_id=sent[0].message_id, to=to),
        ),
    )
    return {handler: set(actions) for handler, actions in request_counter.actions.items()}


@pytest.mark.local_stack
@pytest.mark.parametrize("logical_id", EVENT_FUNCTIONS)
def test_event_functions_are_granted_exactly_the_actions_their_code_performs(
    logical_id: str, used_by_events: dict[str, set[str]]
) -> None:
    template = load_template()
    props = function_properties(template, logical_id)
    handler = local_handler(str(props["CodeUri"]), str(props["Handler"]))
    granted, _ = _granted(template, logical_id)
    performed = used_by_events.get(handler, set())
    assert performed, f"{logical_id} ({handler}) made no AWS call?"
    assert performed == granted


@pytest.mark.parametrize("logical_id", EVENT_FUNCTIONS)
def test_event_functions_reach_only_their_own_partitions(logical_id: str) -> None:
    props = function_properties(load_template(), logical_id)
    for policy in props["Policies"]:
        for statement in policy["Statement"]:
            if any(str(a).startswith("dynamodb:") for a in statement["Action"]):
                assert "dynamodb:LeadingKeys" in json.dumps(statement.get("Condition", {}))


def test_mail_may_only_come_from_the_configured_sender() -> None:
    props = function_properties(load_template(), "SendStatementFunction")
    (mail,) = [
        s
        for p in props["Policies"]
        for s in p["Statement"]
        if any(str(a).startswith("ses:") for a in s["Action"])
    ]
    assert mail["Action"] == ["ses:SendEmail"]
    assert mail["Condition"] == {"StringEquals": {"ses:FromAddress": {"Ref": "SenderEmail"}}}
