"""The billing API's use cases: who may see what, statements (list, one, PDF link,
CSV, adjust, send), runs (start, list, one). Collaborators are passed in.

Tenancy rule: another organisation's statement or run is "not found" (never
"forbidden", never the data); a member of the organisation whose role does not allow
the action is "forbidden".
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import Any, Protocol

from psa_billing.auth.errors import ForbiddenError
from psa_billing.auth.roles import Principal
from psa_billing.dal.access import ActiveRun, OrgRun, StatementPosition
from psa_billing.dal.failures import AdjustmentAlreadyMadeError
from psa_billing.dal.keys import pdf_key
from psa_billing.domain.adjustments import Adjustment, AdjustmentKind
from psa_billing.domain.calendar import ensure_period_ended
from psa_billing.domain.errors import InvalidAdjustmentError
from psa_billing.domain.late import LateTime
from psa_billing.domain.model import CustomerPeriodData, Period
from psa_billing.domain.money import Currency, format_amount
from psa_billing.domain.run import CustomerOutcome, Outcome, Run, RunStatus
from psa_billing.domain.statement import (
    Statement,
    StatementStatus,
    VoidNoticeState,
    format_percent,
    format_quantity,
    void_notice_refusal,
)
from psa_billing.logic.adjusting import (
    Change,
    Charge,
    Credit,
    LateTimeChange,
    LineEdit,
    build_adjustment,
    build_void,
    late_waiting,
)
from psa_billing.logic.errors import NotFound, NotSendable, PeriodRunning


class StatementWorkers(Protocol):
    """Rendering and sending happen in their own functions (cold start, least privilege)."""

    def render(self, statement_id: str, revision: int) -> str: ...
    def send(
        self, statement_id: str, revision: int, pdf_key: str, *, again: bool, notice: str = ...
    ) -> bool: ...


class StatementRepo(Protocol):
    def get_statement(
        self, statement_id: str, *, with_inputs: bool = False
    ) -> Statement | None: ...
    def append_adjustment(
        self, st: Statement, adj: Adjustment, *, request_key: str | None = None
    ) -> None: ...
    def void_statement(self, st: Statement, adj: Adjustment) -> None: ...
    def mark_sent_by_person(self, statement_id: str, revision: int, actor: str) -> None: ...
    def mark_void_notice_sent_by_person(self, statement_id: str, actor: str) -> None: ...
    def load_customer_period(
        self, org_id: str, customer_id: str, period: Period
    ) -> CustomerPeriodData | None: ...
    def get_run(self, run_id: str) -> Run | None: ...


class Links(Protocol):
    def exists(self, key: str) -> bool: ...
    def presigned_get(self, key: str, seconds: int) -> str: ...


class Runs(Protocol):
    def execution_arn(self, name: str) -> str: ...
    def start(self, name: str, payload: dict[str, Any]) -> str: ...
    def is_running(self, execution_arn: str) -> bool: ...


# --------------------------------------------------------------------------- access


def read_orgs(principal: Principal, org_id: str | None = None) -> list[str]:
    """The organisations a billing read covers (one if ``org_id`` is given)."""
    allowed = principal.billing_read_orgs()
    if org_id is not None:
        if org_id not in principal.roles:
            raise NotFound(f"no organisation {org_id!r}")
        if org_id not in allowed:
            raise ForbiddenError(f"your role in {org_id} does not include billing")
        return [org_id]
    if not allowed:
        raise ForbiddenError("none of your organisations gives you billing access")
    return sorted(allowed)


def check_org(principal: Principal, org_id: str, *, write: bool, what: str) -> None:
    if org_id not in principal.roles:
        raise NotFound(f"no {what}")
    if org_id not in principal.billing_read_orgs():
        raise ForbiddenError(f"your role in {org_id} does not include billing")
    if write and org_id not in principal.billing_write_orgs():
        raise ForbiddenError("this client may read billing data but not change it")


def write_org(principal: Principal, org_id: str | None) -> str:
    """The organisation a billing write is for: given, or the caller's only one."""
    if org_id is not None:
        check_org(principal, org_id, write=True, what=f"organisation {org_id!r}")
        return org_id
    orgs = sorted(principal.billing_write_orgs())
    if principal.read_only:
        raise ForbiddenError("this client may read billing data but not change it")
    if not orgs:
        raise ForbiddenError("none of your organisations gives you billing access")
    if len(orgs) > 1:
        raise InvalidAdjustmentError("you bill several organisations: give orgId")
    return orgs[0]


