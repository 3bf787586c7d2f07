"""Renders a statement revision to a PDF in S3 (once per revision)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from psa_billing import runtime
from psa_billing.dal.errors import retry_transient
from psa_billing.logic.delivery import render_statement
from psa_billing.logic.events import RenderTask

logger = Logger()
tracer = Tracer()


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@retry_transient
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return render_statement(
        RenderTask.model_validate(event),
        runtime.repository(),
        runtime.object_store(),
        runtime.org_cache(),
    ).wire()
