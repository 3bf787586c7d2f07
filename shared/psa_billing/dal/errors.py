"""Adapter errors: which AWS failures are worth retrying, and one decorator that turns
them into ``TransientError`` (the name the state machine retries on)."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import ParamSpec, TypeVar

from botocore.exceptions import ClientError, ConnectionError, ReadTimeoutError

from psa_billing.logic.transient import TransientError

P = ParamSpec("P")
T = TypeVar("T")

__all__ = ["TransientError", "is_transient", "retry_transient", "transient_as_retryable"]

# Error codes AWS returns when asking again later is the right answer.
TRANSIENT_CODES = frozenset(
    {
        "ThrottlingException",
        "Throttling",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "InternalServerError",
        "InternalFailure",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "SlowDown",
        "TransactionConflictException",
        "LimitExceededException",
    }
)


def is_transient(exc: BaseException) -> bool:
    if isinstance(exc, ConnectionError | ReadTimeoutError):
        return True
    if isinstance(exc, ClientError):
        return exc.response.get("Error", {}).get("Code", "") in TRANSIENT_CODES
    cause = getattr(exc, "cause", None)  # pynamodb wraps botocore errors
    return isinstance(cause, BaseException) and is_transient(cause)


@contextmanager
def transient_as_retryable() -> Iterator[None]:
    """Re-raise throttling and outages as ``TransientError``; anything else unchanged."""
    try:
        yield
    except TransientError:
        raise
    except Exception as exc:
        if is_transient(exc):
            raise TransientError(f"{type(exc).__name__}: {exc}") from exc
        raise


def retry_transient(fn: Callable[P, T]) -> Callable[P, T]:
    """Handler decorator: throttling and outages leave the function as ``TransientError``
    so that the state machine's Retry (with backoff) handles them."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        with transient_as_retryable():
            return fn(*args, **kwargs)

    return wrapper