def visible_statement(
    repo: StatementRepo,
    principal: Principal,
    statement_id: str,
    *,
    write: bool = False,
    with_inputs: bool = False,
) -> Statement:
    st = repo.get_statement(statement_id, with_inputs=with_inputs)
    if st is None:
        raise NotFound(f"no statement {statement_id!r}")
    check_org(principal, st.org_id, write=write, what=f"statement {statement_id!r}")
    return st


# --------------------------------------------------------------------------- views


def summary_view(st: Statement) -> dict[str, Any]:
    pub = st.public()
    return {
        **{k: pub[k] for k in _SUMMARY_FIELDS},
        "mailEvent": str(st.delivery.kind) if st.delivery else None,
        "review": st.evidence.public(compact=True) if st.evidence else None,
    }


_SUMMARY_FIELDS = (
    "id",
    "number",
    "orgId",
    "customerId",
    "customerName",
    "period",
    "currency",
    "status",
    "revision",
    "subtotal",
    "taxPercent",
    "tax",
    "total",
    "amountDue",
    "version",
    "createdAt",
)


def statement_view(st: Statement, late: LateTime | None = None) -> dict[str, Any]:
    """The statement with its delivery and its history (who, when, why); ``late``: its
    late entries still waiting, when they were looked up (the statement's page)."""
    pub = st.public()
    cur = st.currency_info
    history: list[dict[str, Any]] = [
        {
            "at": st.created_at.isoformat(),
            "event": "created",
            "revision": 0,
            "actor": f"run {st.run_id}",
            "summary": f"billed {format_amount(st.total, cur)} {st.currency}"
            + (
                f"; held for review: {'; '.join(st.evidence.held)}"
                if st.evidence and st.evidence.held
                else ""
            ),
        }
    ]
    history += [
        {
            "at": a.at,
            "event": "voided" if a.kind is AdjustmentKind.VOID else "adjusted",
            "revision": a.number,
            "actor": a.actor,
            "reason": a.reason,
            "summary": a.summary(cur),
        }
        for a in st.adjustments
    ]
    if st.void_notice_sent_at is not None:
        notice: dict[str, Any] = {
            "at": st.void_notice_sent_at.isoformat(),
            "event": "void notice sent",
            "revision": st.revision,
            "summary": f"emailed the void notice to {st.billing_email}",
        }
        if st.void_notice_marked_by:
            notice["actor"] = st.void_notice_marked_by
            notice["summary"] = (
                "recorded as sent: the void notice was handed to SES but its answer was "
                "never recorded, and the customer has it"
            )
        history.append(notice)
    if st.sent_at is not None and st.sent_revision is not None:
        history.append(
            {
                "at": st.sent_at.isoformat(),
                "event": "sent",
                "revision": st.sent_revision,
                "summary": f"emailed revision {st.sent_revision} to {st.billing_email}",
            }
        )
    history += [
        {
            "at": e.at,
            "event": str(e.kind),
            "revision": e.revision,
            "actor": e.source,
            "summary": e.summary(),
        }
        for e in st.delivery_events
    ]
    # By time to the second (adjustments are stamped to the second, the statement to the
    # microsecond), keeping the natural order within a second: the sort is stable.
    history.sort(key=lambda e: datetime.fromisoformat(str(e["at"])).replace(microsecond=0))
    return {
        **pub,
        "delivery": {
            "status": str(st.status),
            "sendAttempts": st.send_attempts,
            "lastError": st.last_error,
            "sentRevision": st.sent_revision,
            "sentAt": st.sent_at.isoformat() if st.sent_at else None,
            "messageId": st.message_id,
            "claim": st.claim_public(),
            "lastEvent": pub["delivery"],
            "events": pub["deliveryEvents"],
        },
        "history": history,
        "lateWaiting": late.public() if late is not None else None,
    }


