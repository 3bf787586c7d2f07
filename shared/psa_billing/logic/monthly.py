"""Use cases of the monthly run: plan, bill one customer, record a failure, close.

Collaborators come in as arguments (docs/architecture.md 4); the handlers pass the AWS adapters.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from dataclasses import replace
from decimal import Decimal
from typing import Final

from psa_billing.dal.keys import manifest_key
from psa_billing.domain.calendar import ensure_period_ended, period_has_ended
from psa_billing.domain.errors import BillingError
from psa_billing.domain.late import LateTime, late_time
from psa_billing.domain.model import CustomerPeriodData, Period, StatementInputs
from psa_billing.domain.org import ReviewThresholds
from psa_billing.domain.review import StatementHistory, StatementSummary, evidence
from psa_billing.domain.rules import compute_statement, hours_for_display
from psa_billing.domain.run import CustomerOutcome, Outcome, Run, RunStatus
from psa_billing.domain.statement import Numbering, Statement, StatementStatus
from psa_billing.logic.events import (
    BillResult,
    BillTask,
    CloseRunEvent,
    CustomerRef,
    FailureResult,
    FailureTask,
    LateWaiting,
    ManifestBatch,
    PlannedRun,
    PlanRunEvent,
    RunRequest,
    RunSummary,
    StatementDoc,
)
from psa_billing.logic.leases import (
    WAIT_SECONDS,
    ImportIncompleteError,
    LeaseStore,
    OrganisationBusyError,
    ensure_import_complete,
    take_run_lease,
)
from psa_billing.logic.ports import Clock, ManifestStore, OrgDirectory, RunRepository

# A new statement travels to the render step inside the state payload (saving a read per
# customer) while it is comfortably below Step Functions' 256 KB payload limit.
INLINE_STATEMENT_LIMIT: Final = 64_000

# Customers per manifest item: one Distributed Map child (an Express execution on AWS)
# bills a batch with an inline Map. 50 keeps a batch far inside Express's 5-minute limit
# (docs/benchmarks.md "Cost model") and cuts the Standard state transitions per customer.
BATCH_SIZE: Final = 50

# Already-billed customers with late entries listed in a run's summary (the state
# machine's output stays small); every one is in the run's outcomes.
LATE_LISTED: Final = 500


class UnknownOrganisationError(BillingError):
    pass


class UnknownCustomerError(BillingError):
    pass


def batches(refs: Iterable[CustomerRef], size: int | None = None) -> list[ManifestBatch]:
    size = size or BATCH_SIZE
    out: list[ManifestBatch] = []
    current: list[CustomerRef] = []
    for ref in refs:
        current.append(ref)
        if len(current) == size:
            out.append(ManifestBatch(customers=current))
            current = []
    if current:
        out.append(ManifestBatch(customers=current))
    return out


def plan_run(
    event: PlanRunEvent,
    repo: RunRepository,
    store: ManifestStore,
    leases: LeaseStore,
    clock: Clock,
    *,
    wait_seconds: float = WAIT_SECONDS,
    sleep: Callable[[float], None] = time.sleep,
) -> PlannedRun:
    """Write the run's manifest of customer batches to S3 and record the run. Customers
    that already have a statement for the period that is not void are marked ``billed``
    (docs/billing-rules.md "Once billed, billed once"): the bill step only reports the
    late entries waiting for their statement ("Late time"), so a re-run bills just the
    rest. Reads keys only: customer ids and the slots of billed customers.

    The run holds a lease on each organisation it bills until it closes, so no import
    of that organisation writes meanwhile; an organisation being imported, or whose
    last import did not finish, is refused with the reason (a run of every
    organisation leaves it out and counts it as ``blockedByImport``)."""
    req = event.input
    period = req.period or str(Period.before(event.started_at.date()))
    if req.org_id:
        org = repo.get_org(req.org_id)
        if org is None:
            # Its first import may have stopped before writing anything but its state.
            ensure_import_complete(leases, req.org_id)
            raise UnknownOrganisationError(f"organisation {req.org_id!r} does not exist")
        # docs/billing-rules.md "The period": only a month that has ended, in the
        # organisation's time zone, is billed, whoever starts the run.
        ensure_period_ended(Period.parse(period), event.started_at, org.time_zone)
        org_ids = [req.org_id]
    else:
        org_ids = [
            org_id
            for org_id in repo.list_org_ids()
            if _has_ended(repo, org_id, Period.parse(period), event)
        ]
    leased: list[str] = []
    blocked = 0
    for org_id in list(org_ids):
        try:
            take_run_lease(
                leases,
                org_id,
                event.run_id,
                clock,
                wait_seconds=wait_seconds if req.org_id else 0,
                sleep=sleep,
            )
        except (OrganisationBusyError, ImportIncompleteError):
            if req.org_id:
                for taken in leased:
                    leases.release_run_lease(taken, event.run_id)
                raise
            org_ids.remove(org_id)
            blocked += 1
            continue
        leased.append(org_id)
    try:
        return _plan_leased(event, repo, store, req, period, org_ids, leased, blocked)
    except BaseException:
        # A plan that fails never reaches CloseRun: give the leases back now.
        for org_id in leased:
            leases.release_run_lease(org_id, event.run_id)
        raise


def _plan_leased(
    event: PlanRunEvent,
    repo: RunRepository,
    store: ManifestStore,
    req: RunRequest,
    period: str,
    org_ids: list[str],
    leased: list[str],
    blocked: int,
) -> PlannedRun:
    refs: list[CustomerRef] = []
    already = 0
    for org_id in org_ids:
        customers = list(repo.iter_customer_ids(org_id))
        if req.customer_ids is not None:
            wanted = set(req.customer_ids)
            unknown = sorted(wanted - set(customers))
            if unknown:
                raise UnknownCustomerError(
                    f"organisation {org_id!r} has no customer {', '.join(map(repr, unknown))}"
                )
            customers = [c for c in customers if c in wanted]
        billed = repo.billed_customers(org_id, period)
        for customer_id in customers:
            status = billed.get(customer_id)
            # A statement still ready to send was never emailed nor claimed: the run
            # that billed it stopped before delivering it. Its customer goes in as not
            # billed, and the bill step carries that statement on (see bill_customer).
            # The others already billed are visited to report their late time.
            done = status is not None and status is not StatementStatus.READY_TO_SEND
            already += done
            refs.append(CustomerRef(org_id=org_id, customer_id=customer_id, billed=done))
    manifest = batches(refs)
    key = manifest_key(event.run_id)
    store.put_json(key, [b.wire() for b in manifest])
    repo.start_run(
        Run(
            run_id=event.run_id,
            period=period,
            org_ids=tuple(org_ids) if req.org_id else (),
            status=RunStatus.RUNNING,
            total=len(refs),
            started_at=event.started_at.isoformat(timespec="seconds"),
            # Already billed customers are in the manifest and record their outcome.
            counts={"alreadyBilled": 0, "blockedByImport": blocked},
            leased_org_ids=tuple(leased),
        )
    )
    if req.trigger != "api":  # the API lists the runs it starts itself
        for org_id in leased:
            repo.index_run(
                org_id,
                event.run_id,
                period,
                event.started_at.isoformat(timespec="seconds"),
                req.trigger,
                event.execution_arn,
            )
    return PlannedRun(
        run_id=event.run_id,
        period=period,
        bucket=store.bucket,
        manifest_key=key,
        total=len(refs),
        batches=len(manifest),
        already_billed=already,
    )


def _has_ended(repo: RunRepository, org_id: str, period: Period, event: PlanRunEvent) -> bool:
    """A run of every organisation leaves out those where the month has not ended yet
    (a time zone east of UTC ends it earlier; west, later)."""
    org = repo.get_org(org_id)
    return org is not None and period_has_ended(period, event.started_at, org.time_zone)


def bill_customer(
    task: BillTask, repo: RunRepository, clock: Clock, orgs: OrgDirectory
) -> BillResult:
    """Compute one customer's statement and store it at most once, with the next number
    of the organisation's sequence (docs/billing-rules.md "Statement documents").

    A customer already billed for the period (``task.billed``, or found so on creating)
    is reported with the late entries waiting for its statement ("Late time"). After a
    void, the repository creates the next version of the period's statement.

    AWS requests: two Queries, a GetItem (the number counter) and one TransactWriteItems
    (or one PutItem when there is nothing to bill); already billed: two Queries, a
    GetItem (the period's slot), a Query (the statement) and a PutItem (the outcome).
    The organisation's settings come from the warm function's cache."""
    period = Period.parse(task.period)
    data = repo.load_customer_period(task.org_id, task.customer_id, period)
    if data is None:
        raise UnknownCustomerError(
            f"customer {task.customer_id!r} of organisation {task.org_id!r} does not exist"
        )
    if task.billed:
        current = repo.current_statement_id(task.org_id, task.customer_id, str(period))
        if current is not None:  # else it was voided since the plan: bill it now
            return _already_billed(task, data, repo.get_statement(current, with_inputs=True), repo)
    draft = compute_statement(data, period)
    if draft is None:
        repo.record_outcome(_outcome(task, Outcome.NOTHING_TO_BILL))
        return BillResult(outcome=Outcome.NOTHING_TO_BILL)
    st = Statement.from_draft(draft, org_id=task.org_id, run_id=task.run_id, created_at=clock())
    org = orgs.get(task.org_id)
    st, history = with_evidence(st, draft.inputs, data.last_statements, org.review_thresholds)
    numbering = Numbering(org.statement_number_prefix, org.next_statement_number)
    created = repo.create_statement(
        st, _outcome(task, Outcome.BILLED, st.id), numbering, history=history
    )
    if created is None:
        current = repo.current_statement_id(task.org_id, task.customer_id, str(period))
        existing = repo.get_statement(current, with_inputs=True) if current else None
        if existing is None or not (
            existing.run_id == task.run_id or _left_undelivered(existing, repo)
        ):
            return _already_billed(task, data, existing, repo)
        # This run wrote it on an earlier attempt, or an earlier run that has ended
        # billed it and died before delivering it: carry on with it (render and send
        # are idempotent, and the send claim keeps the mail to one).
        st = existing
    else:
        st = created
    return BillResult(
        outcome=Outcome.BILLED,
        statement_id=st.id,
        revision=st.revision,
        # A statement held for review is not emailed by the run, auto-send or not.
        auto_send=st.auto_send and st.status is not StatementStatus.PENDING_REVIEW,
        statement=_inline(st),
    )


def with_evidence(
    st: Statement,
    inputs: StatementInputs,
    last: StatementHistory | None,
    thresholds: ReviewThresholds | None,
) -> tuple[Statement, StatementHistory | None]:
    """docs/billing-rules.md "Review with evidence": the new statement with how it
    differs from the customer's previous one (read with the customer: no request of
    its own), held for review when past one of the organisation's thresholds even with
    auto-send; and the customer's latest statements once it is billed (written in its
    creating transaction; its number is filled in there)."""
    ev = evidence(
        currency=st.currency,
        total=st.total,
        inputs=inputs,
        period=st.period,
        history=last,
        thresholds=thresholds,
    )
    st = replace(st, evidence=ev)
    if ev.held:  # the reason shows in the review queue, auto-send or not
        st = replace(
            st, status=StatementStatus.PENDING_REVIEW, last_error="held: " + "; ".join(ev.held)
        )
    summary = StatementSummary.of(
        statement_id=st.id,
        number="",
        period=st.period,
        currency=st.currency,
        total=st.total,
        inputs=inputs,
    )
    return st, (last or StatementHistory()).after(summary)


def _left_undelivered(st: Statement, repo: RunRepository) -> bool:
    """A statement that is still ready to send (never claimed by a sender, so never
    emailed) although the run that billed it is over: that run crashed between billing
    and delivering it (docs/reliability.md "Crashes"). One GetItem, only on this path."""
    if st.status is not StatementStatus.READY_TO_SEND:
        return False
    run = repo.get_run(st.run_id)
    return run is None or run.status is not RunStatus.RUNNING


def _already_billed(
    task: BillTask, data: CustomerPeriodData, existing: Statement | None, repo: RunRepository
) -> BillResult:
    """docs/billing-rules.md "Late time": a billable entry dated in a period already
    billed is not billed by a re-run; the run reports it as late."""
    late = late_time(data, existing) if existing is not None else LateTime()
    sid = existing.id if existing is not None else None
    outcome = replace(
        _outcome(task, Outcome.ALREADY_BILLED, sid),
        late_entries=len(late.entries),
        late_minutes=late.minutes,
    )
    repo.record_outcome(outcome)
    return BillResult(
        outcome=Outcome.ALREADY_BILLED,
        statement_id=sid,
        late_entries=len(late.entries),
        late_minutes=late.minutes,
    )


def _inline(st: Statement) -> StatementDoc | None:
    if st.revision != 0:
        return None  # adjusted meanwhile: its adjustments are items of their own
    doc = StatementDoc.of(st)
    return doc if len(doc.model_dump_json(by_alias=True)) <= INLINE_STATEMENT_LIMIT else None


def record_failure(task: FailureTask, repo: RunRepository) -> FailureResult:
    """A customer that still fails after the retries is recorded with its error; the
    others carry on (the Map item itself succeeds). A customer already billed when the
    run was planned stays ``already_billed``: only its late-time report failed (or,
    if its statement was voided since, its re-bill: the error says so and the next run
    bills it)."""
    error = describe(task.error)
    outcome = Outcome.FAILED
    if task.billed:
        outcome = Outcome.ALREADY_BILLED
        error = f"late time not checked (or, if voided since the plan, not re-billed): {error}"
    repo.record_outcome(
        CustomerOutcome(
            run_id=task.run_id,
            org_id=task.org_id,
            customer_id=task.customer_id,
            outcome=outcome,
            error=error,
        )
    )
    return FailureResult(outcome=outcome, error=error)


def describe(error: dict[str, object] | None) -> str:
    """Step Functions' {Error, Cause}, with a Lambda's JSON cause unpacked."""
    if not error:
        return "unknown error"
    name = str(error.get("Error", "Error"))
    cause = str(error.get("Cause") or "")
    try:
        parsed = json.loads(cause)
        if isinstance(parsed, dict):
            name = str(parsed.get("errorType") or name)
            cause = str(parsed.get("errorMessage") or cause)
    except (TypeError, ValueError):
        pass
    return f"{name}: {cause}" if cause else name


def close_run(event: CloseRunEvent, repo: RunRepository, leases: LeaseStore) -> RunSummary:
    run = repo.get_run(event.run_id)
    for org_id in run.leased_org_ids if run else ():
        leases.release_run_lease(org_id, event.run_id)
    counts = {str(o): 0 for o in Outcome}
    counts[str(Outcome.ALREADY_BILLED)] = run.counts.get("alreadyBilled", 0) if run else 0
    if run and run.counts.get("blockedByImport"):
        counts["blocked_by_import"] = run.counts["blockedByImport"]
    failures: list[dict[str, str]] = []
    late: list[LateWaiting] = []
    for o in repo.outcomes(event.run_id):
        counts[str(o.outcome)] += 1
        if o.outcome is Outcome.FAILED:
            failures.append(
                {"orgId": o.org_id, "customerId": o.customer_id, "error": o.error or ""}
            )
        if o.outcome is Outcome.ALREADY_BILLED and o.error:
            counts["late_unchecked"] = counts.get("late_unchecked", 0) + 1
        if o.late_entries:
            late.append(
                LateWaiting(
                    org_id=o.org_id,
                    customer_id=o.customer_id,
                    statement_id=o.statement_id,
                    entries=o.late_entries,
                    minutes=o.late_minutes,
                    hours=f"{hours_for_display(Decimal(o.late_minutes)):f}",
                )
            )
    if late:
        counts["late_entries"] = sum(w.entries for w in late)
    error = describe(event.map_error) if event.map_error else None
    if error:
        status = RunStatus.FAILED
    elif counts[str(Outcome.FAILED)]:
        status = RunStatus.SUCCEEDED_WITH_FAILURES
    else:
        status = RunStatus.SUCCEEDED
    repo.finish_run(event.run_id, status, counts, error)
    return RunSummary(
        run_id=event.run_id,
        period=event.period,
        status=str(status),
        total=run.total if run else sum(counts.values()),
        counts=counts,
        failures=failures[:50],
        error=error,
        late=late[:LATE_LISTED],
    )


def _outcome(task: BillTask, outcome: Outcome, statement_id: str | None = None) -> CustomerOutcome:
    return CustomerOutcome(
        run_id=task.run_id,
        org_id=task.org_id,
        customer_id=task.customer_id,
        outcome=outcome,
        statement_id=statement_id,
    )
