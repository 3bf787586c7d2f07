"""The monthly run's Lambda handlers: plan, bill one customer, record a failure, close.

Each is a stack of Powertools decorators around one use case (STYLE.md 3).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from psa_billing import runtime
from psa_billing.dal.errors import transient_as_retryable
from psa_billing.dal.serde import statement_to_payload
from psa_billing.logic import monthly
from psa_billing.logic.events import CloseRunEvent, CustomerTask, PlanRunEvent
from psa_billing.observability import count

logger = Logger()
tracer = Tracer()
metrics = Metrics()


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def plan_run(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    with transient_as_retryable():
        planned = monthly.plan_run(
            PlanRunEvent.model_validate(event), runtime.repository(), runtime.object_store()
        )
    logger.info("run planned", extra=planned.model_dump(by_alias=True))
    return planned.model_dump(by_alias=True)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def bill_customer(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    task = CustomerTask.model_validate(event)
    with transient_as_retryable():
        result = monthly.bill_customer(
            task, runtime.repository(), runtime.utc_now, statement_to_payload
        )
    count(metrics, f"Outcome_{result['outcome']}")
    return result


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def record_failure(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    task = CustomerTask.model_validate(event)
    logger.error(
        "customer failed",
        extra={"customerId": task.customer_id, "error": monthly.describe(task.error)},
    )
    count(metrics, "Outcome_failed")
    with transient_as_retryable():
        return monthly.record_failure(task, runtime.repository())


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def close_run(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    with transient_as_retryable():
        summary = monthly.close_run(CloseRunEvent.model_validate(event), runtime.repository())
    logger.info("run closed", extra=summary)
    return summary