def statement_detail(
    repo: StatementRepo, principal: Principal, statement_id: str
) -> dict[str, Any]:
    """The statement's page: as ``statement_view``, with its late entries still waiting
    (docs/billing-rules.md "Late time")."""
    st = visible_statement(repo, principal, statement_id, with_inputs=True)
    st, late = late_waiting(repo, st)
    return statement_view(st, late)


# --------------------------------------------------------------------------- listing


class StatementPages(Protocol):
    def statements_page(
        self,
        org_ids: Sequence[str],
        *,
        period: str | None,
        status: str | None,
        limit: int,
        after: StatementPosition | None,
    ) -> tuple[list[Statement], StatementPosition | None]: ...


def check_period(period: str | None) -> None:
    if period is not None:
        Period.parse(period)


def check_status(status: str | None) -> None:
    if status is not None and status not in StatementStatus.__members__.values():
        allowed = ", ".join(s.value for s in StatementStatus)
        raise InvalidAdjustmentError(f"status must be one of {allowed}")


def list_statements(
    pages: StatementPages,
    repo: StatementRepo,
    org_ids: Sequence[str],
    *,
    period: str | None,
    customer_id: str | None,
    status: str | None,
    limit: int,
    after: StatementPosition | None,
) -> tuple[list[Statement], StatementPosition | None]:
    check_period(period)
    check_status(status)
    if customer_id is None:
        return pages.statements_page(
            org_ids, period=period, status=status, limit=limit, after=after
        )
    # A customer has one statement a month (more after voids): read its ids by key, then each.
    found: list[Statement] = []
    for org in sorted(org_ids, reverse=True):
        for period_of, version, sid in _customer_statements(pages, org, customer_id, period):
            pos = StatementPosition(period_of, org, customer_id, version)
            if after is not None and _key(pos) >= _key(after):
                continue
            st = repo.get_statement(sid)
            if st is None or (status is not None and str(st.status) != status):
                continue
            found.append(st)
    found.sort(key=lambda s: _key(_position(s)))
    found.reverse()
    page = found[:limit]
    more = len(found) > limit
    last = page[-1] if page and more else None
    return page, (_position(last) if last else None)


def _position(st: Statement) -> StatementPosition:
    return StatementPosition(str(st.period), st.org_id, st.customer_id, st.version)


def _key(p: StatementPosition) -> tuple[str, str, str, int]:
    return (p.period, p.org_id, p.customer_id, p.version)


def _customer_statements(
    pages: Any, org: str, customer_id: str, period: str | None
) -> list[tuple[str, int, str]]:
    return [
        (str(i.period), int(i.version or 1), str(i.statement_id))
        for i in pages.customer_statements(org, customer_id, period)
    ]


CSV_COLUMNS = (
    "statementNumber",
    "statementId",
    "orgId",
    "customerId",
    "customerName",
    "period",
    "periodStart",
    "periodEnd",
    "issuedAt",
    "revision",
    "status",
    "lineId",
    "kind",
    "description",
    "quantity",
    "unitPrice",
    "net",
    "taxPercent",
    "currency",
)


def csv_rows(
    pages: StatementPages, org_ids: Sequence[str], period: str, batch: int = 200
) -> Iterator[str]:
    """The period's effective lines, one CSV row each, produced a page at a time so
    10,000 lines never sit in memory as one string."""
    Period.parse(period)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")

    def flush() -> str:
        text = buf.getvalue()
        buf.seek(0)
        buf.truncate()
        return text

    writer.writerow(CSV_COLUMNS)
    yield flush()
    after: StatementPosition | None = None
    while True:
        items, after = pages.statements_page(
            org_ids, period=period, status=None, limit=batch, after=after
        )
        for st in items:
            cur = Currency.of(st.currency)
            now = st.current()
            p = st.period
            for line in now.lines:
                writer.writerow(
                    (
                        st.number,
                        st.id,
                        st.org_id,
                        st.customer_id,
                        st.customer_name,
                        str(p),
                        p.first_day.isoformat(),
                        p.last_day.isoformat(),
                        st.created_at.isoformat(),
                        st.revision,
                        str(st.status),
                        line.id,
                        str(line.kind),
                        line.description,
                        format_quantity(line),
                        format_amount(line.unit_price, cur),
                        format_amount(line.amount, cur),
                        format_percent(st.tax_percent),
                        st.currency,
                    )
                )
            yield flush()
        if after is None:
            return


