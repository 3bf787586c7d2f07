"""One error shape for every status, mapped from typed errors in one place.

``{"error": {"code": "...", "message": "...", "details": [...]}}``; the codes are
listed in docs/api.md. Nothing matches on message text. No response and no log line
carries a traceback, a token, a secret or a password: unexpected errors are logged
by class name and request id only, and answered with a generic 500.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools import Logger
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from psa_billing.auth.errors import (
    AuthUnavailableError,
    ForbiddenError,
    InvalidTokenError,
    LoginFailedError,
    TooManyAttemptsError,
)
from psa_billing.dal.failures import (
    ChangedMeanwhileError,
    ConcurrentChangeError,
    RunInProgressError,
    WorkerFailedError,
)
from psa_billing.domain.errors import (
    BillingError,
    InvalidAdjustmentError,
    InvalidSettingsError,
    StatementStateError,
)
from psa_billing.logic.errors import CurrencyLocked, NotFound, NotSendable, PeriodRunning

logger = Logger(child=True)


class ApiError(Exception):
    """An error the API answers on purpose (use cases raise subclasses or domain errors)."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, details: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class NotFoundError(ApiError):
    """Unknown id, or another organisation's: both are 404, never 403."""

    status = 404
    code = "not_found"


class ConflictError(ApiError):
    status = 409
    code = "conflict"


class CurrencyLockedError(ConflictError):
    code = "currency_locked"


class NotSendableApiError(ConflictError):
    code = "not_sendable"


class RunConflictError(ConflictError):
    code = "run_in_progress"


class InvalidCursorError(ApiError):
    status = 400
    code = "invalid_cursor"


class UnprocessableError(ApiError):
    status = 422
    code = "validation_failed"


class IdempotencyReuseError(ApiError):
    status = 422
    code = "idempotency_key_reused"


class IdempotencyInProgressError(ApiError):
    status = 409
    code = "idempotency_in_progress"


class ErrorBody(BaseModel):
    code: str
    message: str
    details: list[dict[str, Any]] | None = None


class ErrorResponse(BaseModel):
    """The body of every error response."""

    error: ErrorBody


# (status, code) for errors raised below the API: domain, adapters, auth.
_MAPPED: list[tuple[type[Exception], int, str]] = [
    (InvalidTokenError, 401, "unauthenticated"),
    (LoginFailedError, 401, "invalid_credentials"),
    (ForbiddenError, 403, "forbidden"),
    (TooManyAttemptsError, 429, "too_many_attempts"),
    (AuthUnavailableError, 503, "unavailable"),
    (WorkerFailedError, 503, "unavailable"),
    (NotFound, 404, "not_found"),
    (ConcurrentChangeError, 409, "conflict"),
    (ChangedMeanwhileError, 409, "conflict"),
    (RunInProgressError, 409, "run_in_progress"),
    (PeriodRunning, 409, "run_in_progress"),
    (NotSendable, 409, "not_sendable"),
    # Void twice, void while being emailed, adjust a void one, late time with none waiting.
    (StatementStateError, 409, "conflict"),
    (CurrencyLocked, 409, "currency_locked"),
    (InvalidAdjustmentError, 422, "validation_failed"),
    (BillingError, 422, "validation_failed"),
]


def status_for(exc: Exception) -> tuple[int, str] | None:
    """The (status, code) the API answers for an error raised below it (the pages use
    the same mapping, web/errors.py)."""
    if isinstance(exc, ApiError):
        return exc.status, exc.code
    if isinstance(exc, InvalidSettingsError):
        return 422, "validation_failed"
    for cls, status, code in _MAPPED:
        if isinstance(exc, cls):
            return status, code
    return None


STATUS_CODES: dict[int, str] = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    422: "validation_failed",
    429: "too_many_attempts",
    500: "internal_error",
    502: "bad_gateway",
    503: "unavailable",
    504: "gateway_timeout",
}


