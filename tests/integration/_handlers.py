"""Tiny Lambda handlers for the local-stack tests (run in-process by psa_billing_dev.local.hook)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger

logger = Logger(service="psa-billing-tests")


def echo(event: Any, context: Any) -> Any:
    return event


def fail(event: Any, context: Any) -> Any:
    raise ValueError(f"bad input: {event!r}")


@logger.inject_lambda_context
def describe_context(event: Any, context: Any) -> dict[str, Any]:
    """Returns what a handler sees of its context (and proves Powertools accepts it)."""
    return {
        "function_name": context.function_name,
        "function_version": context.function_version,
        "invoked_function_arn": context.invoked_function_arn,
        "memory_limit_in_mb": context.memory_limit_in_mb,
        "aws_request_id": context.aws_request_id,
        "log_group_name": context.log_group_name,
        "remaining_ms": context.get_remaining_time_in_millis(),
    }