# --------------------------------------------------------------------------- PDF


def pdf_link(
    repo: StatementRepo,
    links: Links,
    workers: StatementWorkers,
    principal: Principal,
    statement_id: str,
    revision: int | None,
    seconds: int,
) -> str:
    st = visible_statement(repo, principal, statement_id)
    rev = st.revision if revision is None else revision
    if not 0 <= rev <= st.revision:
        raise NotFound(f"statement {statement_id} has revisions 0 to {st.revision}, not {rev}")
    key = pdf_key(st.org_id, str(st.period), st.customer_id, rev, st.version)
    if not links.exists(key):
        if rev != st.revision:
            raise NotFound(f"no PDF of revision {rev} of statement {statement_id}")
        key = workers.render(st.id, rev)  # the current revision is rendered on demand
    return links.presigned_get(key, seconds)


# --------------------------------------------------------------------------- writes


def _change_of(change: dict[str, Any]) -> Change:
    """The request body's adjustment (validated by the API's schema) as a Change."""
    kind = change["kind"]
    if kind == AdjustmentKind.EDIT:
        return LineEdit(
            change["lineId"],
            change.get("description"),
            change.get("quantity"),
            change.get("unitPrice"),
        )
    if kind == AdjustmentKind.CREDIT:
        return Credit(amount=change["amount"], description=change["description"])
    if kind == AdjustmentKind.CHARGE:
        return Charge(
            description=change["description"],
            quantity=change["quantity"],
            unit_price=change["unitPrice"],
        )
    if kind == AdjustmentKind.LATE_TIME:
        return LateTimeChange()
    raise InvalidAdjustmentError(f"unknown adjustment kind {kind!r}")


# Statements with more lines than this get the new revision's PDF rendered on its first
# request (the PDF route and every send render a missing revision), not inside the
# adjusting request: a 10,000-line revision takes some 18 s to render on the render
# function, which with the adjustment's own work would approach the API function's 28 s,
# and a request stopped after its write would leave its Idempotency-Key in progress for
# a retry to apply the adjustment twice (docs/reliability.md). 2,000 lines render in
# about 4 s there.
INLINE_RENDER_MAX_LINES = 2_000


def adjust_statement(
    repo: StatementRepo,
    workers: StatementWorkers,
    principal: Principal,
    statement_id: str,
    change: dict[str, Any],
    *,
    clock: Callable[[], datetime],
    on_render_failure: Callable[[Exception], None],
    request_key: str | None = None,
) -> Statement:
    """``request_key``: the request's Idempotency-Key; a request run again (its record
    lost, or left in progress by a stopped function) appends nothing and answers the
    statement as it is (dal/repository.append_adjustment).

    Append one adjustment (validated against the current revision; a concurrent
    one loses with a 409) and render the new revision's PDF (for a statement of more
    than INLINE_RENDER_MAX_LINES lines, on its first request instead). The pure
    rules are the domain's (domain/adjustments.py); this is logic/statements.adjust
    without the PDF/email imports the API function must not load; both build the
    adjustment with logic/adjusting.build_adjustment."""
    wanted = _change_of(change)
    late_kind = isinstance(wanted, LateTimeChange)
    st = visible_statement(repo, principal, statement_id, write=True, with_inputs=late_kind)
    late = None
    if isinstance(wanted, LateTimeChange):
        st, late = late_waiting(repo, st)
    at = clock().isoformat(timespec="seconds")
    adj = build_adjustment(
        st, wanted, at=at, actor=principal.actor, reason=change["reason"], late=late
    )
    scoped = f"{principal.subject}\n{request_key}" if request_key else None
    try:
        repo.append_adjustment(st, adj, request_key=scoped)
    except AdjustmentAlreadyMadeError:
        done = repo.get_statement(statement_id)
        assert done is not None
        return done
    if len(st.lines) <= INLINE_RENDER_MAX_LINES:
        try:
            workers.render(st.id, adj.number)
        except Exception as exc:
            # The adjustment stands; the PDF is rendered on the next send or PDF request.
            on_render_failure(exc)
    adjusted = repo.get_statement(statement_id)
    assert adjusted is not None
    return adjusted