_DESCRIPTIONS = {
    400: "Bad request (e.g. invalid_cursor)",
    401: "Not signed in, or the token is invalid (unauthenticated, invalid_credentials)",
    403: "Signed in, but the role does not allow this (forbidden)",
    404: "Unknown, or another organisation's (not_found)",
    409: "Conflicts with the current state (conflict, not_sendable, run_in_progress, "
    "currency_locked, idempotency_in_progress)",
    422: "The request is not valid (validation_failed, idempotency_key_reused)",
    429: "Too many failed sign-ins (too_many_attempts)",
    500: "Unexpected error (internal_error)",
    502: "InvoiceNinja answered with an error, or not as InvoiceNinja (bad_gateway)",
    503: "A dependency is unavailable or not configured (unavailable)",
    504: "InvoiceNinja did not answer in time (gateway_timeout)",
}


def documented(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for a route: every error in the one shape. 400 (a body that
    is not JSON), 422 and 500 can happen on any route."""
    wanted = sorted({*statuses, 400, 422, 500})
    return {s: {"model": ErrorResponse, "description": _DESCRIPTIONS[s]} for s in wanted}


def error_response(
    status: int,
    code: str,
    message: str,
    details: list[dict[str, Any]] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {"code": code, "message": message}
    if details:
        body["details"] = details
    return JSONResponse(
        {"error": body}, status_code=status, headers=dict(headers) if headers else None
    )


def _validation_details(exc: RequestValidationError) -> list[dict[str, Any]]:
    # Only where and why: never the submitted value (it could be a password).
    return [
        {
            "field": ".".join(str(p) for p in err.get("loc", ()) if p not in ("body",)),
            "reason": str(err.get("msg", "")),
        }
        for err in exc.errors()
    ]


def install(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc.status, exc.code, exc.message, exc.details)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(
            422, "validation_failed", "the request is not valid", _validation_details(exc)
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        if not request.url.path.startswith("/api/"):
            # An address outside the API (no such page): a page, not JSON.
            from psa_billing.web.errors import http_error_page  # noqa: PLC0415

            return http_error_page(request, exc.status_code)
        code = STATUS_CODES.get(exc.status_code, "bad_request")
        details: list[dict[str, Any]] | None = None
        if isinstance(exc.detail, str):
            message = exc.detail
        elif isinstance(exc.detail, dict) and isinstance(exc.detail.get("message"), str):
            # e.g. an InvoiceNinja failure: the error in words, and which kind it is
            message = exc.detail["message"]
            rest = {k: str(v) for k, v in exc.detail.items() if k != "message"}
            details = [rest] if rest else None
        else:
            message = code.replace("_", " ")
        return error_response(exc.status_code, code, message, details, headers=exc.headers)

    @app.exception_handler(InvalidSettingsError)
    async def _settings(request: Request, exc: InvalidSettingsError) -> JSONResponse:
        details = [{"field": f, "reason": r} for f, r in exc.problems]
        return error_response(422, "validation_failed", "the settings are not valid", details)

    for cls, status, code in _MAPPED:
        app.add_exception_handler(cls, _mapped_handler(status, code))
    app.add_middleware(CatchAll)


def _mapped_handler(status: int, code: str) -> Any:
    async def handle(request: Request, exc: Exception) -> JSONResponse:
        headers = None
        if isinstance(exc, LoginFailedError):
            # Failed sign-ins are security events: logged at WARNING, with the reason only.
            logger.warning("sign-in refused", extra={"code": code, "reason": exc.reason})
        elif isinstance(exc, InvalidTokenError):
            logger.info("token refused", extra={"code": code, "reason": exc.reason})
        elif isinstance(exc, TooManyAttemptsError):
            headers = {"Retry-After": str(exc.retry_after_seconds)}
        elif isinstance(exc, AuthUnavailableError):
            logger.warning("identity provider unavailable", extra={"reason": str(exc)})
        return error_response(status, code, str(exc), headers=headers)

    return handle


class CatchAll:
    """Last resort for errors nobody expected: a generic 500, logged by class name.

    A plain ASGI middleware rather than an ``Exception`` handler: Starlette re-raises
    after such a handler so that the server logs the traceback, which must not happen.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            ctx = scope.get("aws.context")
            logger.error(
                "unhandled error",
                extra={
                    "errorType": type(exc).__name__,
                    "requestId": str(getattr(ctx, "aws_request_id", "") or ""),
                    "path": scope.get("path", ""),
                },
            )
            if started:
                return  # the response is already on its way; nothing more can be said
            response = error_response(
                500, "internal_error", "something went wrong; it has been logged"
            )
            await response(scope, receive, send)
