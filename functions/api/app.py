"""The API function: API Gateway HTTP API (v2 events) -> Mangum -> FastAPI.

Every request's token is verified inside the app (psa_billing.auth.verifier), never
taken from API Gateway's authorizer context. Cold start: the import builds only the
app's shell; each route group is built on the first request under its prefix
(psa_billing/api/groups.py), and none imports the PDF or email code
(tests/unit/test_cold_start.py).
"""

from __future__ import annotations

from aws_lambda_powertools import Logger
from mangum import Mangum

from psa_billing.api.app import create_app

logger = Logger()
app = create_app()
handler = logger.inject_lambda_context(Mangum(app, lifespan="off"))
