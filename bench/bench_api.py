"""The API function's cold start and a signed-in list's latency.

    .venv/bin/python bench/bench_api.py [--runs 10] [--requests 50]

1. Import time of the handler module (``python -X importtime``, the sum of every
   module's own time), each in a fresh process, median of --runs, beside a bare
   FastAPI + Mangum app measured the same way in the same run. Target: <= 1.5x bare.
2. What a cold Lambda pays before it answers: fresh processes (median of --runs)
   that import the handler and answer one signed-in ``GET /api/billing/statements``
   through the Mangum handler (an API Gateway HTTP API v2 event) against the local
   stack over loopback, timed as import and first request; beside the bare app
   answering its first request. Import time alone can be cut by deferring imports to
   the first request; this figure shows whether the total went down.
3. p50 / p95 latency of ``GET /api/billing/statements`` (signed in, 50 statements,
   limit 50) against the local stack over loopback, after one warm-up request.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BARE_APP = """\
from fastapi import FastAPI
from mangum import Mangum

app = FastAPI()
handler = Mangum(app, lifespan="off")
"""
TARGET_RATIO = 1.5

# Run in a fresh process: import the handler, answer one API Gateway v2 event, print
# the two times. The context is the few attributes Powertools reads.
COLD_REQUEST = """\
import json, sys, time
t0 = time.perf_counter()
module = __import__(sys.argv[1], fromlist=["handler"])
t1 = time.perf_counter()

class Context:
    function_name = "psa-billing-api"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:psa-billing-api"
    memory_limit_in_mb = 512
    aws_request_id = "bench"
    log_group_name = "/aws/lambda/psa-billing-api"
    log_stream_name = "bench"
    def get_remaining_time_in_millis(self):
        return 30000

response = module.handler(json.loads(sys.argv[2]), Context())
t2 = time.perf_counter()
print(json.dumps({"import_ms": (t1 - t0) * 1000, "first_ms": (t2 - t1) * 1000,
                  "status": response["statusCode"]}))
"""


def import_ms(module: str, extra_path: str | None = None) -> float:
    env_path = extra_path or ""
    cmd = [sys.executable, "-X", "importtime", "-c", f"import {module}"]
    env = {"PYTHONPATH": env_path} if env_path else None
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, env=env)
    total_us = 0
    for line in out.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        total_us += int(line.split(":", 1)[1].split("|")[0])
    return total_us / 1000


def cold_start(runs: int) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "bare_api_app.py").write_text(BARE_APP, encoding="utf-8")
        bare, ours = [], []
        for _ in range(runs):  # interleaved, so machine noise hits both alike
            bare.append(import_ms("bare_api_app", tmp))
            ours.append(import_ms("functions.api.app"))
    return statistics.median(bare), statistics.median(ours)


def http_api_event(path: str, query: str, token: str) -> dict[str, object]:
    """An API Gateway HTTP API (payload 2.0) event, as Lambda receives it."""
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": query,
        "headers": {"authorization": f"Bearer {token}", "host": "api.example.test"},
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "bench",
            "domainName": "api.example.test",
            "http": {
                "method": "GET",
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": "bench",
            },
            "requestId": "bench",
            "routeKey": "$default",
            "stage": "$default",
            "time": "01/Dec/2026:00:00:00 +0000",
            "timeEpoch": 0,
        },
        "isBase64Encoded": False,
    }


def cold_requests(
    runs: int, token: str, endpoint: str, bare_dir: str
) -> dict[str, tuple[float, float, float]]:
    """(import, first request, total) medians of fresh processes, ours and bare."""
    env = dict(os.environ, AWS_ENDPOINT_URL=endpoint)
    env["PYTHONPATH"] = os.pathsep.join([bare_dir, env.get("PYTHONPATH", "")])
    ours_event = json.dumps(http_api_event("/api/billing/statements", "limit=50", token))
    bare_event = json.dumps(http_api_event("/api/health", "", token))
    samples: dict[str, list[dict[str, float]]] = {"bare": [], "ours": []}
    for _ in range(runs):  # interleaved, as above
        for name, module, event in (
            ("bare", "bare_api_app", bare_event),
            ("ours", "functions.api.app", ours_event),
        ):
            out = subprocess.run(
                [sys.executable, "-c", COLD_REQUEST, module, event],
                capture_output=True,
                text=True,
                check=True,
                env=env,
            )
            got = json.loads(out.stdout.strip().splitlines()[-1])
            if name == "ours" and got["status"] != 200:
                raise RuntimeError(f"the cold request answered {got['status']}: {out.stdout}")
            samples[name].append(got)
    return {
        name: (
            statistics.median(s["import_ms"] for s in got),
            statistics.median(s["first_ms"] for s in got),
            statistics.median(s["import_ms"] + s["first_ms"] for s in got),
        )
        for name, got in samples.items()
    }


def seed_statements(org_id: str, n: int) -> None:
    """n statements as the run writes them: one billed customer's, copied per customer."""
    import json
    from dataclasses import replace
    from datetime import UTC, datetime

    from psa_billing import runtime
    from psa_billing.dal.models import Item
    from psa_billing.dal.serde import statement_item
    from psa_billing.domain.model import Period
    from psa_billing.domain.rules import compute_statement
    from psa_billing.domain.statement import Statement, statement_id
    from psa_billing.logic.importing import import_document
    from psa_billing_dev.demo import demo_document

    period = Period(2026, 10)
    repo = runtime.repository()
    doc = demo_document(1, 3, period, org_id=org_id)
    import_document(
        json.dumps(doc).encode(), repo, clock=lambda: datetime.now(UTC), leases=runtime.leases()
    )
    draft = compute_statement(repo.load_customer_period(org_id, "cust-0001", period), period)
    assert draft is not None
    base = Statement.from_draft(draft, org_id=org_id, run_id="bench", created_at=datetime.now(UTC))
    with Item.batch_write() as batch:
        for k in range(n):
            cust = f"c{k:03d}"
            st = replace(base, id=statement_id(org_id, cust, period), customer_id=cust)
            batch.save(statement_item(st))