def void_statement(
    repo: StatementRepo,
    workers: StatementWorkers,
    principal: Principal,
    statement_id: str,
    reason: str,
    *,
    clock: Callable[[], datetime],
    on_render_failure: Callable[[Exception], None],
) -> Statement:
    """docs/billing-rules.md "Void": one conditional transaction marks the statement void
    (who, when, why) and releases its entries and devices to the next run; then the
    render function renders the void revision (stamped VOID) and, when the customer
    had been sent the statement, the send function emails the void notice, once.
    Refused (409) when it is void already or being emailed."""
    st = visible_statement(repo, principal, statement_id, write=True)
    at = clock().isoformat(timespec="seconds")
    adj = build_void(st, at=at, actor=principal.actor, reason=reason)
    repo.void_statement(st, adj)
    try:
        key = workers.render(st.id, adj.number)
        if st.sent_revision is not None:
            workers.send(st.id, adj.number, key, again=False, notice="void")
    except Exception as exc:
        # The void stands; `resend` emails the void notice later.
        on_render_failure(exc)
    voided = repo.get_statement(statement_id)
    assert voided is not None
    return voided


def send(
    repo: StatementRepo,
    workers: StatementWorkers,
    principal: Principal,
    statement_id: str,
    *,
    again: bool,
    anyway: bool = False,
) -> tuple[Statement, bool, str]:
    """Email the current revision (``again``: even if it was sent). A void statement is
    never sent again: a re-send emails its void notice if that has not gone out, and
    one whose outcome is unknown only ``anyway`` (409 with the reason otherwise)."""
    st = visible_statement(repo, principal, statement_id, write=True)
    if st.is_void:
        if not again:
            raise NotSendable(f"statement {statement_id} is void; there is nothing to send")
        refused = void_notice_refusal(
            st,
            anyway=anyway,
            resend="Send the void notice anyway; the API's resend with anyway=true",
            mark_sent="Mark the void notice sent; the API's mark-sent",
        )
        if refused:
            raise NotSendable(refused)
        key = workers.render(st.id, st.revision)
        sent = workers.send(st.id, st.revision, key, again=anyway, notice="void")
        if not sent:
            raise NotSendable(f"the void notice of {statement_id} changed meanwhile; show it again")
        done = repo.get_statement(statement_id)
        assert done is not None
        return done, sent, key
    if st.status is StatementStatus.SENDING:
        raise NotSendable(f"statement {statement_id} is being sent right now")
    if st.status is StatementStatus.SEND_UNKNOWN and not again:
        raise NotSendable(
            f"statement {statement_id} revision {st.revision}: a send stopped after handing "
            "the mail to SES and before its answer was recorded, so it may or may not have "
            "arrived; check with the customer, then resend it or mark it sent"
        )
    if st.status is StatementStatus.SENT and not again:
        raise NotSendable(
            f"statement {statement_id} revision {st.revision} was already sent; "
            "use resend to send it again"
        )
    key = workers.render(st.id, st.revision)
    sent = workers.send(st.id, st.revision, key, again=again)
    if not sent:
        raise NotSendable(f"statement {statement_id} changed meanwhile; show it and retry")
    done = repo.get_statement(statement_id)
    assert done is not None
    return done, sent, key


