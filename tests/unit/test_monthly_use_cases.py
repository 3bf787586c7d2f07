"""The monthly run's use cases on in-memory fakes (the adapters have their own tests)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import pytest

from psa_billing.domain.errors import PeriodNotEndedError
from psa_billing.domain.model import CustomerPeriodData, Period, TimeEntry
from psa_billing.domain.org import OrgSettings, new_org_settings, update_org_settings
from psa_billing.domain.run import CustomerOutcome, Run, RunStatus
from psa_billing.domain.statement import Numbering, Statement, StatementStatus
from psa_billing.ingest.grouping import customer_data
from psa_billing.ingest.validate import EmptyExisting, validate_document
from psa_billing.logic import monthly
from psa_billing.logic.events import (
    BillResult,
    BillTask,
    CloseRunEvent,
    FailureTask,
    PlanRunEvent,
    RenderTask,
)
from psa_billing.logic.leases import ImportIncompleteError, ImportState, OrganisationBusyError
from psa_billing_dev.demo import demo_document
from tests.fakes import InMemoryLeases

PERIOD = Period(2026, 10)
NOW = datetime(2026, 11, 1, 2, 0, 5, tzinfo=UTC)


@dataclass
class FakeRepo:
    data: dict[tuple[str, str], CustomerPeriodData] = field(default_factory=dict)
    statements: dict[str, Statement] = field(default_factory=dict)
    outcomes_: dict[tuple[str, str, str], CustomerOutcome] = field(default_factory=dict)
    runs: dict[str, Run] = field(default_factory=dict)

    def add_org(self, org_id: str, customers: int, seed: int) -> None:
        doc = demo_document(customers, seed, PERIOD, org_id=org_id)
        for cid, d in customer_data(validate_document(json.dumps(doc), EmptyExisting())).items():
            self.data[(org_id, cid)] = d

    def list_org_ids(self) -> list[str]:
        return sorted({o for o, _ in self.data})

    time_zones: dict[str, str] = field(default_factory=dict)
    numbered: int = 0

    def get_org(self, org_id: str) -> OrgSettings | None:
        if org_id not in self.list_org_ids():
            return None
        org = new_org_settings(org_id)
        zone = self.time_zones.get(org_id)
        return update_org_settings(org, {"timeZone": zone}) if zone else org

    def iter_customer_ids(self, org_id: str) -> list[str]:
        return sorted(c for o, c in self.data if o == org_id)

    def billed_customers(self, org_id: str, period: str) -> dict[str, StatementStatus]:
        return {
            s.customer_id: s.status
            for s in self.statements.values()
            if s.org_id == org_id and str(s.period) == period and not s.is_void
        }

    def start_run(self, run: Run) -> None:
        self.runs.setdefault(run.run_id, run)

    indexed: list[tuple[str, str]] = field(default_factory=list)

    def index_run(
        self, org_id: str, run_id: str, period: str, started_at: str, started_by: str, arn: str
    ) -> None:
        self.indexed.append((org_id, run_id))

    def get_run(self, run_id: str) -> Run | None:
        return self.runs.get(run_id)

    def load_customer_period(self, org_id: str, customer_id: str, period: Period) -> Any:
        return self.data.get((org_id, customer_id))

    def create_statement(
        self,
        st: Statement,
        outcome: CustomerOutcome,
        numbering: Numbering | None = None,
        history: Any = None,
    ) -> Statement | None:
        if st.id in self.statements:
            return None
        numbering = numbering or Numbering()
        numbered = replace(st, allocated_number=numbering.format(numbering.first + self.numbered))
        self.numbered += 1
        self.statements[st.id] = numbered
        self.record_outcome(outcome)
        return numbered

    def get_statement(self, statement_id: str, *, with_inputs: bool = False) -> Statement | None:
        return self.statements.get(statement_id)

    def current_statement_id(self, org_id: str, customer_id: str, period: str) -> str | None:
        sid = f"{org_id}:{customer_id}:{period}"
        return sid if sid in self.statements else None

    def record_outcome(self, outcome: CustomerOutcome) -> None:
        self.outcomes_[(outcome.run_id, outcome.org_id, outcome.customer_id)] = outcome

    def outcomes(self, run_id: str) -> list[CustomerOutcome]:
        return [o for (r, _, _), o in self.outcomes_.items() if r == run_id]

    def finish_run(
        self, run_id: str, status: RunStatus, counts: dict[str, int], error: str | None
    ) -> None:
        self.runs[run_id] = replace(self.runs[run_id], status=status, counts=counts, error=error)


@dataclass
class FakeStore:
    bucket: str = "bucket"
    objects: dict[str, Any] = field(default_factory=dict)

    def put_json(self, key: str, doc: Any) -> None:
        self.objects[key] = doc


@dataclass
class _Orgs:
    repo: FakeRepo

    def get(self, org_id: str) -> OrgSettings:
        org = self.repo.get_org(org_id)
        assert org is not None
        return org


def _orgs(repo: FakeRepo) -> _Orgs:
    return _Orgs(repo)


def _no_sleep(_seconds: float) -> None:
    pass


def _plan(
    repo: FakeRepo,
    store: FakeStore,
    run_id: str,
    leases: InMemoryLeases | None = None,
    **request: Any,
) -> Any:
    event = PlanRunEvent.model_validate(
        {"input": request, "runId": run_id, "startedAt": NOW.isoformat()}
    )
    return monthly.plan_run(
        event, repo, store, leases or InMemoryLeases(), lambda: NOW, sleep=_no_sleep
    )


def _tasks(store: FakeStore, planned: Any) -> list[BillTask]:
    """What the state machine hands the bill step: each batch's customers with the run."""
    return [
        BillTask.model_validate({**ref, "period": planned.period, "runId": planned.run_id})
        for batch in store.objects[planned.manifest_key]
        for ref in batch["customers"]
    ]


