"""CSRF tokens for every form that changes something, and reading such a form.

The token is an HMAC of the browser's session id (web/session.py ``psa_session``)
under a key derived from the API's signing secret (api/deps.signing_secret), so it
is bound to that browser's session and cannot be made without the secret. A form
post whose token is missing or wrong, or whose ``Origin`` is another site, is
refused with a 403 page before the route's code runs (``checked_form``). SameSite=Lax
cookies are the second fence: a cross-site form post carries no session at all.

Forms are ``application/x-www-form-urlencoded`` (the pages upload no files), parsed
here with the standard library, at most 64 KiB and 200 fields.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable
from functools import lru_cache
from urllib.parse import parse_qsl, urlsplit

from starlette.requests import Request

from psa_billing.web.session import SESSION_COOKIE, session_id

FIELD = "csrf_token"
MAX_FORM_BYTES = 64 * 1024
MAX_FIELDS = 200


class CsrfError(Exception):
    """A state-changing request without a valid CSRF token (403 page)."""


class FormTooLargeError(Exception):
    """A form body over MAX_FORM_BYTES (413 page)."""


class Form:
    """A posted form's fields, in order; repeated names keep every value."""

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self._pairs = pairs

    def get(self, name: str, default: str = "") -> str:
        for key, value in self._pairs:
            if key == name:
                return value
        return default

    def getlist(self, name: str) -> list[str]:
        return [v for k, v in self._pairs if k == name]

    def __contains__(self, name: object) -> bool:
        return any(k == name for k, _ in self._pairs)


def _key_from(secret: Callable[[], bytes]) -> bytes:
    return hmac.new(secret(), b"psa-billing pages csrf v1", hashlib.sha256).digest()


@lru_cache(maxsize=1)
def _key() -> bytes:
    from psa_billing.api.deps import signing_secret  # noqa: PLC0415 - no cycle at import

    return _key_from(signing_secret)


def token_for(sid: str, key: bytes | None = None) -> str:
    mac = hmac.new(key or _key(), sid.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def csrf_token(request: Request) -> str:
    """The token to put in this page's forms (makes the session id if there is none)."""
    return token_for(session_id(request))


def _same_origin(request: Request) -> bool:
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        # No Origin (older browsers, some same-origin posts): the token decides. "null"
        # comes from sandboxed or privacy-mode contexts and is judged the same way.
        return True
    return urlsplit(origin).netloc.lower() == (request.headers.get("host") or "").lower()


async def read_form(request: Request) -> Form:
    ctype = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if ctype != "application/x-www-form-urlencoded":
        raise CsrfError("not a form post")
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_FORM_BYTES:
        raise FormTooLargeError("form too large")
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        raise FormTooLargeError("form too large")
    try:
        pairs = parse_qsl(
            body.decode("utf-8"),
            keep_blank_values=True,
            strict_parsing=False,
            max_num_fields=MAX_FIELDS,
        )
    except (UnicodeDecodeError, ValueError):
        raise CsrfError("unreadable form") from None
    return Form(pairs)


async def checked_form(request: Request) -> Form:
    """The posted form, once its CSRF token and origin are checked (a dependency)."""
    form = await read_form(request)
    given = form.get(FIELD)
    sid = request.cookies.get(SESSION_COOKIE, "")
    if not given or not sid or not _same_origin(request):
        raise CsrfError("missing token, session or origin")
    if not hmac.compare_digest(given, token_for(sid)):
        raise CsrfError("wrong token")
    return form
