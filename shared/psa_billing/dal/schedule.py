"""DynamoDB adapter of the daily schedule (``logic/schedule.py`` ScheduleStore) and the
state machine starter it uses. Every read is a Query on the organisations' partition
(``ORGS``): the organisations (``ORG#``) and the schedule's records (``SCHED#<period>#``);
every write is conditional (docs/data-model.md)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Set
from typing import Any

import boto3
from botocore.exceptions import ClientError
from pynamodb.exceptions import PutError

from psa_billing.dal import keys
from psa_billing.dal.errors import transient_as_retryable
from psa_billing.dal.models import OrgItem, ScheduledRunItem
from psa_billing.dal.serde import org_from, scheduled_run_handle, scheduled_run_item
from psa_billing.domain.model import Period
from psa_billing.domain.org import OrgSettings
from psa_billing.logic.schedule import CLAIM_TIMEOUT

CLAIMED, STARTED = "claimed", "started"


def _stale_before(now: str) -> str:
    return (dt.datetime.fromisoformat(now) - CLAIM_TIMEOUT).isoformat(timespec="seconds")


class DynamoSchedule:
    """Binds to the table through the repository (``runtime.schedule()``)."""

    def list_orgs(self) -> list[OrgSettings]:
        return [
            org_from(item)
            for item in OrgItem.query(keys.ORGS_PK, OrgItem.sk.startswith(keys.ORG_PREFIX))
        ]

    def started(self, period: Period, now: str) -> Set[str]:
        stale = _stale_before(now)
        return {
            item.org_id
            for item in ScheduledRunItem.query(
                keys.ORGS_PK,
                ScheduledRunItem.sk.startswith(keys.scheduled_prefix(str(period))),
                consistent_read=True,
            )
            if item.state == STARTED or item.claimed_at > stale
        }

    def claim(self, org_id: str, period: Period, run_id: str, due_at: str, now: str) -> bool:
        item = scheduled_run_item(org_id, str(period), run_id, due_at, now)
        try:
            item.save(
                condition=ScheduledRunItem.pk.does_not_exist()
                | (
                    (ScheduledRunItem.state == CLAIMED)
                    & (ScheduledRunItem.claimed_at <= _stale_before(now))
                )
            )
        except PutError as exc:
            if getattr(exc, "cause_response_code", None) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def mark_started(self, org_id: str, period: Period, execution_arn: str) -> None:
        item = scheduled_run_handle(org_id, str(period))
        item.update(
            actions=[
                ScheduledRunItem.state.set(STARTED),
                ScheduledRunItem.execution_arn.set(execution_arn),
            ],
            condition=ScheduledRunItem.pk.exists(),
        )


class StepFunctionsStarter:
    """``RunStarter``: StartExecution with the run's own name. A name already used
    (a run started by an earlier wake-up) starts nothing: Step Functions refuses it
    with ExecutionAlreadyExists, and that execution is the run."""

    def __init__(self, state_machine_arn: str, client: Any = None) -> None:
        self._arn = state_machine_arn
        self._client = client or boto3.client("stepfunctions")

    def start_once(self, name: str, payload: dict[str, object]) -> str:
        existing = self._arn.replace(":stateMachine:", ":execution:", 1) + f":{name}"
        try:
            with transient_as_retryable():
                resp = self._client.start_execution(
                    stateMachineArn=self._arn, name=name, input=json.dumps(payload)
                )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ExecutionAlreadyExists":
                return existing
            raise
        return str(resp["executionArn"])
