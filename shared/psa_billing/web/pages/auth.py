"""Sign-in, sign-out and the start page.

Sign-in is the API's (logic/signin.sign_in, with the lockout, through the Cognito
adapter, exactly as POST /api/auth/login); what differs is where the tokens go: into
HttpOnly cookies (web/session.py), never into the page. Sign-out is Cognito's global
sign-out plus the sign-out time that makes the API refuse older access tokens
(logic/signin.sign_out), then the cookies are cleared.
"""

from __future__ import annotations

import contextlib
import re
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response

from psa_billing.api import deps as api_deps
from psa_billing.api.deps import Access, Cognito, Lockout, Settings, Verifier
from psa_billing.auth.errors import AuthUnavailableError, LoginFailedError, TooManyAttemptsError
from psa_billing.logic.signin import sign_in, sign_out
from psa_billing.web import session
from psa_billing.web.deps import CheckedForm, PagePrincipal, page_session
from psa_billing.web.errors import PageRoute
from psa_billing.web.render import render

router = APIRouter(route_class=PageRoute, include_in_schema=False)

WRONG_DETAILS = "Email, password or code is not correct. Check them and try again."
_CODE = re.compile(r"^[0-9]{6}$")


def _signin_page(
    request: Request,
    *,
    next_url: str,
    email: str = "",
    error: str | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
    signed_out: bool = False,
    headers: dict[str, str] | None = None,
) -> Response:
    return render(
        request,
        "signin.html.j2",
        {
            "next": session.safe_next(next_url),
            "email": email,
            "error": error,
            "errors": errors or {},
            "signed_out": signed_out,
        },
        status=status,
        headers=headers,
    )


@router.get("/signin")
def signin_form(
    request: Request,
    next_url: Annotated[str, Query(alias="next", max_length=2000)] = "/",
    signed_out: Annotated[str | None, Query(alias="signed-out", max_length=5)] = None,
) -> Response:
    return _signin_page(request, next_url=next_url, signed_out=signed_out is not None)


def _field_problems(email: str, password: str, code: str) -> dict[str, str]:
    problems: dict[str, str] = {}
    if not email or "@" not in email or len(email) > 254:
        problems["email"] = "Enter the email address you sign in with."
    if not password or len(password) > 256:
        problems["password"] = "Enter your password."  # noqa: S105 - a message
    if not _CODE.match(code):
        problems["code"] = "Enter the 6 digits your authenticator app shows."
    return problems


@router.post("/signin")
def signin(
    request: Request, form: CheckedForm, idp: Cognito, access: Access, rule: Lockout
) -> Response:
    email = form.get("email").strip()
    password = form.get("password")
    code = form.get("code").strip().replace(" ", "")
    next_url = session.safe_next(form.get("next", "/"))
    problems = _field_problems(email, password, code)
    if problems:
        return _signin_page(request, next_url=next_url, email=email, errors=problems, status=422)
    try:
        tokens = sign_in(email, password, code, idp=idp, failures=access, rule=rule)
    except LoginFailedError:
        return _signin_page(
            request, next_url=next_url, email=email, error=WRONG_DETAILS, status=401
        )
    except TooManyAttemptsError as exc:
        minutes = max(1, (exc.retry_after_seconds + 59) // 60)
        return _signin_page(
            request,
            next_url=next_url,
            email=email,
            error=(
                "Too many failed sign-ins for this account. It is locked for "
                f"{minutes} minute{'s' if minutes != 1 else ''}; try again after that."
            ),
            status=429,
            headers={"Retry-After": str(exc.retry_after_seconds)},
        )
    except AuthUnavailableError:
        return _signin_page(
            request,
            next_url=next_url,
            email=email,
            error="Sign-in is unavailable right now. Try again in a minute.",
            status=503,
        )
    session.start_session(request, tokens)
    return RedirectResponse(next_url, status_code=303)


@router.post("/signout")
def signout(
    request: Request,
    form: CheckedForm,
    settings: Settings,
    v: Verifier,
    access: Access,
    idp: Cognito,
) -> Response:
    try:
        current = page_session(request, settings, v, access, idp)
    except session.SignInRequired:
        current = None  # already ended: just clear what the browser holds
    if current is not None:
        # LoginFailedError: Cognito already considers the token signed out.
        with contextlib.suppress(LoginFailedError):
            sign_out(
                current.principal,
                current.access_token,
                idp=idp,
                store=access,
                forget=api_deps.user_cache().forget,
            )
    session.end_session(request)
    return RedirectResponse("/signin?signed-out=1", status_code=303)


@router.get("/")
def home(request: Request, principal: PagePrincipal) -> Response:
    org_id = getattr(request.state, "org_id", None)
    if org_id is not None and org_id in principal.billing_write_orgs():
        return RedirectResponse("/admin/billing", status_code=303)
    memberships: list[tuple[str, Any]] = sorted(
        (org, str(role)) for org, role in principal.roles.items()
    )
    return render(request, "home.html.j2", {"memberships": memberships})
