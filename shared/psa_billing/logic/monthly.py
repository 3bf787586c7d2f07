"""Use cases of the monthly run: plan, bill one customer, record a failure, close.

Collaborators come in as arguments (STYLE.md 4); the handlers pass the AWS adapters.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

from psa_billing.dal.objects import manifest_key
from psa_billing.domain.model import CustomerPeriodData, Period
from psa_billing.domain.rules import compute_statement
from psa_billing.domain.run import CustomerOutcome, Outcome, Run, RunStatus
from psa_billing.domain.statement import Statement
from psa_billing.logic.events import CloseRunEvent, CustomerTask, PlannedRun, PlanRunEvent

# A statement travels to the render step inside the state payload (saving a read per
# customer) while it is comfortably below Step Functions' 256 KB payload limit.
INLINE_STATEMENT_LIMIT = 64_000


class UnknownOrganisationError(Exception):
    pass


class UnknownCustomerError(Exception):
    pass


class RunRepository(Protocol):
    def list_org_ids(self) -> list[str]: ...
    def get_org(self, org_id: str) -> Any: ...
    def iter_customer_ids(self, org_id: str) -> Any: ...
    def billed_customer_ids(self, org_id: str, period: str) -> set[str]: ...
    def start_run(self, run: Run) -> None: ...
    def get_run(self, run_id: str) -> Run | None: ...
    def load_customer_period(
        self, org_id: str, customer_id: str, period: Period
    ) -> CustomerPeriodData | None: ...
    def create_statement(self, st: Statement, outcome: CustomerOutcome) -> bool: ...
    def get_statement(
        self, statement_id: str, *, with_inputs: bool = False
    ) -> Statement | None: ...
    def record_outcome(self, outcome: CustomerOutcome) -> None: ...
    def outcomes(self, run_id: str) -> Any: ...
    def finish_run(
        self, run_id: str, status: RunStatus, counts: dict[str, int], error: str | None
    ) -> None: ...


class ManifestStore(Protocol):
    bucket: str

    def put_json(self, key: str, doc: Any) -> None: ...


def plan_run(event: PlanRunEvent, repo: RunRepository, store: ManifestStore) -> PlannedRun:
    """Write the run's customer manifest to S3 and record the run. Customers that
    already have a statement for the period are left out and counted as already billed
    (billing-rules.md "Once billed, billed once"), so a re-run bills just the rest."""
    req = event.input
    started = datetime.fromisoformat(event.started_at.replace("Z", "+00:00"))
    period = req.period or str(Period.before(started.date()))
    if req.org_id:
        if repo.get_org(req.org_id) is None:
            raise UnknownOrganisationError(f"organisation {req.org_id!r} does not exist")
        org_ids = [req.org_id]
    else:
        org_ids = repo.list_org_ids()
    items: list[dict[str, str]] = []
    already = 0
    for org_id in org_ids:
        customers = list(repo.iter_customer_ids(org_id))
        if req.customer_ids is not None:
            unknown = sorted(set(req.customer_ids) - set(customers))
            if unknown:
                raise UnknownCustomerError(
                    f"organisation {org_id!r} has no customer {', '.join(map(repr, unknown))}"
                )
            customers = [c for c in customers if c in set(req.customer_ids)]
        billed = repo.billed_customer_ids(org_id, period)
        for customer_id in customers:
            if customer_id in billed:
                already += 1
            else:
                items.append({"orgId": org_id, "customerId": customer_id})
    key = manifest_key(event.run_id)
    store.put_json(key, items)
    repo.start_run(
        Run(
            run_id=event.run_id,
            period=period,
            org_ids=tuple(org_ids) if req.org_id else (),
            status=RunStatus.RUNNING,
            total=len(items) + already,
            started_at=started.isoformat(timespec="seconds"),
            counts={"alreadyBilled": already},
        )
    )
    return PlannedRun(
        run_id=event.run_id,
        period=period,
        bucket=store.bucket,
        manifest_key=key,
        total=len(items),
        already_billed=already,
    )


def bill_customer(
    task: CustomerTask,
    repo: RunRepository,
    clock: Callable[[], datetime],
    payload_of: Callable[[Statement], dict[str, Any]],
) -> dict[str, Any]:
    """Compute one customer's statement and store it at most once.

    AWS requests: two Queries and one TransactWriteItems (or one PutItem when there is
    nothing to bill)."""
    period = Period.parse(task.period)
    data = repo.load_customer_period(task.org_id, task.customer_id, period)
    if data is None:
        raise UnknownCustomerError(
            f"customer {task.customer_id!r} of organisation {task.org_id!r} does not exist"
        )
    draft = compute_statement(data, period)
    if draft is None:
        repo.record_outcome(_outcome(task, Outcome.NOTHING_TO_BILL))
        return task.out(outcome=str(Outcome.NOTHING_TO_BILL))
    st = Statement.from_draft(draft, org_id=task.org_id, run_id=task.run_id, created_at=clock())
    if not repo.create_statement(st, _outcome(task, Outcome.BILLED, st.id)):
        existing = repo.get_statement(st.id)
        if existing is None or existing.run_id != task.run_id:
            repo.record_outcome(_outcome(task, Outcome.ALREADY_BILLED, st.id))
            return task.out(outcome=str(Outcome.ALREADY_BILLED), statement_id=st.id)
        st = existing  # this run wrote it on an earlier attempt: carry on with it
    doc = payload_of(st)
    inline = len(json.dumps(doc, separators=(",", ":"))) <= INLINE_STATEMENT_LIMIT
    return task.out(
        outcome=str(Outcome.BILLED),
        statement_id=st.id,
        revision=st.revision,
        auto_send=st.auto_send,
        statement=doc if inline else None,
    )


def record_failure(task: CustomerTask, repo: RunRepository) -> dict[str, Any]:
    """A customer that still fails after the retries is recorded with its error; the
    others carry on (the Map item itself succeeds)."""
    repo.record_outcome(_outcome(task, Outcome.FAILED, task.statement_id, describe(task.error)))
    return task.out(outcome=str(Outcome.FAILED), statement=None)


def describe(error: dict[str, Any] | None) -> str:
    """Step Functions' {Error, Cause}, with a Lambda's JSON cause unpacked."""
    if not error:
        return "unknown error"
    name = str(error.get("Error", "Error"))
    cause = error.get("Cause") or ""
    try:
        parsed = json.loads(cause)
        if isinstance(parsed, dict):
            name = str(parsed.get("errorType") or name)
            cause = str(parsed.get("errorMessage") or cause)
    except (TypeError, ValueError):
        pass
    return f"{name}: {cause}" if cause else name


def close_run(event: CloseRunEvent, repo: RunRepository) -> dict[str, Any]:
    run = repo.get_run(event.run_id)
    counts = {str(o): 0 for o in Outcome}
    counts[str(Outcome.ALREADY_BILLED)] = run.counts.get("alreadyBilled", 0) if run else 0
    failures: list[dict[str, str]] = []
    for o in repo.outcomes(event.run_id):
        counts[str(o.outcome)] += 1
        if o.outcome is Outcome.FAILED:
            failures.append(
                {"orgId": o.org_id, "customerId": o.customer_id, "error": o.error or ""}
            )
    error = describe(event.map_error) if event.map_error else None
    if error:
        status = RunStatus.FAILED
    elif counts[str(Outcome.FAILED)]:
        status = RunStatus.SUCCEEDED_WITH_FAILURES
    else:
        status = RunStatus.SUCCEEDED
    repo.finish_run(event.run_id, status, counts, error)
    return {
        "runId": event.run_id,
        "period": event.period,
        "status": str(status),
        "total": run.total if run else sum(counts.values()),
        "counts": counts,
        "failures": failures[:50],
        "error": error,
    }


def _outcome(
    task: CustomerTask, outcome: Outcome, statement_id: str | None = None, error: str | None = None
) -> CustomerOutcome:
    return CustomerOutcome(
        run_id=task.run_id,
        org_id=task.org_id,
        customer_id=task.customer_id,
        outcome=outcome,
        statement_id=statement_id,
        error=error,
    )
