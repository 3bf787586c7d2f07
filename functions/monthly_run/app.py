"""The monthly run's Lambda handlers: plan, bill one customer, record a failure, close.

Each is a stack of Powertools decorators around one use case (docs/architecture.md 3); the payload
models are in psa_billing.logic.events.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from psa_billing import runtime
from psa_billing.dal.errors import retry_transient
from psa_billing.logic import monthly
from psa_billing.logic.events import BillTask, CloseRunEvent, FailureTask, PlanRunEvent
from psa_billing.observability import count

logger = Logger()
tracer = Tracer()
metrics = Metrics()


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@retry_transient
def plan_run(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    planned = monthly.plan_run(
        PlanRunEvent.model_validate(event),
        runtime.repository(),
        runtime.object_store(),
        runtime.leases(),
        runtime.utc_now,
    )
    logger.info("run planned", extra=planned.wire())
    return planned.wire()


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
@retry_transient
def bill_customer(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    result = monthly.bill_customer(
        BillTask.model_validate(event), runtime.repository(), runtime.utc_now, runtime.org_cache()
    )
    count(metrics, f"Outcome_{result.outcome}")
    return result.wire()


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
@retry_transient
def record_failure(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    task = FailureTask.model_validate(event)
    result = monthly.record_failure(task, runtime.repository())
    logger.error("customer failed", extra={"customerId": task.customer_id, "error": result.error})
    count(metrics, "Outcome_failed")
    return result.wire()


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@retry_transient
def close_run(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    summary = monthly.close_run(
        CloseRunEvent.model_validate(event), runtime.repository(), runtime.leases()
    )
    logger.info("run closed", extra=summary.wire())
    return summary.wire()
