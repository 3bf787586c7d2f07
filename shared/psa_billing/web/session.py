"""The browser session: Cognito tokens in HttpOnly cookies, verified like a bearer token.

After sign-in the browser holds three cookies, all HttpOnly and SameSite=Lax, and
Secure everywhere except plain HTTP on loopback (127.0.0.1 / localhost, the local
stack):

* ``psa_access``: the Cognito access token, kept as long as it is valid;
* ``psa_refresh``: the refresh token, used to get a new access token when that one
  has expired (or was refused);
* ``psa_session``: a random id, made on the first visit and replaced at sign-in (so a
  session id planted before sign-in is worthless after it); CSRF tokens are bound to
  it (web/csrf.py).

No token ever reaches page script or local storage. The access token is verified by
the same TokenVerifier and resolved to a Principal by the same code as the API's
``Authorization`` header (api/deps.py, logic/signin.resolve_principal).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response

from psa_billing.auth.cognito import Tokens
from psa_billing.auth.errors import InvalidTokenError, LoginFailedError
from psa_billing.auth.roles import Principal

ACCESS_COOKIE = "psa_access"
REFRESH_COOKIE = "psa_refresh"
SESSION_COOKIE = "psa_session"
# Cognito's default refresh token validity; the cookie never outlives the token by much.
REFRESH_MAX_AGE = 30 * 24 * 3600
SESSION_MAX_AGE = 30 * 24 * 3600
_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
_SESSION_ID = re.compile(r"^[A-Za-z0-9_-]{20,64}$")
_MAX_TOKEN = 8192


class SignInRequired(Exception):
    """Not signed in (or the session ended): the page answers with a redirect to
    /signin that comes back to ``next_url`` afterwards."""

    def __init__(self, next_url: str) -> None:
        super().__init__("sign-in required")
        self.next_url = next_url


@dataclass(frozen=True, slots=True)
class PageSession:
    """Who is signed in, and the access token the sign-out hands to Cognito."""

    principal: Principal
    access_token: str


def cookie_secure(request: Request) -> bool:
    """Secure cookies everywhere but plain HTTP on loopback (browsers would drop them)."""
    host = (request.url.hostname or "").lower().strip("[]")
    return not (request.url.scheme == "http" and host in _LOOPBACK)


def _set(response: Response, request: Request, name: str, value: str, max_age: int) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path="/",
        secure=cookie_secure(request),
        httponly=True,
        samesite="lax",
    )


def _delete(response: Response, request: Request, name: str) -> None:
    response.delete_cookie(
        name, path="/", secure=cookie_secure(request), httponly=True, samesite="lax"
    )


def session_id(request: Request) -> str:
    """This browser's session id: the cookie's, or a new one that ``finish`` sets."""
    made = getattr(request.state, "new_session_id", None)
    if made:
        return str(made)
    given = request.cookies.get(SESSION_COOKIE, "")
    if _SESSION_ID.match(given):
        return given
    made = secrets.token_urlsafe(24)
    request.state.new_session_id = made
    return made


def start_session(request: Request, tokens: Tokens) -> None:
    """After sign-in: a fresh session id (no fixation) and the tokens, set by ``finish``."""
    request.state.new_session_id = secrets.token_urlsafe(24)
    request.state.renewed_tokens = tokens


def end_session(request: Request) -> None:
    """After sign-out (or a session that cannot be renewed): ``finish`` clears the cookies."""
    request.state.end_session = True


def finish(request: Request, response: Response) -> Response:
    """Put what this request decided about the session into the response's cookies."""
    state = request.state
    if getattr(state, "end_session", False):
        for name in (ACCESS_COOKIE, REFRESH_COOKIE):
            _delete(response, request, name)
    tokens: Tokens | None = getattr(state, "renewed_tokens", None)
    if tokens is not None and not getattr(state, "end_session", False):
        _set(response, request, ACCESS_COOKIE, tokens.access_token, max(60, tokens.expires_in))
        _set(response, request, REFRESH_COOKIE, tokens.refresh_token, REFRESH_MAX_AGE)
    made = getattr(state, "new_session_id", None)
    if made:
        _set(response, request, SESSION_COOKIE, str(made), SESSION_MAX_AGE)
    return response


def safe_next(target: str | None) -> str:
    """Only a path on this site: never ``//evil.example`` or ``https://...``."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    if any(ord(c) < 32 for c in target):
        return "/"
    return target


def here(request: Request) -> str:
    """Where sign-in should come back to: this page for a GET, the home page for a
    form post (it would be replayed without its token otherwise)."""
    if request.method != "GET":
        return "/"
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


def signin_url(next_url: str) -> str:
    target = safe_next(next_url)
    return "/signin" if target == "/" else f"/signin?next={quote(target, safe='/')}"


def load_session(
    request: Request,
    *,
    resolve: Callable[[str], Principal],
    refresh: Callable[[str], Tokens],
) -> PageSession:
    """The signed-in person, from the cookies: the access token verified as the API
    verifies a bearer token; when it is missing, expired or refused, one renewal with
    the refresh token. Anything else is "sign in again"."""
    token = request.cookies.get(ACCESS_COOKIE, "")
    if token and len(token) <= _MAX_TOKEN:
        try:
            principal = resolve(token)
        except InvalidTokenError:
            pass
        else:
            if principal.kind == "user":
                return _remember(request, PageSession(principal, token))
    renew = request.cookies.get(REFRESH_COOKIE, "")
    if not renew or len(renew) > _MAX_TOKEN:
        raise SignInRequired(here(request))
    try:
        tokens = refresh(renew)
        principal = resolve(tokens.access_token)
    except (LoginFailedError, InvalidTokenError):
        end_session(request)
        raise SignInRequired(here(request)) from None
    if principal.kind != "user":
        end_session(request)
        raise SignInRequired(here(request))
    request.state.renewed_tokens = tokens
    return _remember(request, PageSession(principal, tokens.access_token))


def _remember(request: Request, session: PageSession) -> PageSession:
    request.state.page_session = session
    return session


def current_session(request: Request) -> PageSession | None:
    """The session a dependency loaded for this request (None on public pages)."""
    found = getattr(request.state, "page_session", None)
    return found if isinstance(found, PageSession) else None