def mark_sent(repo: StatementRepo, principal: Principal, statement_id: str) -> Statement:
    """docs/reliability.md "A sender that stops": a person who checked with the customer
    that a mail whose outcome was unknown (send_unknown) did arrive records it as sent,
    by name; of a void statement, its void notice whose outcome is unknown. Any other
    state is refused with the reason; nothing is emailed."""
    st = visible_statement(repo, principal, statement_id, write=True)
    if st.is_void:
        if st.void_notice is not VoidNoticeState.UNKNOWN:
            raise NotSendable(
                f"statement {statement_id} is void and its void notice is "
                f"{st.void_notice or 'not_needed'}: only a void notice whose outcome is "
                "unknown can be marked sent"
            )
        repo.mark_void_notice_sent_by_person(statement_id, principal.actor)
        done = repo.get_statement(statement_id)
        assert done is not None
        return done
    if st.status is not StatementStatus.SEND_UNKNOWN:
        raise NotSendable(
            f"statement {statement_id} is {st.status}: only a send whose outcome is unknown "
            "(send_unknown) can be marked sent"
        )
    repo.mark_sent_by_person(statement_id, st.revision, principal.actor)
    done = repo.get_statement(statement_id)
    assert done is not None
    return done


# --------------------------------------------------------------------------- runs


class RunIndex(Protocol):
    def active_run(self, org_id: str, period: str) -> ActiveRun | None: ...
    def claim_period(
        self, org_id: str, period: str, run_id: str, arn: str, previous: ActiveRun | None
    ) -> None: ...
    def index_run(
        self, org_id: str, run_id: str, period: str, started_at: str, started_by: str, arn: str
    ) -> None: ...
    def org_runs(self, org_id: str, limit: int, before: str | None = None) -> list[OrgRun]: ...
    def outcomes_of(self, run_id: str, org_id: str) -> list[CustomerOutcome]: ...


def start_run(
    index: RunIndex,
    runs: Runs,
    principal: Principal,
    *,
    org_id: str | None,
    period: str,
    customer_ids: list[str] | None,
    clock: Callable[[], datetime],
    time_zone_of: Callable[[str], str],
) -> dict[str, Any]:
    """Start the state machine as the monthly schedule does, for one organisation.
    While a run of that organisation and period is running, another is refused."""
    org = write_org(principal, org_id)
    # docs/billing-rules.md "The period": refused until the month has ended in the
    # organisation's time zone, whoever starts the run.
    ensure_period_ended(Period.parse(period), clock(), time_zone_of(org))
    previous = index.active_run(org, period)
    if previous is not None and runs.is_running(previous.execution_arn):
        raise PeriodRunning(f"run {previous.run_id} is billing {org} {period}; wait for it")
    run_id = f"{org}-{period}-{uuid.uuid4().hex[:8]}"[:80]
    arn = runs.execution_arn(run_id)
    index.claim_period(org, period, run_id, arn, previous)
    payload: dict[str, Any] = {"trigger": "api", "period": period, "orgId": org}
    if customer_ids:
        payload["customerIds"] = customer_ids
    runs.start(run_id, payload)
    started = clock().isoformat(timespec="seconds")
    index.index_run(org, run_id, period, started, principal.actor, arn)
    return {"runId": run_id, "orgId": org, "period": period, "status": "running"}


def org_time_zone(orgs: Any, org_id: str) -> str:
    settings = orgs.get_org(org_id)
    return str(settings.time_zone) if settings is not None else "UTC"


