"""The daily schedule: start each organisation's run for the month that ended, once
its billing moment has come (logic/schedule.py)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from psa_billing import runtime
from psa_billing.dal.errors import retry_transient
from psa_billing.logic.events import ScheduledEvent
from psa_billing.logic.schedule import start_due_runs

logger = Logger()
tracer = Tracer()


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@retry_transient
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    report = start_due_runs(
        ScheduledEvent.model_validate(event).time, runtime.schedule(), runtime.run_starter()
    )
    logger.info("schedule woke", extra=report.wire())
    return report.wire()