def _bill_all(repo: FakeRepo, store: FakeStore, planned: Any) -> list[BillResult]:
    return [
        monthly.bill_customer(task, repo, lambda: NOW, _orgs(repo))
        for task in _tasks(store, planned)
    ]


def test_scheduled_run_bills_the_previous_month_of_every_organisation() -> None:
    repo, store = FakeRepo(), FakeStore()
    repo.add_org("alpha", 3, seed=1)
    repo.add_org("beta", 2, seed=2)

    planned = _plan(repo, store, "sched-1", trigger="schedule")

    assert planned.period == "2026-10"
    assert {(t.org_id, t.customer_id) for t in _tasks(store, planned)} == set(repo.data)
    assert planned.total == 5 and planned.batches == 1


def test_a_rerun_bills_only_the_customers_not_yet_billed() -> None:
    repo, store = FakeRepo(), FakeStore()
    repo.add_org("alpha", 6, seed=3)
    first = _plan(repo, store, "run-1", orgId="alpha", period="2026-10")
    billed = sum(r.outcome == "billed" for r in _bill_all(repo, store, first))
    _deliver_all(repo)
    made = len(repo.statements)

    second = _plan(repo, store, "run-2", orgId="alpha", period="2026-10")
    flagged = [t for t in _tasks(store, second) if t.billed]
    results = _bill_all(repo, store, second)

    assert second.already_billed == billed == len(flagged)
    assert second.total == 6  # already billed ones are visited to report their late time
    assert not any(r.outcome == "billed" for r in results)
    assert len(repo.statements) == made
    summary = monthly.close_run(
        CloseRunEvent(runId="run-2", period="2026-10"), repo, InMemoryLeases()
    )
    assert summary.counts["already_billed"] == billed
    assert summary.late == [] and "late_entries" not in summary.counts


def _deliver_all(repo: FakeRepo) -> None:
    """What render and send leave: every auto-send statement sent."""
    for sid, st in repo.statements.items():
        if st.status is StatementStatus.READY_TO_SEND:
            repo.statements[sid] = replace(st, status=StatementStatus.SENT)


