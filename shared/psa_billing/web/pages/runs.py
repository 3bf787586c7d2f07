"""Admin -> Billing -> Monthly run (/admin/billing): start a period's run, follow its
progress, then one row per customer, filtered and paged; send the reviewed ones.

Every action is the API's use case (logic/billing_api.py): start_run, run_view,
list_statements, send. Pages of PAGE_SIZE (50) rows, with the API's signed cursors, so a
period of 1,000 statements renders one page at a time (bench/bench_run_page.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response

from psa_billing.api.deps import Access, Cursors, Repository, RunStarter, Workers, utc_now
from psa_billing.api.errors import ApiError, status_for
from psa_billing.auth.roles import Principal
from psa_billing.dal.access import StatementPosition
from psa_billing.dal.failures import WorkerFailedError
from psa_billing.dal.portal import DynamoPortal
from psa_billing.domain.errors import BillingError
from psa_billing.domain.model import Period
from psa_billing.domain.run import Outcome
from psa_billing.domain.statement import Statement, StatementStatus, statement_id
from psa_billing.logic import billing_api as uc
from psa_billing.logic.errors import NotFound
from psa_billing.web.deps import BillingViewer, CheckedForm, Viewer, org_facts
from psa_billing.web.errors import PageRoute
from psa_billing.web.render import render

router = APIRouter(route_class=PageRoute, include_in_schema=False)

# 50 rows a page: on the local stack a page's cost is the statements read (moto
# serialises every item it returns), ~0.5 s of CPU for 50 (docs/benchmarks.md).
PAGE_SIZE = 50
# One click sends at most this many (each is a render + an email through their own
# functions); the page says how many are left.
SEND_BATCH = 25
# The review queue's filters (docs/portal.md).
STATUS_FILTERS = {
    "": "Any status",
    StatementStatus.PENDING_REVIEW.value: "Pending review",
    StatementStatus.SEND_FAILED.value: "Send failed",
    StatementStatus.SEND_UNKNOWN.value: "Send unknown",
    StatementStatus.SENT.value: "Sent",
}
NOTICES = {
    "started": ("The run has started. Progress updates below every few seconds.", "success"),
    "sent": ("The statement was sent.", "success"),
}


def previous_period(org_id: str) -> str:
    """The month before today in the organisation's time zone (the one a run bills)."""
    facts = org_facts(org_id)
    zone = ZoneInfo(facts.time_zone if facts else "UTC")
    return str(Period.before(datetime.now(zone).date()))


def _valid_period(text: str | None, org_id: str) -> tuple[str, str | None]:
    if not text:
        return previous_period(org_id), None
    try:
        return str(Period.parse(text)), None
    except BillingError:
        return previous_period(org_id), "Choose a month such as 2026-10."


@dataclass(frozen=True, slots=True)
class Row:
    statement: Statement
    outcome: str
    lines: int
    subtotal: str
    tax: str
    total: str


def _row(st: Statement, outcomes: dict[str, str], run_id: str | None = None) -> Row:
    pub = uc.summary_view(st)
    # Without the run's outcomes at hand: a statement of this run was billed by it; one
    # from an earlier run was already billed (docs/billing-rules.md "Once billed, billed once").
    fallback = Outcome.BILLED if run_id in (None, st.run_id) else Outcome.ALREADY_BILLED
    return Row(
        statement=st,
        outcome=outcomes.get(st.customer_id, fallback.value),
        lines=len(st.current().lines),
        subtotal=pub["subtotal"],
        tax=pub["tax"],
        total=pub["total"],
    )


def _bound(viewer: Viewer, period: str, status: str | None, q: str) -> dict[str, Any]:
    return {
        "sub": viewer.principal.subject,
        "orgs": [viewer.org_id],
        "period": period,
        "status": status,
        "q": q,
        "page": "admin-billing",
    }


