"""The API function as API Gateway calls it (HTTP API v2 event -> Mangum -> FastAPI),
reading statements from the local stack, scoped to the caller's organisations."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from psa_billing.domain.model import Period
from psa_billing.domain.rules import compute_statement
from psa_billing.domain.run import CustomerOutcome, Outcome
from psa_billing.domain.statement import Statement
from psa_billing_dev.local.hook import LambdaContext
from tests.support import load_demo

PERIOD = Period(2026, 10)


def _event(path: str, groups: str, query: str = "") -> dict[str, Any]:
    return {
        "version": "2.0",
        "routeKey": "ANY /{proxy+}",
        "rawPath": path,
        "rawQueryString": query,
        "headers": {"host": "api.example", "authorization": "Bearer x"},
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "api",
            "domainName": "api.example",
            "http": {
                "method": "GET",
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "203.0.113.9",
                "userAgent": "test",
            },
            "requestId": "r1",
            "routeKey": "ANY /{proxy+}",
            "stage": "$default",
            "time": "25/Nov/2026:10:00:00 +0000",
            "timeEpoch": 0,
            "authorizer": {
                "jwt": {"claims": {"sub": "u1", "cognito:groups": groups}, "scopes": None}
            },
        },
        "isBase64Encoded": False,
    }


def _call(path: str, groups: str, query: str = "") -> tuple[int, Any]:
    from functions.api.app import handler

    ctx = LambdaContext(
        function_name="api",
        invoked_function_arn="arn:api",
        memory_limit_in_mb=512,
        timeout_seconds=30,
    )
    resp = handler(_event(path, groups, query), ctx)
    return resp["statusCode"], json.loads(resp["body"])


def test_statements_are_listed_only_for_the_callers_organisations(repo: Any, org_id: str) -> None:
    load_demo(repo, org_id, customers=2, seed=30, period=PERIOD)
    data = repo.load_customer_period(org_id, "cust-0001", PERIOD)
    st = Statement.from_draft(
        compute_statement(data, PERIOD), org_id=org_id, run_id="r", created_at=datetime.now(UTC)
    )
    repo.create_statement(st, CustomerOutcome("r", org_id, "cust-0001", Outcome.BILLED, st.id))

    status, body = _call(
        "/api/billing/statements", f"[org:{org_id} billing-admins]", f"org={org_id}&period=2026-10"
    )
    assert status == 200
    assert [s["id"] for s in body] == [st.id]
    assert body[0]["total"] == st.public()["total"]

    status, body = _call(f"/api/billing/statements/{st.id}", f"[org:{org_id}]")
    assert status == 200 and body["lines"] == st.public()["lines"]

    status, _ = _call("/api/billing/statements", "[org:someone-else]", f"org={org_id}")
    assert status == 403
    status, _ = _call(f"/api/billing/statements/{st.id}", "[org:someone-else]")
    assert status == 404
    status, body = _call(
        "/api/billing/statements", f"[org:{org_id}]", f"org={org_id}&period=2026-13"
    )
    assert status == 422