def test_a_rerun_delivers_what_an_ended_run_billed_but_never_sent() -> None:
    """A run that died between billing a customer and emailing its statement (the
    statement still ready to send, never claimed) leaves it to the next run, which
    carries that same statement on to render and send; while the first run is still
    running, its statements are its own."""
    repo, store = FakeRepo(), FakeStore()
    repo.add_org("alpha", 6, seed=3)
    first = _plan(repo, store, "run-1", orgId="alpha", period="2026-10")
    results = _bill_all(repo, store, first)
    left = {
        r.statement_id for r in results if r.statement_id and r.auto_send
    }  # ready to send: the run "crashed" before sending any
    assert left

    during = _plan(repo, store, "run-2", orgId="alpha", period="2026-10")
    assert "billed" not in {r.outcome for r in _bill_all(repo, store, during)}

    repo.finish_run("run-1", RunStatus.SUCCEEDED_WITH_FAILURES, {}, None)
    after = _plan(repo, store, "run-3", orgId="alpha", period="2026-10")
    resumed = _bill_all(repo, store, after)

    assert after.already_billed == sum(r.outcome == "billed" for r in results) - len(left)
    carried = [r for r in resumed if r.outcome == "billed"]
    assert {r.statement_id for r in carried} == left
    assert all(r.statement is not None and r.statement.number for r in carried)
    assert len(repo.statements) == sum(r.outcome == "billed" for r in results)
    assert repo.numbered == len(repo.statements)  # no new number taken


def test_unknown_organisation_or_customer_fails_the_plan_with_a_clear_error() -> None:
    repo, store = FakeRepo(), FakeStore()
    repo.add_org("alpha", 2, seed=4)
    with pytest.raises(monthly.UnknownOrganisationError, match="'nope'"):
        _plan(repo, store, "r", orgId="nope", period="2026-10")
    with pytest.raises(monthly.UnknownCustomerError, match="'cust-9999'"):
        _plan(repo, store, "r", orgId="alpha", period="2026-10", customerIds=["cust-9999"])


def test_a_retried_bill_step_of_the_same_run_carries_on_with_its_statement() -> None:
    repo, store = FakeRepo(), FakeStore()
    repo.add_org("alpha", 2, seed=5)
    planned = _plan(repo, store, "run-1", orgId="alpha", period="2026-10")
    task = _tasks(store, planned)[0]

    first = monthly.bill_customer(task, repo, lambda: NOW, _orgs(repo))
    retry = monthly.bill_customer(task, repo, lambda: NOW, _orgs(repo))
    other_run = monthly.bill_customer(
        task.model_copy(update={"run_id": "run-2"}), repo, lambda: NOW, _orgs(repo)
    )

    assert first.outcome == retry.outcome == "billed"
    assert retry.statement == first.statement
    assert other_run.outcome == "already_billed"
    assert len(repo.statements) == 1


def test_a_failed_customer_is_recorded_with_the_lambda_error_unpacked() -> None:
    repo = FakeRepo()
    repo.start_run(Run("run-1", "2026-10", ("alpha",), RunStatus.RUNNING, 1, NOW.isoformat()))
    cause = json.dumps({"errorType": "UnknownCurrencyError", "errorMessage": "unknown 'XXX'"})
    task = FailureTask.model_validate(
        {
            "orgId": "alpha",
            "customerId": "c1",
            "runId": "run-1",
            "error": {"Error": "UnknownCurrencyError", "Cause": cause},
        }
    )

    monthly.record_failure(task, repo)
    summary = monthly.close_run(
        CloseRunEvent(runId="run-1", period="2026-10"), repo, InMemoryLeases()
    )

    assert summary.status == "succeeded_with_failures"
    assert summary.failures == [
        {"orgId": "alpha", "customerId": "c1", "error": "UnknownCurrencyError: unknown 'XXX'"}
    ]


