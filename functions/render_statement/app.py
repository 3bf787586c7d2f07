"""Renders a statement's current revision to a PDF in S3."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from psa_billing import runtime
from psa_billing.dal.errors import transient_as_retryable
from psa_billing.dal.serde import statement_from_payload
from psa_billing.logic.delivery import render_statement
from psa_billing.logic.events import CustomerTask

logger = Logger()
tracer = Tracer()


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    task = CustomerTask.model_validate(event)
    with transient_as_retryable():
        return render_statement(
            task,
            runtime.repository(),
            runtime.object_store(),
            runtime.org_cache(),
            statement_from_payload,
        )
