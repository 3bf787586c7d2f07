"""Errors on the pages: a page in words, never JSON and never a traceback.

Page routers use ``PageRoute`` (``APIRouter(route_class=PageRoute)``): whatever the
route or its dependencies raise becomes a page, with the status the API gives the
same error (api/errors.status_for, one mapping for both):

* not signed in -> 303 to /signin?next=...;
* a form without a valid CSRF token -> 403 "this form has expired";
* a member whose role has no billing -> 403 "you don't have billing access";
* another organisation's statement or customer, or an unknown id -> 404 "not found";
* a conflict or a refused value -> the use case's message (409 / 422);
* anything unexpected -> 500, logged by class name only.

Every page answer also gets the session cookies decided during the request
(web/session.finish) and the security headers (web/render.secure_headers).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Coroutine
from typing import Any

from aws_lambda_powertools import Logger
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from psa_billing.api.errors import status_for
from psa_billing.auth.errors import ForbiddenError, TooManyAttemptsError
from psa_billing.web import session
from psa_billing.web.csrf import CsrfError, FormTooLargeError
from psa_billing.web.render import render, secure_headers

logger = Logger(child=True)

TITLES = {
    400: "That address is not valid",
    403: "You don't have billing access",
    404: "Not found",
    405: "Not allowed here",
    409: "That could not be done now",
    413: "That form is too large",
    422: "That could not be done",
    429: "Too many attempts",
    500: "Something went wrong",
    502: "A service answered with an error",
    503: "A service is unavailable",
    504: "A service did not answer in time",
}

MESSAGES = {
    400: "Check the address, or go back and try again.",
    403: "Your role in this organisation does not include billing. "
    "Ask an owner or admin of your organisation if you need it.",
    404: "There is nothing here, or it belongs to an organisation you are not a member of.",
    405: "This address does not take that kind of request.",
    413: "The form sent more than this page accepts.",
    500: "It has been logged. Go back and try again; if it keeps happening, tell your "
    "administrator the time it happened.",
    503: "Try again in a minute.",
}

CSRF_TITLE = "This form has expired"
CSRF_MESSAGE = (
    "The form was not sent from this site's current page, or your session changed. "
    "Go back, reload the page and try again."
)


def error_page(
    request: Request,
    status: int,
    *,
    title: str | None = None,
    message: str | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    try:
        return render(
            request,
            "error.html.j2",
            {
                "status": status,
                "title": title or TITLES.get(status, "That could not be done"),
                "message": message or MESSAGES.get(status, ""),
            },
            status=status,
            headers=headers,
        )
    except Exception as exc:  # the error page itself failed: plain words, still no trace
        logger.error("error page failed", extra={"errorType": type(exc).__name__})
        text = f"{status} {title or TITLES.get(status, 'Error')}"
        return secure_headers(Response(text, status_code=status, media_type="text/plain"))


def http_error_page(request: Request, status: int) -> Response:
    return error_page(request, status)


def page_for_error(request: Request, exc: Exception) -> Response:
    if isinstance(exc, session.SignInRequired):
        return secure_headers(RedirectResponse(session.signin_url(exc.next_url), status_code=303))
    if isinstance(exc, CsrfError):
        logger.info("form refused", extra={"reason": str(exc), "path": request.url.path})
        return error_page(request, 403, title=CSRF_TITLE, message=CSRF_MESSAGE)
    if isinstance(exc, FormTooLargeError):
        return error_page(request, 413)
    if isinstance(exc, RequestValidationError):
        return error_page(request, 400)
    if isinstance(exc, StarletteHTTPException):
        return error_page(request, exc.status_code)
    if isinstance(exc, ForbiddenError):
        return error_page(request, 403)
    mapped = status_for(exc)
    if mapped is None:
        logger.error(
            "unhandled error on a page",
            extra={"errorType": type(exc).__name__, "path": request.url.path},
        )
        return error_page(request, 500)
    status, _ = mapped
    if status == 404:
        return error_page(request, 404)  # never the id or whose it is
    if status == 429 and isinstance(exc, TooManyAttemptsError):
        return error_page(
            request,
            429,
            message=str(exc),
            headers={"Retry-After": str(exc.retry_after_seconds)},
        )
    if status >= 500:
        logger.warning("a dependency failed", extra={"errorType": type(exc).__name__})
        return error_page(request, status)
    return error_page(request, status, message=str(exc))


class PageRoute(APIRoute):
    """A route that answers with pages: errors become pages, cookies are kept current."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def page_handler(request: Request) -> Response:
            started = time.perf_counter()
            try:
                response = await handler(request)
            except Exception as exc:
                response = page_for_error(request, exc)
            # The server's own time for the page (bench/bench_run_page.py reads it).
            took = (time.perf_counter() - started) * 1000
            response.headers["Server-Timing"] = f"app;dur={took:.1f}"
            return session.finish(request, secure_headers(response))

        return page_handler
