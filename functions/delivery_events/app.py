"""SES's events about statement mails (through the configuration set's SNS topic):
record each on its statement by the SES message id (logic/delivery_events.py)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from psa_billing import runtime
from psa_billing.dal.errors import retry_transient
from psa_billing.logic.delivery_events import SnsNotification, record_ses_events
from psa_billing.observability import count

logger = Logger()
tracer = Tracer()
metrics = Metrics()


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
@retry_transient
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    report = record_ses_events(SnsNotification.model_validate(event), runtime.delivery_log())
    for rec in report.events:
        count(metrics, f"Delivery_{rec.event}_{rec.outcome}")
    logger.info("SES events", extra=report.wire())
    return report.wire()
