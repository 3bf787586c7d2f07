"""A statement's page (/statements/{id}): its facts, lines, included hours, totals,
delivery and history, each revision's PDF, every adjustment with who, when and why;
Adjust (edit a line, credit note, charge, bill the late time waiting), Void, and
Send / Re-send.

The adjustment forms are checked by the API's own request schema (api/schemas.py
AdjustmentCreate) and then by the use case (logic/billing_api.adjust_statement,
domain/adjustments.py); a refusal re-renders the page with the reason beside the
field (schema) or at the top of that form (the rules). Every write carries a one-time
key from the form and goes through the API's idempotency store, so a double click or a
resubmitted form changes nothing twice.
"""

from __future__ import annotations

import re
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import TypeAdapter, ValidationError

from psa_billing.api.deps import Idem, PdfLinks, Repository, Settings, Workers, utc_now
from psa_billing.api.errors import ApiError, logger, status_for
from psa_billing.api.schemas import AdjustmentCreate
from psa_billing.dal.failures import ConcurrentChangeError, WorkerFailedError
from psa_billing.domain.errors import BillingError
from psa_billing.domain.late import LateTime
from psa_billing.domain.model import LineKind
from psa_billing.domain.statement import Statement, StatementStatus
from psa_billing.logic import billing_api as uc
from psa_billing.logic.adjusting import late_waiting
from psa_billing.web.csrf import Form
from psa_billing.web.deps import CheckedForm, PageSessionDep
from psa_billing.web.errors import PageRoute, error_page
from psa_billing.web.render import render
from psa_billing.web.session import PageSession, safe_next

router = APIRouter(route_class=PageRoute, include_in_schema=False)

StatementId = Annotated[str, Path(min_length=1, max_length=200)]
_ADJUSTMENT = TypeAdapter(AdjustmentCreate)
_KEY = re.compile(r"^[A-Za-z0-9_-]{16,64}$")

KINDS = ("edit", "credit", "charge", "late_time")
# Form field -> the API's field name.
_WIRE = {
    "line_id": "lineId",
    "description": "description",
    "quantity": "quantity",
    "unit_price": "unitPrice",
    "amount": "amount",
    "reason": "reason",
}
_FORM = {v: k for k, v in _WIRE.items()}
_FIELDS = {
    "edit": ("line_id", "description", "quantity", "unit_price", "reason"),
    "credit": ("amount", "description", "reason"),
    "charge": ("description", "quantity", "unit_price", "reason"),
    "late_time": ("reason",),
}
DONE = {
    "adjusted": "The adjustment was added and a new revision made.",
    "sent": "The statement was emailed.",
    "resent": "The statement was emailed again.",
    "marked_sent": "Recorded as sent: the customer has the mail.",
    "notice_sent": "The void notice was emailed.",
    "notice_marked_sent": "Recorded as sent: the customer has the void notice.",
    "voided": (
        "The statement was voided. The next run for its month bills the period on a new statement."
    ),
}


def _words(field: str, err: Any) -> str:
    """The schema's refusal, in words for a person (same rule, plainer wording)."""
    kind = err.get("type", "")
    ctx = err.get("ctx") or {}
    if kind in ("missing", "string_too_short"):
        if field == "reason":
            return "Say why: the reason is kept with the adjustment."
        return "Required."
    if kind == "string_too_long":
        return f"At most {ctx.get('max_length', '')} characters."
    if kind == "string_pattern_mismatch":
        if field in ("amount", "unit_price"):
            return "Enter an amount such as 12.50: digits, a dot before the decimals, no sign."
        if field == "quantity":
            return "Enter a number such as 1.5: digits, a dot before the decimals."
    return str(err.get("msg", "not valid"))


def _change(kind: str, form: Form) -> dict[str, Any]:
    """The API's adjustment body from the form: blank fields are "not given"."""
    body: dict[str, Any] = {"kind": kind}
    for name in _FIELDS[kind]:
        value = form.get(name).strip()
        if value or name == "reason":
            body[_WIRE[name]] = value
    return body


def _schema_problems(body: dict[str, Any]) -> dict[str, str]:
    try:
        _ADJUSTMENT.validate_python(body)
    except ValidationError as exc:
        problems: dict[str, str] = {}
        for err in exc.errors():
            names = [p for p in err.get("loc", ()) if isinstance(p, str) and p in _FORM]
            field = _FORM[names[-1]] if names else "_form"
            problems.setdefault(field, _words(field, err))
        return problems
    return {}