def _search(
    repo: Any, principal: Principal, org_id: str, *, period: str, status: str | None, q: str
) -> list[Statement]:
    """The period's statements of the customers whose name or id contains ``q``: the
    organisation's customers (one Query of small items), then each match's statement
    by key. The first PAGE_SIZE matches, newest customer id first, like the list."""
    needle = q.casefold()
    matches = sorted(
        (
            c.id
            for c in DynamoPortal().customers(org_id)
            if needle in c.name.casefold() or needle in c.id.casefold()
        ),
        reverse=True,
    )
    found: list[Statement] = []
    for customer_id in matches:
        try:
            st = uc.visible_statement(
                repo, principal, statement_id(org_id, customer_id, Period.parse(period))
            )
        except NotFound:
            continue  # not billed that month
        if status is None or str(st.status) == status:
            found.append(st)
            if len(found) == PAGE_SIZE:
                break
    return found


def _latest_run(access: Any, repo: Any, principal: Principal, org_id: str, period: str) -> Any:
    """The newest run of this organisation for the period, as the API shows it."""
    for run in access.org_runs(org_id, 20):
        if run.period == period:
            try:
                return uc.run_progress(repo, access, principal, run.run_id)
            except NotFound:
                # Started, but the state machine has not planned it yet.
                return {
                    "runId": run.run_id,
                    "status": "starting",
                    "startedAt": run.started_at,
                    "finishedAt": None,
                    "progress": {"done": 0, "failed": 0, "total": None},
                    "outcomes": [],
                }
    return None


@router.get("/admin/billing")
def monthly_run(
    request: Request,
    viewer: BillingViewer,
    access: Access,
    repo: Repository,
    cursors: Cursors,
    period: Annotated[str | None, Query(max_length=7)] = None,
    status: Annotated[str | None, Query(max_length=40)] = None,
    q: Annotated[str, Query(max_length=100)] = "",
    cursor: Annotated[str | None, Query(max_length=2000)] = None,
    notice: Annotated[str | None, Query(max_length=20)] = None,
    sent: Annotated[int | None, Query(ge=0, le=100_000)] = None,
    failed: Annotated[int | None, Query(ge=0, le=100_000)] = None,
    left: Annotated[int | None, Query(ge=0, le=100_000)] = None,
) -> Response:
    message = None
    if notice in NOTICES:
        message = NOTICES[notice]
    elif sent is not None:
        text = f"Sent {sent} statement{'s' if sent != 1 else ''}."
        if failed:
            text += f" {failed} could not be sent: they are listed as Send failed."
        if left:
            text += " More are still pending review: send the next batch."
        message = (text, "warning" if failed else "success")
    return _monthly_page(
        request, viewer, access, repo, cursors, period, status, q, cursor, message=message
    )


