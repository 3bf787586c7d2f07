"""The API function as API Gateway calls it: an HTTP API v2 event -> Mangum -> FastAPI,
with the token verified in the app (the authorizer's claims in the event are ignored)."""

from __future__ import annotations

import json
from typing import Any

from psa_billing_dev.local.hook import LambdaContext
from tests.integration.api.seed import seed


def _event(path: str, token: str | None, claims: dict[str, Any] | None = None) -> dict[str, Any]:
    headers = {"host": "api.example", "user-agent": "test"}
    if token is not None:
        headers["authorization"] = f"Bearer {token}"
    return {
        "version": "2.0",
        "routeKey": "ANY /{proxy+}",
        "rawPath": path,
        "rawQueryString": "",
        "headers": headers,
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
            "time": "01/Dec/2026:10:00:00 +0000",
            "timeEpoch": 0,
            "authorizer": {"jwt": {"claims": claims or {}, "scopes": None}},
        },
        "isBase64Encoded": False,
    }


def _call(event: dict[str, Any]) -> tuple[int, Any]:
    from functions.api.app import handler

    ctx = LambdaContext(
        function_name="api",
        invoked_function_arn="arn:api",
        memory_limit_in_mb=512,
        timeout_seconds=30,
    )
    resp = handler(event, ctx)
    return resp["statusCode"], json.loads(resp["body"])


def test_the_handler_answers_an_http_api_v2_event(
    api: Any, repo: Any, make_user: Any, sign_in: Any, org_id: str
) -> None:
    (st,) = seed(repo, org_id, ["c1"])
    token = sign_in(make_user({org_id: "ADMIN"}))["accessToken"]
    status, body = _call(_event("/api/billing/statements", token))
    assert status == 200
    assert [s["id"] for s in body["items"]] == [st.id]
    status, body = _call(_event(f"/api/billing/statements/{st.id}", token))
    assert status == 200 and body["total"] == st.public()["total"]


def test_authorizer_claims_in_the_event_grant_nothing(api: Any, repo: Any, org_id: str) -> None:
    (st,) = seed(repo, org_id, ["c1"])
    claims = {"sub": "u1", "cognito:groups": f"[org:{org_id}]", "token_use": "access"}
    status, body = _call(_event(f"/api/billing/statements/{st.id}", None, claims))
    assert status == 401 and body["error"]["code"] == "unauthenticated"