def _statement_page(
    request: Request,
    page: PageSession,
    st: Statement,
    *,
    done: str | None = None,
    form_kind: str | None = None,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
    late: LateTime | None = None,
) -> Response:
    request.state.org_id = st.org_id
    view = uc.statement_view(st, late)
    included = [ln for ln in view["lines"] if ln["kind"] == LineKind.INCLUDED_HOURS.value]
    lines = [ln for ln in view["lines"] if ln["kind"] != LineKind.INCLUDED_HOURS.value]
    base = f"/statements/{st.id}"
    return render(
        request,
        "statement.html.j2",
        {
            "st": st,
            "view": view,
            "lines": lines,
            "included": included,
            "original_lines": view["original"]["lines"],
            "revisions": list(range(st.revision, -1, -1)),
            "base": base,
            "done": DONE.get(done or ""),
            "form_kind": form_kind,
            "values": values or {},
            "errors": errors or {},
            "kinds": KINDS,
            # A send whose outcome is unknown is sent again only on purpose (Re-send).
            "sent_before": st.sent_revision is not None
            or st.status is StatementStatus.SEND_UNKNOWN,
            "can_write": st.org_id in page.principal.billing_write_orgs(),
            "late": view.get("lateWaiting"),
            "is_void": st.is_void,
        },
        status=status,
    )


@router.get("/statements/{statement_id}")
def statement(
    request: Request,
    page: PageSessionDep,
    repo: Repository,
    statement_id: StatementId,
    done: Annotated[str | None, Query(max_length=20)] = None,
) -> Response:
    st = uc.visible_statement(repo, page.principal, statement_id, with_inputs=True)
    st, late = late_waiting(repo, st)
    return _statement_page(request, page, st, done=done, late=late)


@router.get("/statements/{statement_id}/pdf")
def statement_pdf(
    page: PageSessionDep,
    repo: Repository,
    links: PdfLinks,
    workers: Workers,
    settings: Settings,
    statement_id: StatementId,
    revision: Annotated[int | None, Query(ge=0, le=100_000)] = None,
) -> Response:
    url = uc.pdf_link(
        repo, links, workers, page.principal, statement_id, revision, settings.pdf_url_seconds
    )
    return RedirectResponse(url, status_code=302)


def _one_time_key(form: Form) -> str | None:
    key = form.get("idem")
    return key if _KEY.match(key) else None


@router.post("/statements/{statement_id}/adjust")
def adjust(
    request: Request,
    page: PageSessionDep,
    form: CheckedForm,
    repo: Repository,
    workers: Workers,
    idem: Idem,
    statement_id: StatementId,
) -> Response:
    st = uc.visible_statement(repo, page.principal, statement_id, write=True)
    kind = form.get("kind")
    if kind not in KINDS:
        return error_page(request, 400)
    body = _change(kind, form)
    values = {name: form.get(name) for name in _FIELDS[kind]}
    problems = _schema_problems(body)
    if problems:
        return _statement_page(
            request, page, st, form_kind=kind, values=values, errors=problems, status=422
        )

    def work() -> tuple[int, dict[str, Any]]:
        done = uc.adjust_statement(
            repo,
            workers,
            page.principal,
            statement_id,
            body,
            clock=utc_now,
            on_render_failure=lambda exc: logger.warning(
                "render after adjustment failed", extra={"errorType": type(exc).__name__}
            ),
            request_key=_one_time_key(form),
        )
        return 201, {"revision": done.revision}

    try:
        idem.run(
            _one_time_key(form),
            principal=page.principal.subject,
            route=f"page adjust {statement_id}",
            body=body,
            work=work,
        )
    except (BillingError, ApiError) as exc:
        if isinstance(exc, ConcurrentChangeError):
            message = "Someone changed this statement meanwhile. Check it below and try again."
        else:
            message = str(exc)
        current = uc.visible_statement(repo, page.principal, statement_id)
        return _statement_page(
            request,
            page,
            current,
            form_kind=kind,
            values=values,
            errors={"_form": message},
            status=(status_for(exc) or (422, ""))[0],
        )
    return RedirectResponse(f"/statements/{statement_id}?done=adjusted#adjustments", 303)