def _monthly_page(
    request: Request,
    viewer: Viewer,
    access: Any,
    repo: Any,
    cursors: Any,
    period: str | None,
    status: str | None = None,
    q: str = "",
    cursor: str | None = None,
    *,
    message: tuple[str, str] | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    period, period_error = _valid_period(period, viewer.org_id)
    status = status if status in STATUS_FILTERS and status else None
    q = q.strip()
    bound = _bound(viewer, period, status, q)
    after = None
    if cursor:
        pos = cursors.decode(cursor, bound_to=bound)
        after = StatementPosition(str(pos["p"]), str(pos["o"]), str(pos["c"]))
    run = _latest_run(access, repo, viewer.principal, viewer.org_id, period)
    outcomes = {o["customerId"]: o["outcome"] for o in run["outcomes"]} if run else {}
    if q:
        items, last = (
            _search(repo, viewer.principal, viewer.org_id, period=period, status=status, q=q),
            None,
        )
    else:
        items, last = uc.list_statements(
            access,
            repo,
            [viewer.org_id],
            period=period,
            customer_id=None,
            status=status,
            limit=PAGE_SIZE,
            after=after,
        )
    next_cursor = None
    if last is not None:
        position = {"p": last.period, "o": last.org_id, "c": last.customer_id}
        next_cursor = cursors.encode(position, bound_to=bound)
    filters = {"period": period, "status": status or "", "q": q}
    org_q = {"org": viewer.org_id} if len(viewer.principal.roles) > 1 else {}
    failures = [o for o in (run["outcomes"] if run else []) if o["outcome"] == "failed"]
    return render(
        request,
        "runs.html.j2",
        {
            "period": period,
            "period_error": period_error,
            "status": status or "",
            "status_filters": STATUS_FILTERS,
            "q": q,
            "rows": [_row(st, outcomes, run["runId"] if run else None) for st in items],
            "run": run,
            "running": bool(run and run["status"] in ("running", "starting")),
            "failures": failures,
            "next_url": "/admin/billing?" + urlencode({**org_q, **filters, "cursor": next_cursor})
            if next_cursor
            else None,
            "first_url": "/admin/billing?" + urlencode({**org_q, **filters}) if cursor else None,
            "send_all_url": "/admin/billing/send-pending?" + urlencode({**org_q, "period": period}),
            "here": "/admin/billing?" + urlencode({**org_q, **filters}),
            "message": message,
            "error": error,
        },
        status=status_code,
    )


@router.post("/admin/billing/run")
def run_now(
    request: Request,
    viewer: BillingViewer,
    form: CheckedForm,
    access: Access,
    repo: Repository,
    cursors: Cursors,
    runs: RunStarter,
) -> Response:
    text = form.get("period").strip()
    try:
        period = str(Period.parse(text))
        uc.start_run(
            access,
            runs,
            viewer.principal,
            org_id=viewer.org_id,
            period=period,
            customer_ids=None,
            clock=utc_now,
            time_zone_of=lambda org: uc.org_time_zone(repo, org),
        )
    except (BillingError, ApiError) as exc:
        # Not ended yet, already running, not a month: said on the page, nothing started.
        return _monthly_page(
            request,
            viewer,
            access,
            repo,
            cursors,
            text if len(text) <= 7 else None,
            error=str(exc),
            status_code=(status_for(exc) or (422, ""))[0],
        )
    query = {"period": period, "notice": "started"}
    if len(viewer.principal.roles) > 1:
        query["org"] = viewer.org_id
    return RedirectResponse("/admin/billing?" + urlencode(query), status_code=303)


def _pending(access: Any, repo: Any, org_id: str, period: str) -> tuple[list[Statement], bool]:
    items, last = uc.list_statements(
        access,
        repo,
        [org_id],
        period=period,
        customer_id=None,
        status=StatementStatus.PENDING_REVIEW.value,
        limit=SEND_BATCH,
        after=None,
    )
    return items, last is not None


@router.get("/admin/billing/send-pending")
def confirm_send_pending(
    request: Request,
    viewer: BillingViewer,
    access: Access,
    repo: Repository,
    period: Annotated[str | None, Query(max_length=7)] = None,
) -> Response:
    period, _ = _valid_period(period, viewer.org_id)
    items, more = _pending(access, repo, viewer.org_id, period)
    return render(
        request,
        "send_pending.html.j2",
        {
            "period": period,
            "rows": [_row(st, {}) for st in items],
            "more": more,
            "batch": SEND_BATCH,
            "back": "/admin/billing?"
            + urlencode({"period": period, "status": StatementStatus.PENDING_REVIEW.value}),
        },
    )


@router.post("/admin/billing/send-pending")
def send_pending(
    request: Request,
    viewer: BillingViewer,
    form: CheckedForm,
    access: Access,
    repo: Repository,
    workers: Workers,
) -> Response:
    period, _ = _valid_period(form.get("period"), viewer.org_id)
    items, _ = _pending(access, repo, viewer.org_id, period)
    sent = failed = 0
    for st in items:
        try:
            uc.send(repo, workers, viewer.principal, st.id, again=False)
            sent += 1
        except (BillingError, WorkerFailedError):
            failed += 1  # the statement keeps its state (send_failed) and its error
    remaining, _ = _pending(access, repo, viewer.org_id, period)
    left = len(remaining)
    query: dict[str, Any] = {"period": period, "sent": sent, "failed": failed, "left": left}
    if len(viewer.principal.roles) > 1:
        query["org"] = viewer.org_id
    return RedirectResponse("/admin/billing?" + urlencode(query), status_code=303)