def run_view(
    repo: StatementRepo, index: RunIndex, principal: Principal, run_id: str
) -> dict[str, Any]:
    run = repo.get_run(run_id)
    orgs = principal.billing_read_orgs()
    if run is None:
        raise NotFound(f"no run {run_id!r}")
    mine = sorted(orgs & set(run.org_ids)) if run.org_ids else sorted(orgs)
    if not mine:
        member = set(principal.roles) & set(run.org_ids)
        if member:
            raise ForbiddenError("your role does not include billing")
        raise NotFound(f"no run {run_id!r}")
    outcomes: list[CustomerOutcome] = []
    for org in mine:
        outcomes += index.outcomes_of(run_id, org)
    if not run.org_ids and not outcomes:
        raise NotFound(f"no run {run_id!r}")  # an all-organisation run that never got to us
    failed = sum(1 for o in outcomes if o.outcome is Outcome.FAILED)
    # While running the plan step's "alreadyBilled"; once finished, the finish step's
    # per-outcome counts (logic/monthly.py), where it is "already_billed".
    already = int(run.counts.get("alreadyBilled", run.counts.get(str(Outcome.ALREADY_BILLED), 0)))
    return {
        "runId": run.run_id,
        "orgId": mine[0],
        "period": run.period,
        "status": str(run.status),
        "startedAt": run.started_at,
        "finishedAt": run.finished_at,
        "counts": {k: int(v) for k, v in run.counts.items()},
        "progress": {"done": len(outcomes) + already, "failed": failed, "total": run.total},
        "outcomes": [
            {
                "customerId": o.customer_id,
                "outcome": str(o.outcome),
                "statementId": o.statement_id,
                "error": o.error,
                "lateEntries": o.late_entries,
                "lateMinutes": o.late_minutes,
            }
            for o in outcomes
        ],
    }


def run_progress(
    repo: StatementRepo, index: RunIndex, principal: Principal, run_id: str
) -> dict[str, Any]:
    """``run_view`` for the portal's run page, read with one GetItem when it can be: a
    finished run of one of the caller's organisations, with no failure, says its progress
    in its counts (docs/api.md; the same numbers run_view counts from the outcomes, which
    are one item per customer). Otherwise, and while it runs, ``run_view`` itself."""
    run = repo.get_run(run_id)
    if (
        run is None
        or run.status is RunStatus.RUNNING
        or len(run.org_ids) != 1
        or run.org_ids[0] not in principal.billing_read_orgs()
        or int(run.counts.get(str(Outcome.FAILED), 0))
    ):
        return run_view(repo, index, principal, run_id)
    done = sum(int(run.counts.get(str(o), 0)) for o in Outcome)
    return {
        "runId": run.run_id,
        "orgId": run.org_ids[0],
        "period": run.period,
        "status": str(run.status),
        "startedAt": run.started_at,
        "finishedAt": run.finished_at,
        "counts": {k: int(v) for k, v in run.counts.items()},
        "progress": {"done": done, "failed": 0, "total": run.total},
        "outcomes": [],
    }


def list_runs(
    repo: StatementRepo,
    index: RunIndex,
    org_ids: Sequence[str],
    *,
    limit: int,
    before: tuple[str, str] | None,
) -> tuple[list[dict[str, Any]], tuple[str, str] | None]:
    """Newest first across the caller's organisations; ``before`` = (sk, org) of the
    last item of the previous page."""
    merged: list[tuple[str, str, OrgRun]] = []
    for org in org_ids:
        bound = None
        if before is not None:
            bound = _next_sk(before[0]) if org < before[1] else before[0]
        merged += [
            (f"{r.started_at}#{r.run_id}", org, r) for r in index.org_runs(org, limit + 1, bound)
        ]
    merged.sort(key=lambda t: (t[0], t[1]), reverse=True)
    if before is not None:
        merged = [t for t in merged if (t[0], t[1]) < before]
    page = merged[:limit]
    items = []
    for _, org, r in page:
        run = repo.get_run(r.run_id)
        items.append(
            {
                "runId": r.run_id,
                "orgId": org,
                "period": r.period,
                "status": str(run.status) if run else "starting",
                "startedAt": r.started_at,
                "startedBy": r.started_by or None,
                "finishedAt": run.finished_at if run else None,
            }
        )
    nxt = (page[-1][0], page[-1][1]) if len(merged) > limit and page else None
    return items, nxt


def _next_sk(sk: str) -> str:
    """The smallest key above ``sk``'s own entries (for organisations sorting after
    the cursor's, whose entries with the same key are still to come)."""
    return sk + "\x00"