def test_a_large_statement_travels_by_reference_not_in_the_payload(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    repo, store = FakeRepo(), FakeStore()
    repo.add_org("alpha", 1, seed=6)
    planned = _plan(repo, store, "run-1", orgId="alpha", period="2026-10")
    monkeypatch.setattr(monthly, "INLINE_STATEMENT_LIMIT", 100)

    result = monthly.bill_customer(_tasks(store, planned)[0], repo, lambda: NOW, _orgs(repo))

    assert result.outcome == "billed"
    assert result.statement is None and result.statement_id
    assert "statement" in result.wire() and result.wire()["statement"] is None


def test_a_small_statement_travels_whole_and_exact_to_the_render_step() -> None:
    repo, store = FakeRepo(), FakeStore()
    repo.add_org("alpha", 1, seed=6)
    planned = _plan(repo, store, "run-1", orgId="alpha", period="2026-10")

    result = monthly.bill_customer(_tasks(store, planned)[0], repo, lambda: NOW, _orgs(repo))
    wire = json.loads(json.dumps(result.wire()))  # what Step Functions carries
    task = RenderTask.model_validate(
        {"statementId": wire["statementId"], "revision": 0, "statement": wire["statement"]}
    )

    assert task.statement is not None
    # Everything the render step draws; not the inputs, the review evidence nor the
    # hold's reason (stored with the statement, never printed).
    assert task.statement.statement() == replace(
        repo.statements[result.statement_id or ""], inputs=None, evidence=None, last_error=None
    )


def test_customers_are_planned_in_batches_of_the_batch_size(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    repo, store = FakeRepo(), FakeStore()
    repo.add_org("alpha", 7, seed=8)
    monkeypatch.setattr(monthly, "BATCH_SIZE", 3)

    planned = _plan(repo, store, "run-1", orgId="alpha", period="2026-10")

    sizes = [len(b["customers"]) for b in store.objects[planned.manifest_key]]
    assert planned.batches == 3
    assert sizes == [3, 3, 1]


def test_a_month_that_has_not_ended_is_refused_with_the_reason() -> None:
    repo, store = FakeRepo(), FakeStore()
    repo.add_org("alpha", 2, seed=9)
    # NOW is 2026-11-01 02:00 UTC: November has only begun, December is in the future.
    for period in ("2026-11", "2026-12"):
        with pytest.raises(PeriodNotEndedError, match=f"{period} has not ended yet in UTC"):
            _plan(repo, store, "r", orgId="alpha", period=period)
    assert store.objects == {} and repo.runs == {}


def test_a_month_ends_in_the_organisations_time_zone_not_in_utc() -> None:
    repo, store = FakeRepo(), FakeStore()
    repo.add_org("west", 1, seed=10)
    repo.time_zones["west"] = "America/Los_Angeles"  # still 31 October 19:00 there
    with pytest.raises(PeriodNotEndedError, match="America/Los_Angeles"):
        _plan(repo, store, "r", orgId="west", period="2026-10")

    repo.add_org("east", 1, seed=11)
    repo.time_zones["east"] = "Pacific/Auckland"  # already 1 November 15:00 there
    planned = _plan(repo, store, "r2", trigger="schedule")
    # The schedule bills every organisation whose October has ended, and leaves "west".
    assert {t.org_id for t in _tasks(store, planned)} == {"east"}


def test_a_run_waits_for_an_import_of_its_organisation_then_is_refused_naming_it() -> None:
    repo, store, leases = FakeRepo(), FakeStore(), InMemoryLeases()
    repo.add_org("alpha", 2, seed=12)
    assert leases.take_import_lease("alpha", "import of doc.json by ann", NOW, 120) is None
    with pytest.raises(OrganisationBusyError, match=r"import of doc\.json by ann"):
        _plan(repo, store, "r", leases, orgId="alpha", period="2026-10")
    assert store.objects == {} and repo.runs == {}


def test_a_run_is_refused_while_the_last_import_is_incomplete() -> None:
    repo, store, leases = FakeRepo(), FakeStore(), InMemoryLeases()
    repo.add_org("alpha", 2, seed=13)
    leases.record_import("alpha", ImportState("writing", "import x", "ab", "2026-11-01", None, 500))
    with pytest.raises(ImportIncompleteError, match="stopped after 500 items"):
        _plan(repo, store, "r", leases, orgId="alpha", period="2026-10")
    # A refused run never closes, so it must not keep its lease (the repairing import
    # would wait for hours).
    assert leases.runs == {}


def test_a_plan_that_fails_after_taking_its_leases_gives_them_back() -> None:
    repo, store, leases = FakeRepo(), FakeStore(), InMemoryLeases()
    repo.add_org("alpha", 2, seed=22)
    with pytest.raises(monthly.UnknownCustomerError):
        _plan(repo, store, "r", leases, orgId="alpha", period="2026-10", customerIds=["nope"])
    assert leases.runs == {}
    assert leases.take_import_lease("alpha", "import", NOW, 30) is None


def test_an_import_cannot_start_while_a_run_holds_the_organisation_and_can_after() -> None:
    repo, store, leases = FakeRepo(), FakeStore(), InMemoryLeases()
    repo.add_org("alpha", 2, seed=14)
    _plan(repo, store, "run-1", leases, orgId="alpha", period="2026-10")
    assert leases.take_import_lease("alpha", "import y", NOW, 120) == "run run-1"
    monthly.close_run(CloseRunEvent(runId="run-1", period="2026-10"), repo, leases)
    assert leases.take_import_lease("alpha", "import y", NOW, 120) is None


def test_a_run_of_every_organisation_leaves_out_one_being_imported_and_counts_it() -> None:
    repo, store, leases = FakeRepo(), FakeStore(), InMemoryLeases()
    repo.add_org("alpha", 2, seed=15)
    repo.add_org("beta", 2, seed=16)
    leases.take_import_lease("beta", "import z", NOW, 120)
    planned = _plan(repo, store, "sched", leases, trigger="schedule")
    assert {t.org_id for t in _tasks(store, planned)} == {"alpha"}
    assert repo.runs["sched"].counts["blockedByImport"] == 1


def test_statements_get_the_organisations_numbers_in_sequence() -> None:
    repo, store = FakeRepo(), FakeStore()
    repo.add_org("alpha", 4, seed=21)
    planned = _plan(repo, store, "run-1", orgId="alpha", period="2026-10")
    billed = [r for r in _bill_all(repo, store, planned) if r.outcome == "billed"]
    numbers = sorted(r.statement.number for r in billed if r.statement)
    assert numbers == [f"{n:06d}" for n in range(1, len(billed) + 1)]


def _add_late_entry(repo: FakeRepo, org_id: str, customer_id: str, minutes: int) -> str:
    """A billable entry on one of the customer's tickets, imported after the run."""
    data = repo.data[(org_id, customer_id)]
    ticket = data.tickets[0]
    entry = TimeEntry(
        id=f"late-{customer_id}",
        date=PERIOD.last_day,
        minutes=minutes,
        billable=True,
        ticket_id=ticket.id,
        description="found in a drawer",
        user_id="u1",
    )
    repo.data[(org_id, customer_id)] = replace(data, entries=(*data.entries, entry))
    return entry.id


def test_a_rerun_reports_late_entries_waiting_per_already_billed_customer() -> None:
    repo, store = FakeRepo(), FakeStore()
    repo.add_org("alpha", 6, seed=3)
    first = _plan(repo, store, "run-1", orgId="alpha", period="2026-10")
    _bill_all(repo, store, first)
    billed = sorted(s.customer_id for s in repo.statements.values())
    with_tickets = [c for c in billed if repo.data[("alpha", c)].tickets]
    late_customer = with_tickets[0]
    _add_late_entry(repo, "alpha", late_customer, 95)

    second = _plan(repo, store, "run-2", orgId="alpha", period="2026-10")
    results = _bill_all(repo, store, second)
    summary = monthly.close_run(
        CloseRunEvent(runId="run-2", period="2026-10"), repo, InMemoryLeases()
    )

    late = [r for r in results if r.late_entries]
    assert [(r.outcome, r.late_entries, r.late_minutes) for r in late] == [
        ("already_billed", 1, 95)
    ]
    assert [(w.customer_id, w.entries, w.minutes, w.hours) for w in summary.late] == [
        (late_customer, 1, 95, "1.58")
    ]
    assert summary.late[0].statement_id == f"alpha:{late_customer}:2026-10"
    assert summary.counts["late_entries"] == 1
    # Reported, never billed by the re-run (docs/billing-rules.md "Late time").
    st = repo.statements[f"alpha:{late_customer}:2026-10"]
    assert st.inputs is not None
    assert "late-" + late_customer not in {u.entry_id for u in st.inputs.entries}


def test_an_already_billed_customer_whose_late_report_failed_stays_already_billed() -> None:
    repo = FakeRepo()
    repo.start_run(Run("run-1", "2026-10", ("alpha",), RunStatus.RUNNING, 1, NOW.isoformat()))
    task = FailureTask.model_validate(
        {
            "orgId": "alpha",
            "customerId": "c1",
            "runId": "run-1",
            "billed": True,
            "error": {"Error": "TransientError", "Cause": "throttled"},
        }
    )

    result = monthly.record_failure(task, repo)
    summary = monthly.close_run(
        CloseRunEvent(runId="run-1", period="2026-10"), repo, InMemoryLeases()
    )

    assert result.outcome == "already_billed" and "late time not checked" in result.error
    assert (summary.counts["already_billed"], summary.counts["failed"]) == (1, 0)
    assert summary.counts["late_unchecked"] == 1 and summary.status == "succeeded"
