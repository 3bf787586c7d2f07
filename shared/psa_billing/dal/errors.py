"""Adapter errors. ``TransientError`` is the name the state machine retries on."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from botocore.exceptions import ClientError, ConnectionError, ReadTimeoutError

T = TypeVar("T")

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


class TransientError(Exception):
    """A failure worth retrying with backoff (Step Functions matches this class name)."""


def is_transient(exc: BaseException) -> bool:
    if isinstance(exc, ConnectionError | ReadTimeoutError):
        return True
    if isinstance(exc, ClientError):
        return exc.response.get("Error", {}).get("Code", "") in TRANSIENT_CODES
    cause = getattr(exc, "cause", None)  # pynamodb wraps botocore errors
    return isinstance(cause, BaseException) and is_transient(cause)


@contextmanager
def transient_as_retryable() -> Iterator[None]:
    """Re-raise throttling and outages as ``TransientError`` so that the state machine's
    Retry (with backoff) handles them; anything else propagates unchanged."""
    try:
        yield
    except TransientError:
        raise
    except Exception as exc:
        if is_transient(exc):
            raise TransientError(f"{type(exc).__name__}: {exc}") from exc
        raise


def retryable(fn: Callable[[], T]) -> T:
    with transient_as_retryable():
        return fn()
