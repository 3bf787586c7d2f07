"""Emails a rendered statement revision through SES, at most once."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from psa_billing import config, runtime
from psa_billing.dal.errors import retry_transient
from psa_billing.logic.delivery import send_statement
from psa_billing.logic.events import SendTask
from psa_billing.observability import count

logger = Logger()
tracer = Tracer()
metrics = Metrics()


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
@retry_transient
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    result = send_statement(
        SendTask.model_validate(event),
        repo=runtime.repository(),
        store=runtime.object_store(),
        mailer=runtime.mailer(),
        orgs=runtime.org_cache(),
        sender=config.mail().sender_email,
        clock=runtime.utc_now,
    )
    count(metrics, "StatementsSent" if result.sent else "SendSkipped")
    return result.wire()
