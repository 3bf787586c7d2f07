"""How every command fails: one line on stderr and a non-zero exit code."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

from psa_billing_dev.cli import target

F = TypeVar("F", bound=Callable[..., Any])


def _fail(message: str, code: int = 1) -> None:
    click.echo(f"psa-billing: {message}", err=True)
    sys.exit(code)


def _cause_chain(exc: BaseException) -> list[BaseException]:
    """The exception and what it wraps (pynamodb wraps botocore's errors in ``cause``)."""
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen:
        seen.append(current)
        nxt = getattr(current, "cause", None) or current.__cause__ or current.__context__
        current = nxt if isinstance(nxt, BaseException) else None
    return seen


def _unreachable() -> str:
    where = "AWS" if target.targets_aws() else target.local_endpoint()
    hint = "" if target.targets_aws() else ": start it with `psa-billing local up`"
    return f"cannot reach {where}{hint}"


def reports_errors(fn: F) -> F:
    """Exit 0 on success; otherwise a one-line reason on stderr and a non-zero code. No
    traceback reaches the user unless PSA_BILLING_DEBUG=1 (or `psa-billing --debug`)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        import httpx  # noqa: PLC0415
        from botocore.exceptions import ClientError, EndpointConnectionError  # noqa: PLC0415

        from psa_billing.domain.errors import BillingError  # noqa: PLC0415
        from psa_billing_dev.cli.runner import RunFailedError  # noqa: PLC0415

        try:
            return fn(*args, **kwargs)
        except (click.exceptions.Exit, click.ClickException, SystemExit, KeyboardInterrupt):
            raise
        except Exception as exc:
            if os.environ.get("PSA_BILLING_DEBUG") == "1":
                raise
            chain = _cause_chain(exc)
            for err in chain:
                if isinstance(err, EndpointConnectionError | httpx.ConnectError):
                    _fail(_unreachable())
                if isinstance(err, BillingError | RunFailedError):
                    _fail(str(err))
                if isinstance(err, ClientError):
                    e = err.response.get("Error", {})
                    _fail(f"AWS refused: {e.get('Code', '')}: {e.get('Message', '')}")
                if isinstance(err, OSError) and getattr(err, "filename", None):
                    _fail(f"{err.filename}: {err.strerror or err}")
            _fail(
                f"unexpected error: {type(exc).__name__}: {exc} "
                "(PSA_BILLING_DEBUG=1 shows the traceback)"
            )

    return wrapper  # type: ignore[return-value]
