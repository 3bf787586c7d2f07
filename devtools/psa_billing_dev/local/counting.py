"""Count the AWS requests the Lambda handlers make, per service and operation, with
botocore event hooks (``before-call`` on every client created after ``install``).

Used by the request-count benchmark and tests: calls made by moto's Step Functions
engine itself (invoking the functions, reading the manifest) are the fan-out and are
counted apart, by telling whether the call happens inside a handler invocation.
"""

from __future__ import annotations

import functools
import threading
from collections import Counter
from typing import Any

import botocore.client

from psa_billing_dev.local import hook

_state = threading.local()


# IAM's service prefix where it differs from botocore's service name.
_IAM_PREFIX = {"sesv2": "ses", "stepfunctions": "states"}
# What each TransactWriteItems entry needs permission for (IAM has no action of its own
# for a transaction: it checks the item-level action of every entry).
_TRANSACT_ACTIONS = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
}


def iam_actions(service: str, operation: str, params: dict[str, Any]) -> set[str]:
    """The IAM actions one API call needs, e.g. {"dynamodb:PutItem"} for a transaction
    of Puts, {"ses:SendEmail"} for SESv2 SendEmail."""
    prefix = _IAM_PREFIX.get(service, service)
    if service == "dynamodb" and operation == "TransactWriteItems":
        return {
            f"dynamodb:{_TRANSACT_ACTIONS[kind]}"
            for entry in params.get("TransactItems", [])
            for kind in entry
        }
    return {f"{prefix}:{operation}"}


class RequestCounter:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        # (handler, service, operation) for calls a Lambda handler makes.
        self.in_handlers: Counter[tuple[str, str, str]] = Counter()
        # (service, operation) for every other call (the engine's fan-out, the caller's own).
        self.outside: Counter[tuple[str, str]] = Counter()
        # handler -> the IAM actions its calls needed (tests/integration/test_iam.py).
        self.actions: dict[str, set[str]] = {}

    def record(self, service: str, operation: str, params: dict[str, Any] | None = None) -> None:
        handler = getattr(_state, "handler", None)
        with self._lock:
            if handler:
                self.in_handlers[(handler, service, operation)] += 1
                self.actions.setdefault(handler, set()).update(
                    iam_actions(service, operation, params or {})
                )
            else:
                self.outside[(service, operation)] += 1

    def snapshot(
        self,
    ) -> tuple[Counter[tuple[str, str, str]], Counter[tuple[str, str]]]:
        with self._lock:
            return Counter(self.in_handlers), Counter(self.outside)

    def reset(self) -> None:
        with self._lock:
            self.in_handlers.clear()
            self.outside.clear()
            self.actions.clear()


_counter: RequestCounter | None = None
_original_create_client = botocore.client.ClientCreator.create_client
_original_run_handler = hook.run_handler


def install() -> RequestCounter:
    """Idempotent. Clients created before this call are not counted."""
    global _counter  # noqa: PLW0603 - one process-wide counter
    if _counter is not None:
        return _counter
    counter = RequestCounter()

    @functools.wraps(_original_create_client)
    def create_client(self: Any, *args: Any, **kwargs: Any) -> Any:
        client = _original_create_client(self, *args, **kwargs)
        service = client.meta.service_model.service_name

        def before_call(model: Any, params: Any = None, **_: Any) -> None:
            counter.record(service, model.name, params if isinstance(params, dict) else None)

        # Once per API call, with the call's own parameters (before serialisation).
        client.meta.events.register("before-parameter-build", before_call)
        return client

    @functools.wraps(_original_run_handler)
    def run_handler(dotted_path: str, event: Any, context: Any) -> Any:
        _state.handler = dotted_path
        try:
            return _original_run_handler(dotted_path, event, context)
        finally:
            _state.handler = None

    botocore.client.ClientCreator.create_client = create_client  # type: ignore[method-assign]
    hook.run_handler = run_handler
    _counter = counter
    return counter