def _send(
    request: Request,
    page: PageSession,
    form: Form,
    repo: Any,
    workers: Any,
    idem: Any,
    statement_id: str,
    *,
    again: bool,
) -> Response:
    # A void notice whose outcome is unknown: the person sends it anyway.
    anyway = again and form.get("anyway") == "1"

    def work() -> tuple[int, dict[str, Any]]:
        done, _, _ = uc.send(
            repo, workers, page.principal, statement_id, again=again, anyway=anyway
        )
        return 200, {"revision": done.revision, "void": done.is_void}

    try:
        _, doc = idem.run(
            _one_time_key(form),
            principal=page.principal.subject,
            route=f"page {'resend' if again else 'send'} {statement_id}",
            body={"anyway": True} if anyway else {},
            work=work,
        )
    except (BillingError, ApiError, WorkerFailedError) as exc:
        status = (status_for(exc) or (503, ""))[0]
        if status == 404:
            raise
        return error_page(
            request,
            status,
            title="The statement was not sent",
            message=str(exc) if status < 500 else "Sending is unavailable; try again shortly.",
        )
    notice = "notice_sent" if doc.get("void") else "resent" if again else "sent"
    back = form.get("back")
    if back:
        target = safe_next(back)
        joiner = "&" if "?" in target else "?"
        return RedirectResponse(f"{target}{joiner}{urlencode({'notice': 'sent'})}", 303)
    return RedirectResponse(f"/statements/{statement_id}?done={notice}#delivery", 303)


@router.post("/statements/{statement_id}/send")
def send(
    request: Request,
    page: PageSessionDep,
    form: CheckedForm,
    repo: Repository,
    workers: Workers,
    idem: Idem,
    statement_id: StatementId,
) -> Response:
    return _send(request, page, form, repo, workers, idem, statement_id, again=False)


@router.post("/statements/{statement_id}/resend")
def resend(
    request: Request,
    page: PageSessionDep,
    form: CheckedForm,
    repo: Repository,
    workers: Workers,
    idem: Idem,
    statement_id: StatementId,
) -> Response:
    return _send(request, page, form, repo, workers, idem, statement_id, again=True)


@router.post("/statements/{statement_id}/mark-sent")
def mark_sent(
    request: Request,
    page: PageSessionDep,
    form: CheckedForm,
    repo: Repository,
    idem: Idem,
    statement_id: StatementId,
) -> Response:
    """A person who checked with the customer records a send_unknown as sent (the same
    use case as the API's route)."""

    def work() -> tuple[int, dict[str, Any]]:
        done = uc.mark_sent(repo, page.principal, statement_id)
        return 200, {"revision": done.revision, "void": done.is_void}

    try:
        _, doc = idem.run(
            _one_time_key(form),
            principal=page.principal.subject,
            route=f"page mark-sent {statement_id}",
            body={},
            work=work,
        )
    except (BillingError, ApiError) as exc:
        status = (status_for(exc) or (409, ""))[0]
        if status == 404:
            raise
        return error_page(request, status, title="Not recorded as sent", message=str(exc))
    if doc.get("void"):
        return RedirectResponse(
            f"/statements/{statement_id}?done=notice_marked_sent#void-notice", 303
        )
    return RedirectResponse(f"/statements/{statement_id}?done=marked_sent#delivery", 303)


@router.post("/statements/{statement_id}/void")
def void(
    request: Request,
    page: PageSessionDep,
    form: CheckedForm,
    repo: Repository,
    workers: Workers,
    idem: Idem,
    statement_id: StatementId,
) -> Response:
    """docs/billing-rules.md "Void", through the same use case as the API's route."""
    st = uc.visible_statement(repo, page.principal, statement_id, write=True)
    reason = form.get("reason").strip()
    if not reason or len(reason) > 500:
        problem = (
            "Say why: the reason is kept with the void."
            if not reason
            else ("At most 500 characters.")
        )
        return _statement_page(
            request,
            page,
            st,
            form_kind="void",
            values={"reason": form.get("reason")},
            errors={"reason": problem},
            status=422,
        )

    def work() -> tuple[int, dict[str, Any]]:
        done = uc.void_statement(
            repo,
            workers,
            page.principal,
            statement_id,
            reason,
            clock=utc_now,
            on_render_failure=lambda exc: logger.warning(
                "render after void failed", extra={"errorType": type(exc).__name__}
            ),
        )
        return 200, {"revision": done.revision}

    try:
        idem.run(
            _one_time_key(form),
            principal=page.principal.subject,
            route=f"page void {statement_id}",
            body={"reason": reason},
            work=work,
        )
    except (BillingError, ApiError) as exc:
        current = uc.visible_statement(repo, page.principal, statement_id)
        return _statement_page(
            request,
            page,
            current,
            form_kind="void",
            values={"reason": form.get("reason")},
            errors={"_form": str(exc)},
            status=(status_for(exc) or (409, ""))[0],
        )
    return RedirectResponse(f"/statements/{statement_id}?done=voided", 303)
