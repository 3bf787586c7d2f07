"""The daily schedule wired end to end on the local stack: the real function, invoked
with the document EventBridge's rule sends, reads the organisations by key, starts the
real state machine once per (organisation, period), and the run bills the month."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import boto3
import pytest

from psa_billing import runtime
from psa_billing.dal import keys
from psa_billing.dal.models import ScheduledRunItem
from psa_billing.dal.serde import scheduled_run_item
from psa_billing.domain.calendar import latest_due_period
from psa_billing.domain.model import Period
from psa_billing.domain.org import update_org_settings
from psa_billing_dev.cli.delivery_cli import scheduled_event
from psa_billing_dev.cli.runner import wait_for_run
from tests.support import load_demo

pytestmark = pytest.mark.local_stack

# A month no other test bills, so the runs started here touch nothing of theirs.
PERIOD = Period(2004, 1)
# 00:15 UTC on 2 February: Tokyo's January ended on 31 January 15:00 UTC, and with a
# billing day of 2 its run is due at 00:00 Tokyo on 2 February (1 February 15:00 UTC).
NOW = datetime.fromisoformat("2004-02-02T00:15:00+00:00")


def _invoke(local_stack: Any, now: datetime) -> dict[str, Any]:
    res = local_stack.resources
    client = boto3.client("lambda", region_name=res.region)
    rule = f"{res.stack_name}-ScheduleRunsFunction-Daily"
    resp = client.invoke(
        FunctionName=res.functions["ScheduleRunsFunction"],
        Payload=json.dumps(scheduled_event(now, res.region, res.account_id, rule)).encode(),
    )
    body = json.loads(resp["Payload"].read())
    assert not resp.get("FunctionError"), body
    return dict(body)


def _others_already_started(org_id: str, now: datetime) -> None:
    """Organisations other tests left in the shared table are marked as already
    started for the month due now, so this test starts only its own run."""
    for org in runtime.schedule().list_orgs():
        if org.id != org_id:
            period = str(latest_due_period(now, org.calendar()))
            item = scheduled_run_item(org.id, period, "other-test", "", now.isoformat())
            item.state = "started"
            item.save()


def test_the_schedule_starts_a_due_organisations_run_once_and_the_run_bills_the_month(
    repo: Any, local_stack: Any, org_id: str, request_counter: Any
) -> None:
    load_demo(repo, org_id, customers=3, seed=11, period=PERIOD)
    settings = repo.get_org(org_id)
    repo.put_org(update_org_settings(settings, {"timeZone": "Asia/Tokyo", "billingDay": 2}))
    _others_already_started(org_id, NOW)

    first = _invoke(local_stack, NOW)
    again = _invoke(local_stack, NOW)  # the same trigger delivered twice

    assert [(d["orgId"], d["period"]) for d in first["started"]] == [(org_id, str(PERIOD))]
    assert again["started"] == []
    record = ScheduledRunItem.get(keys.ORGS_PK, keys.scheduled_sk(str(PERIOD), org_id))
    assert record.state == "started"
    assert record.execution_arn == first["started"][0]["executionArn"]
    result = wait_for_run(record.execution_arn, repo, poll_seconds=0.2)
    assert result.summary["counts"]["billed"] == 3
    assert {s.customer_id for s in repo.list_statements(org_id, str(PERIOD))} == {
        "cust-0001",
        "cust-0002",
        "cust-0003",
    }
    # Listed under the organisation as started by the schedule.
    runs = [r for r in runtime_index().org_runs(org_id, 10) if r.run_id == result.run_id]
    assert [r.started_by for r in runs] == ["schedule"]


def test_an_organisation_whose_billing_moment_has_not_come_is_not_started(
    repo: Any, local_stack: Any, org_id: str
) -> None:
    load_demo(repo, org_id, customers=1, seed=12, period=PERIOD)
    settings = repo.get_org(org_id)
    repo.put_org(update_org_settings(settings, {"billingDay": 3}))
    _others_already_started(org_id, NOW)
    report = _invoke(local_stack, NOW)
    # Due 3 February: at NOW only December 2003 is due for it, which has nothing to bill.
    assert [(d["orgId"], d["period"]) for d in report["started"]] == [(org_id, "2003-12")]
    wait_for_run(report["started"][0]["executionArn"], repo, poll_seconds=0.2)
    assert repo.list_statements(org_id, str(PERIOD)) == []


def runtime_index() -> Any:
    from psa_billing import config
    from psa_billing.dal.access import AccessRepository

    return AccessRepository(config.storage().data_table, config.storage().aws_default_region)
