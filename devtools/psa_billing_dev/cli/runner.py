"""Start a monthly run the way the schedule does, and follow it to the end."""

from __future__ import annotations

import json
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import boto3

from psa_billing.dal.repository import DynamoRepository
from psa_billing.domain.run import Outcome
from psa_billing.logic.events import RunRequest


class RunFailedError(Exception):
    pass


@dataclass(frozen=True)
class Progress:
    done: int
    failed: int
    total: int | None


@dataclass(frozen=True)
class RunResult:
    execution_arn: str
    run_id: str
    status: str
    summary: dict[str, Any]


def execution_name(org_id: str | None, period: str | None) -> str:
    """Execution names are the run ids: unique, readable, at most 80 characters."""
    parts = [p for p in (org_id, period) if p] or ["all"]
    return "-".join([*parts, uuid.uuid4().hex[:8]])[:80]


def start_run(state_machine_arn: str, request: RunRequest, sfn: Any | None = None) -> str:
    sfn = sfn or boto3.client("stepfunctions")
    body = request.model_dump(by_alias=True, exclude_none=True)
    resp = sfn.start_execution(
        stateMachineArn=state_machine_arn,
        name=execution_name(request.org_id, request.period),
        input=json.dumps(body),
    )
    return str(resp["executionArn"])


def progress_of(repo: DynamoRepository, run_id: str) -> Progress:
    run = repo.get_run(run_id)
    if run is None:
        return Progress(0, 0, None)
    counts = Counter(o.outcome for o in repo.outcomes(run_id))
    already = run.counts.get("alreadyBilled", 0)
    done = sum(counts.values()) + already
    return Progress(done=done, failed=counts[Outcome.FAILED], total=run.total)


def _reason(desc: dict[str, Any]) -> str:
    """A failed execution's error, with a Lambda's JSON cause reduced to its message."""
    error, cause = desc.get("error", ""), desc.get("cause", "")
    try:
        parsed = json.loads(cause)
    except (TypeError, ValueError):
        parsed = None
    if isinstance(parsed, dict) and "errorMessage" in parsed:
        return f"{parsed.get('errorType') or error}: {parsed['errorMessage']}"
    return f"{error}: {cause}".strip(": ")


def wait_for_run(
    execution_arn: str,
    repo: DynamoRepository,
    on_progress: Callable[[Progress], None] | None = None,
    sfn: Any | None = None,
    poll_seconds: float = 0.5,
    timeout_seconds: float = 3600,
) -> RunResult:
    sfn = sfn or boto3.client("stepfunctions")
    run_id = execution_arn.rsplit(":", 1)[-1]
    deadline = time.monotonic() + timeout_seconds
    next_progress = 0.0
    while True:
        desc = sfn.describe_execution(executionArn=execution_arn)
        status = desc["status"]
        now = time.monotonic()
        if on_progress is not None and (now >= next_progress or status != "RUNNING"):
            progress = progress_of(repo, run_id)
            on_progress(progress)
            # Progress reads the run's outcomes: refresh it less often on big runs
            # (every 50 s at 100,000 customers) so watching a run stays cheap.
            next_progress = now + max(poll_seconds, (progress.total or 0) / 2000)
        if status != "RUNNING":
            break
        if time.monotonic() > deadline:
            raise RunFailedError(f"run {run_id} still running after {timeout_seconds:.0f} s")
        time.sleep(poll_seconds)
    if status != "SUCCEEDED":
        raise RunFailedError(f"run {run_id} {status.lower()}: {_reason(dict(desc))}")
    return RunResult(execution_arn, run_id, status, json.loads(desc.get("output") or "{}"))
