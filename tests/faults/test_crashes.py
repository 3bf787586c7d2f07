"""A Lambda crash between each pair of writes (docs/reliability.md "Crashes").

Every handler of the run (plan, bill, render, send, record-failure, close) and the
import is crashed right after its Nth write to AWS, for every N its real calls reach:
the write points are counted in a clean run first (botocore, the same hooks as the
request counter), so a write added to any handler is covered without touching this
file. From the crash on, the dying function reaches AWS no more (its clean-up code
runs into the crash too), as when a Lambda is killed. The crash reaches Step Functions
either as the error AWS reports for a function that died (``Runtime.ExitError``: not
retried, caught, the customer recorded as failed) or as one the state machine retries
(``Lambda.ServiceException``: the same step runs again). Then a re-run, as the
operator would, and the invariants (docs/billing-rules.md "Once billed, billed once",
"Statement documents", "Delivery"):

* every customer with something to bill has exactly one statement, with the total the
  rules compute from the whole import, and no time entry is billed twice;
* the organisation's numbers are gapless from its first number;
* no statement is lost or stuck: every auto-send statement is sent, except one whose
  sender died between claiming it and recording SES's answer. Once its claim expires,
  one whose sender died before recording the hand-over to SES reads ``send_failed``,
  was mailed to nobody, and the pending send emails it exactly once; one whose sender
  recorded the hand-over reads ``send_unknown`` and is not offered to the pending send
  (SES's at-most-once boundary: a person decides);
* no email is sent twice;
* a half-written import is never billed.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

import botocore.client
import pytest

from psa_billing import config, runtime
from psa_billing.dal import keys, repository, serde
from psa_billing.dal.models import CustomerItem
from psa_billing.domain.model import Period
from psa_billing.domain.statement import CLAIM_SECONDS, StatementStatus
from psa_billing.logic.importing import import_document
from psa_billing.logic.statements import deliver, sendable
from psa_billing_dev.cli.runner import RunFailedError
from psa_billing_dev.demo import demo_document
from psa_billing_dev.local import hook
from tests.support import bill, expected_drafts, mails

pytestmark = [pytest.mark.e2e, pytest.mark.local_stack]

PERIOD = Period(2026, 10)
CUSTOMERS = 4  # two with auto-send, two held for review (demo seed below)
SEED = 41
BROKEN = 2  # this customer's data is broken for the first run: record-failure runs
HELD = 1  # a customer without auto-send whose name the PDF cannot show exactly

HANDLERS = {
    "functions.monthly_run.app.plan_run": "plan",
    "functions.monthly_run.app.bill_customer": "bill",
    "functions.render_statement.app.handler": "render",
    "functions.send_statement.app.handler": "send",
    "functions.monthly_run.app.record_failure": "record-failure",
    "functions.monthly_run.app.close_run": "close",
}
_READS = ("Get", "Query", "List", "Describe", "Head", "Scan", "BatchGet", "TransactGet")

# How the crash reaches Step Functions: as AWS reports a function that died (caught,
# then RecordFailure), or as an error the definition's Retry covers (the step again).
CRASHED = "Runtime.ExitError"
RETRIED = "Lambda.ServiceException"


def _crash_error(name: str) -> type[Exception]:
    """An exception whose class name is the Lambda error type (the local engine reports
    ``type(exc).__name__``, as Lambda's Python runtime does)."""
    return type(name, (Exception,), {})


def is_write(operation: str) -> bool:
    return not operation.startswith(_READS)


class Crasher:
    """Counts each invocation's writes (per handler, or the import) and, when armed,
    crashes the first invocation of the target that completes its Nth write."""

    def __init__(self) -> None:
        self._local = threading.local()
        self._lock = threading.Lock()
        self.target: tuple[str, int, type[Exception]] | None = None
        self.fired: tuple[str, int, tuple[str, ...]] | None = None
        # scope -> the most writes one invocation made, and what they were.
        self.seen: dict[str, tuple[str, ...]] = {}

    def arm(self, scope: str, after: int, error: str) -> None:
        self.target, self.fired = (scope, after, _crash_error(error)), None

    def disarm(self) -> None:
        self.target = None

    @contextmanager
    def scope(self, name: str) -> Iterator[None]:
        st = self._local
        saved = getattr(st, "scope", None), getattr(st, "writes", []), getattr(st, "dead", None)
        st.scope, st.writes, st.dead = name, [], None
        try:
            yield
        finally:
            writes = tuple(st.writes)
            with self._lock:
                if len(writes) > len(self.seen.get(name, ())):
                    self.seen[name] = writes
            st.scope, st.writes, st.dead = saved

    def around_call(self, call: Callable[[], Any], service: str, operation: str) -> Any:
        st = self._local
        scope = getattr(st, "scope", None)
        if scope is None:
            return call()  # the test's own calls, the engine's fan-out
        if st.dead is not None:
            raise st.dead("the function had crashed: nothing more reaches AWS")
        result = call()
        if not is_write(operation):
            return result
        st.writes.append(f"{service}.{operation}")
        with self._lock:
            target = self.target
            hit = target is not None and target[0] == scope and target[1] == len(st.writes)
            if hit:
                self.target = None  # one crash per arming
        if hit and target is not None:
            self.fired = (scope, len(st.writes), tuple(st.writes))
            st.dead = target[2]
            raise target[2](f"{scope} crashed after write {len(st.writes)} ({service}.{operation})")
        return result


@pytest.fixture(scope="module")
def crasher(request_counter: Any) -> Iterator[Crasher]:
    """Installed above botocore (every client, pynamodb's included) and around the local
    stack's handler invocations; the request counter stays underneath."""
    crasher = Crasher()
    original_call = botocore.client.BaseClient._make_api_call
    original_run = hook.run_handler

    def make_api_call(self: Any, operation: str, params: Any) -> Any:
        service = self.meta.service_model.service_name
        return crasher.around_call(
            lambda: original_call(self, operation, params), service, operation
        )

    def run_handler(dotted_path: str, event: Any, context: Any) -> Any:
        name = HANDLERS.get(dotted_path)
        if name is None:
            return original_run(dotted_path, event, context)
        with crasher.scope(name):
            return original_run(dotted_path, event, context)

    botocore.client.BaseClient._make_api_call = make_api_call  # type: ignore[method-assign]
    hook.run_handler = run_handler
    try:
        yield crasher
    finally:
        botocore.client.BaseClient._make_api_call = original_call  # type: ignore[method-assign]
        hook.run_handler = original_run


def _document(org_id: str, customers: int = CUSTOMERS) -> dict[str, Any]:
    doc = demo_document(customers, SEED, PERIOD, org_id=org_id)
    # Hebrew no shipped font shapes: rendered, then held for review (render's 2nd write).
    doc["customers"][HELD]["name"] += " \u05e9\u05dc\u05d5\u05dd"
    return doc


def _import(crasher: Crasher, doc: dict[str, Any], lease_seconds: int = 30) -> None:
    import json

    with crasher.scope("import"):
        import_document(
            json.dumps(doc).encode(),
            runtime.repository(),
            clock=runtime.utc_now,
            leases=runtime.leases(),
            lease_seconds=lease_seconds,
        )


def _break(org_id: str, doc: dict[str, Any]) -> Callable[[], None]:
    """Break one customer behind the import's back (an unknown currency); returns the
    repair."""
    customer_id = doc["customers"][BROKEN]["id"]
    item = CustomerItem.get(keys.org_pk(org_id), keys.customer_sk(customer_id))
    good = item.currency
    item.update(actions=[CustomerItem.currency.set("XXX")])
    return lambda: item.update(actions=[CustomerItem.currency.set(good)])


def _run(repo: Any, org_id: str) -> Any:
    try:
        return bill(repo, org_id, PERIOD)
    except RunFailedError as exc:  # the plan or the close crashed: the execution failed
        return exc


@pytest.fixture(scope="module")
def write_points(crasher: Crasher, repo: Any) -> dict[str, tuple[str, ...]]:
    """Each handler's (and the import's) writes in one invocation, the most any made,
    counted in a clean run with a customer that fails."""
    org_id = "org-crash-baseline"
    doc = _document(org_id)
    _import(crasher, doc)
    repair = _break(org_id, doc)
    _run(repo, org_id)
    repair()
    _run(repo, org_id)
    points = dict(crasher.seen)
    print("write points:", {k: list(v) for k, v in sorted(points.items())})
    assert set(points) == {*HANDLERS.values(), "import"}, points
    assert all(points.values()), points
    return points


def _later(seconds: int) -> type[datetime]:
    class Later(datetime):
        @classmethod
        def now(cls, tz: Any = None) -> Any:
            return datetime.now(tz) + timedelta(seconds=seconds)

    return Later


def _check_invariants(
    repo: Any,
    org_id: str,
    doc: dict[str, Any],
    new_mail: list[Any],
    fired: tuple[str, int, tuple[str, ...]],
    monkeypatch: pytest.MonkeyPatch,
) -> list[str]:
    problems: list[str] = []
    expected = {c: d for c, d in expected_drafts(doc, PERIOD).items() if d is not None}
    statements = repo.list_statements(org_id, str(PERIOD))
    by_customer = Counter(s.customer_id for s in statements)
    if sorted(by_customer) != sorted(expected) or max(by_customer.values(), default=1) != 1:
        problems.append(f"statements per customer {dict(by_customer)}, expected {sorted(expected)}")
    entries: list[str] = []
    for s in statements:
        stored = repo.get_statement(s.id, with_inputs=True)  # readable, with its inputs
        if s.customer_id in expected and stored.total != expected[s.customer_id].total:
            problems.append(f"{s.customer_id}: total {stored.total}")
        entries += [u.entry_id for u in stored.inputs.entries if u.billed_minutes > 0]
    if len(entries) != len(set(entries)):
        problems.append("a time entry was billed twice")
    org = repo.get_org(org_id)
    numbers = sorted(int(s.number.removeprefix(org.statement_number_prefix)) for s in statements)
    first = org.next_statement_number
    if numbers != list(range(first, first + len(numbers))):
        problems.append(f"numbers not gapless from {first}: {numbers}")
    sent_to = Counter(str(m["To"]).rsplit("<", 1)[-1].rstrip(">").strip() for m in new_mail)
    if sent_to and max(sent_to.values()) > 1:
        problems.append(f"mailed twice: {dict(sent_to)}")
    for s in statements:
        mailed = sent_to.get(s.billing_email, 0)
        if not s.auto_send:
            if s.status is not StatementStatus.PENDING_REVIEW or mailed:
                problems.append(f"{s.customer_id} (review): {s.status}, mailed {mailed}")
            continue
        if s.status is StatementStatus.SENT:
            if mailed != 1:
                problems.append(f"{s.customer_id}: sent, but mailed {mailed} times")
            continue
        # Only a sender that died between its claim and recording SES's answer may leave
        # a statement unsent: in `sending` until its claim expires.
        if fired[0] != "send" or s.status is not StatementStatus.SENDING:
            problems.append(f"{s.customer_id}: stuck as {s.status} (mailed {mailed})")
            continue
        problems += _once_the_claim_expires(repo, s, mailed, monkeypatch)
    return problems


def _to(address: str) -> int:
    return sum(1 for m in mails() if address in str(m["To"]))


def _once_the_claim_expires(
    repo: Any, st: Any, mailed: int, monkeypatch: pytest.MonkeyPatch
) -> list[str]:
    """docs/reliability.md "A sender that stops", read CLAIM_SECONDS later: a claim never
    handed to SES is released (send_failed, nothing mailed) and the pending send emails
    it exactly once; one handed over is send_unknown, left for a person."""
    later = _later(CLAIM_SECONDS + 1)
    monkeypatch.setattr(serde, "datetime", later)  # how it reads
    monkeypatch.setattr(repository, "datetime", later)  # what the claim's condition sees
    try:
        now = repo.get_statement(st.id)
        waiting = [w.id for w in sendable(repo, st.org_id, str(PERIOD))]
        who = f"{st.customer_id} after its claim expired"
        if now.status is StatementStatus.SEND_UNKNOWN:
            if now.handed_to_ses_at is None:
                return [f"{who}: send_unknown though never handed to SES"]
            return [f"{who}: send_unknown offered to the pending send"] if st.id in waiting else []
        if now.status is not StatementStatus.SEND_FAILED:
            return [f"{who}: reads {now.status}"]
        if now.handed_to_ses_at is not None or mailed:
            return [f"{who}: released though handed to SES (mailed {mailed})"]
        if st.id not in waiting:
            return [f"{who}: send_failed but not offered to the pending send"]
        before = _to(st.billing_email)
        deliver(
            st.id,
            repo=repo,
            store=runtime.object_store(),
            mailer=runtime.mailer(),
            orgs=runtime.org_cache(),
            sender=config.mail().sender_email,
            clock=runtime.utc_now,
        )
        again = repo.get_statement(st.id)
        sent = _to(st.billing_email) - before
        if again.status is not StatementStatus.SENT or sent != 1:
            return [f"{who}: the pending send left it {again.status}, mailed {sent} times"]
        return []
    finally:
        monkeypatch.undo()


@pytest.mark.parametrize("error", [CRASHED, RETRIED])
@pytest.mark.parametrize("handler", list(HANDLERS.values()))
def test_a_crash_after_any_write_of_a_run_handler_loses_and_repeats_nothing(
    handler: str,
    error: str,
    crasher: Crasher,
    write_points: dict[str, tuple[str, ...]],
    repo: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    failures: dict[str, list[str]] = {}
    for after in range(1, len(write_points[handler]) + 1):
        org_id = f"org-crash-{handler}-{after}-{error[:3].lower()}"
        doc = _document(org_id)
        _import(crasher, doc)
        repair = _break(org_id, doc)
        mails_before = len(mails())

        crasher.arm(handler, after, error)
        _run(repo, org_id)
        crasher.disarm()
        fired = crasher.fired
        assert fired is not None, f"{handler} never made write {after}"
        repair()
        _run(repo, org_id)  # the operator re-runs the period

        problems = _check_invariants(repo, org_id, doc, mails()[mails_before:], fired, monkeypatch)
        if problems:
            failures[f"after write {after} ({fired[2][-1]})"] = problems
    assert not failures, failures


def test_an_import_crashed_after_any_write_is_never_billed_in_part(
    crasher: Crasher, write_points: dict[str, tuple[str, ...]], repo: Any
) -> None:
    failures: dict[str, str] = {}
    for after in range(1, len(write_points["import"]) + 1):
        org_id = f"org-crash-import-{after}"
        doc = _document(org_id)
        crasher.arm("import", after, CRASHED)
        with pytest.raises(Exception, match="crashed"):
            _import(crasher, doc, lease_seconds=1)
        crasher.disarm()
        state = runtime.leases().import_state(org_id)
        complete = bool(state and state.complete)

        first = _run(repo, org_id)  # a run right after the crash
        billed_early = not isinstance(first, RunFailedError)
        if billed_early != complete:
            failures[f"after write {after}"] = f"a run of a {state} import: {first}"
            continue
        if not complete and "import" not in str(first) and "does not exist" not in str(first):
            failures[f"after write {after}"] = f"refused without naming the import: {first}"

        _import(crasher, doc, lease_seconds=1)  # the same document again finishes it
        _run(repo, org_id)
        expected = {c: d for c, d in expected_drafts(doc, PERIOD).items() if d is not None}
        statements = {s.customer_id: s for s in repo.list_statements(org_id, str(PERIOD))}
        if set(statements) != set(expected):
            failures[f"after write {after}"] = f"billed {sorted(statements)}"
            continue
        for customer_id, draft in expected.items():
            stored = repo.get_statement(statements[customer_id].id, with_inputs=True)
            if stored.inputs != draft.inputs:
                failures[f"after write {after}"] = f"{customer_id} billed from part of it"
    assert not failures, failures
