"""``render(request, template, context, status)``: every page goes through here.

It adds to the template's context what every page needs (``principal``, ``nav``,
``org``, ``csrf_token``, ``fmt`` for money and dates in the organisation's locale,
``path``) and the security headers. The jinja2 Environment is built on the first
render, so the API function's cold start never loads jinja2 (tests/unit/
test_cold_start.py).
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from psa_billing.web.csrf import FIELD, csrf_token
from psa_billing.web.nav import nav_for
from psa_billing.web.session import current_session

if TYPE_CHECKING:
    import jinja2

TEMPLATES = Path(__file__).parent / "templates"

# No inline script or style anywhere: everything comes from /static on this origin.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'; object-src 'none'"
)
SECURITY_HEADERS: Mapping[str, str] = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
    # Pages show billing data of a signed-in person: never kept by a shared cache.
    "Cache-Control": "no-store",
}


def secure_headers(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    import jinja2  # noqa: PLC0415 - first render only (cold start)

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=jinja2.select_autoescape(["html", "j2"], default=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    env.globals["csrf_field_name"] = FIELD
    env.globals["status_label"] = status_label
    # A fresh key in each form that writes: the write goes through the API's idempotency
    # store under it, so submitting the same form twice changes nothing twice.
    env.globals["one_time_key"] = lambda: secrets.token_urlsafe(18)
    return env


# What each statement delivery state is called on the pages.
STATUS_LABELS: Mapping[str, str] = {
    "pending_review": "Pending review",
    "ready_to_send": "Ready to send",
    "sending": "Sending",
    "sent": "Sent",
    "send_failed": "Send failed",
    "send_unknown": "Send unknown",
    "billed": "Billed",
    "skipped": "Skipped",
    "failed": "Failed",
    "already_billed": "Already billed",
    "alreadyBilled": "Already billed",
    "running": "Running",
    "succeeded": "Finished",
    "finished": "Finished",
    "starting": "Starting",
}


def status_label(value: object) -> str:
    text = str(value)
    return STATUS_LABELS.get(text, text.replace("_", " ").capitalize())


def page_context(request: Request) -> dict[str, Any]:
    """What every template gets."""
    from psa_billing.web.deps import org_facts  # noqa: PLC0415 - adapters on demand
    from psa_billing.web.formatting import PageFormat  # noqa: PLC0415 - Babel on demand

    session = current_session(request)
    principal = session.principal if session else None
    org_id = getattr(request.state, "org_id", None) if principal else None
    org = None
    if org_id is not None:
        try:
            org = org_facts(org_id)
        except Exception:  # an error page must render even when the table does not answer
            org = None
    fmt = PageFormat(org.locale, org.time_zone) if org else PageFormat()
    return {
        "request": request,
        "path": request.url.path,
        "principal": principal,
        "org": org,
        "org_id": org_id,
        "orgs": sorted(principal.roles) if principal else [],
        "nav": nav_for(principal, org_id, request.url.path, org.features if org else None),
        "csrf_token": csrf_token(request),
        "fmt": fmt,
    }


def render(
    request: Request,
    template: str,
    context: Mapping[str, Any] | None = None,
    status: int = 200,
    *,
    headers: Mapping[str, str] | None = None,
) -> HTMLResponse:
    ctx = page_context(request)
    ctx.update(context or {})
    html = environment().get_template(template).render(ctx)
    response = HTMLResponse(html, status_code=status, headers=dict(headers) if headers else None)
    return secure_headers(response)  # type: ignore[return-value]