def latency(
    requests: int, cold_runs: int
) -> tuple[float, float, dict[str, tuple[float, float, float]]]:
    import httpx

    from psa_billing.api import deps
    from psa_billing.auth import totp
    from psa_billing_dev.cli.users import create_user_with_mfa
    from psa_billing_dev.local import api_server
    from psa_billing_dev.local.cognito import PoolRef, idp_client, local_totp_secret
    from psa_billing_dev.local.stack import start_local_stack

    with start_local_stack(port=0) as stack:
        api = api_server.start_api_server(stack, port=0)
        try:
            res = stack.resources
            pool = PoolRef(res.user_pool_id, res.user_pool_client_id, res.region)
            sub, _ = create_user_with_mfa(
                idp_client(stack.endpoint), pool, "bench@example.test", "Bench-Password-1"
            )
            deps.access_repository().put_membership(sub, "bench@example.test", "bench", "ADMIN")
            seed_statements("bench", 50)
            if totp.seconds_left() <= 2:
                time.sleep(totp.seconds_left() + 0.1)
            with httpx.Client(base_url=api.url, timeout=60) as http:
                tokens = http.post(
                    "/api/auth/login",
                    json={
                        "email": "bench@example.test",
                        "password": "Bench-Password-1",
                        "mfaCode": totp.current_code(local_totp_secret()),
                    },
                ).json()
                headers = {"authorization": f"Bearer {tokens['accessToken']}"}
                with tempfile.TemporaryDirectory() as tmp:
                    Path(tmp, "bare_api_app.py").write_text(BARE_APP, encoding="utf-8")
                    cold = cold_requests(cold_runs, tokens["accessToken"], stack.endpoint, tmp)
                http.get("/api/billing/statements", params={"limit": 50}, headers=headers)
                times = []
                for _ in range(requests):
                    started = time.perf_counter()
                    resp = http.get(
                        "/api/billing/statements", params={"limit": 50}, headers=headers
                    )
                    times.append((time.perf_counter() - started) * 1000)
                    assert resp.status_code == 200 and len(resp.json()["items"]) == 50
        finally:
            api.stop()
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.95) - 1], cold


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--requests", type=int, default=50)
    args = parser.parse_args()
    bare, ours = cold_start(args.runs)
    ratio = ours / bare
    verdict = "ok" if ratio <= TARGET_RATIO else f"over the {TARGET_RATIO}x target"
    print(f"import, median of {args.runs} fresh processes:")
    print(f"  bare FastAPI + Mangum  {bare:7.1f} ms")
    print(f"  functions.api.app      {ours:7.1f} ms  ({ratio:.2f}x, {verdict})")
    p50, p95, cold = latency(args.requests, args.runs)
    print(f"cold start to the first answer, median of {args.runs} fresh processes:")
    for name, label in (("bare", "bare app, GET /api/health"), ("ours", "API, signed-in list")):
        imp, first, total = cold[name]
        print(
            f"  {label:28s} import {imp:6.1f} ms + first request {first:6.1f} ms = {total:6.1f} ms"
        )
    print(
        f"GET /api/billing/statements?limit=50, signed in, local stack, {args.requests} requests:"
    )
    print(f"  p50 {p50:.1f} ms  p95 {p95:.1f} ms")


if __name__ == "__main__":
    main()
