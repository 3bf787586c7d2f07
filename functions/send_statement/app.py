"""Emails a rendered statement revision through SES, at most once."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from psa_billing import runtime
from psa_billing.config import get_settings
from psa_billing.dal.errors import transient_as_retryable
from psa_billing.logic.delivery import send_statement
from psa_billing.logic.events import CustomerTask
from psa_billing.observability import count

logger = Logger()
tracer = Tracer()
metrics = Metrics()


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    task = CustomerTask.model_validate(event)
    with transient_as_retryable():
        sent = send_statement(
            task.statement_id or "",
            task.revision or 0,
            repo=runtime.repository(),
            store=runtime.object_store(),
            mailer=runtime.mailer(),
            orgs=runtime.org_cache(),
            sender=get_settings().sender_email,
            clock=runtime.utc_now,
        )
    count(metrics, "StatementsSent" if sent else "SendSkipped")
    return task.out(sent=sent)
