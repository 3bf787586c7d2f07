"""Run Lambda handlers in-process inside the moto server.

moto cannot run function code without Docker; its Docker-less backend (lambda_simple) only
echoes the payload. ``invoke`` replaces that backend's method (installed by
psa_billing_dev.local.moto_patches) so that a function whose Handler is a
dotted path (functions.monthly_run.app.bill_customer, see template.local_handler) is imported
and called in the server's request thread, and an unhandled exception comes back the way AWS
returns it (header x-amz-function-error: Unhandled, body {errorMessage, errorType, ...}), so
Step Functions Retry/Catch see Error = the exception's class name.
"""

from __future__ import annotations

import importlib
import json
import logging
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from moto.awslambda_simple.models import LambdaSimpleBackend

logger = logging.getLogger(__name__)

Handler = Callable[[Any, "LambdaContext"], Any]


@dataclass
class LambdaContext:
    """The attributes of the Lambda Python runtime's context that handlers and Powertools use."""

    function_name: str
    invoked_function_arn: str
    memory_limit_in_mb: int
    timeout_seconds: int
    function_version: str = "$LATEST"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    identity: Any = None
    client_context: Any = None
    _deadline: float = field(default=0.0, repr=False)

    def __post_init__(self) -> None:
        self._deadline = time.monotonic() + self.timeout_seconds

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.function_name}"

    @property
    def log_stream_name(self) -> str:
        return f"{time.strftime('%Y/%m/%d')}/[{self.function_version}]{self.aws_request_id}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def resolve_handler(dotted_path: str) -> Handler:
    """Import "package.module.function" and return the function."""
    module_name, _, attribute = dotted_path.rpartition(".")
    if not module_name:
        raise ImportError(f"handler {dotted_path!r} is not a dotted path module.function")
    handler: Handler = getattr(importlib.import_module(module_name), attribute)
    return handler


def run_handler(dotted_path: str, event: Any, context: LambdaContext) -> tuple[bytes, str | None]:
    """Call a handler; return (response body, function error or None) as Lambda would."""
    try:
        result = resolve_handler(dotted_path)(event, context)
    except Exception as exc:
        logger.debug("handler %s raised", dotted_path, exc_info=True)
        return _error_body(type(exc).__name__, str(exc), traceback.format_tb(exc.__traceback__))
    try:
        return json.dumps(result).encode(), None
    except (TypeError, ValueError) as exc:
        # The Python runtime's error for a return value that is not JSON serialisable.
        return _error_body("Runtime.MarshalError", f"Unable to marshal response: {exc}", [])


def _error_body(error_type: str, message: str, stack: list[str]) -> tuple[bytes, str]:
    body = {"errorMessage": message, "errorType": error_type, "stackTrace": stack}
    return json.dumps(body).encode(), "Unhandled"


def invoke(
    self: LambdaSimpleBackend,
    function_name: str,
    qualifier: str | None,
    body: Any,
    headers: Any,
    response_headers: dict[str, str],
) -> bytes:
    fn = self.get_function(function_name, qualifier)
    handler = str(fn.handler)
    invocation_type = headers.get("X-Amz-Invocation-Type") if headers else None
    if invocation_type == "DryRun":
        return b""
    raw = body.decode() if isinstance(body, bytes) else body
    event = json.loads(raw) if raw else {}
    context = LambdaContext(
        function_name=fn.function_name,
        invoked_function_arn=fn.function_arn,
        memory_limit_in_mb=int(fn.memory_size),
        timeout_seconds=int(fn.timeout),
    )
    if invocation_type == "Event":
        # Asynchronous invoke: answer 202 at once; the handler's result is discarded.
        threading.Thread(target=run_handler, args=(handler, event, context), daemon=True).start()
        return b""
    payload, function_error = run_handler(handler, event, context)
    if function_error:
        response_headers["x-amz-function-error"] = function_error
    response_headers["x-amz-executed-version"] = "$LATEST"
    return payload
