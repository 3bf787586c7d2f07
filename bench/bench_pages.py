"""Server time of each portal page on the local stack.

    .venv/bin/python bench/bench_pages.py [--requests 20] [--customers 25]

Starts what `make run` starts (local stack, the app under uvicorn, the InvoiceNinja
stand-in seeded for the demo organisation), imports and bills the demo organisation,
signs an OWNER in through /signin (cookies, as a browser), then requests each page of
PAGES once to warm it and ``--requests`` times more, and prints p50 / p95 / max of the
time from sending the request to having the whole HTML (loopback, so the server's time
plus well under a millisecond). InvoiceNinja's pages include the stand-in's own time:
it runs in the same process, as it does under `make run`.

A page is one entry of PAGES: (label, path with {org}/{customer}/{statement}, setup).
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

ORG = "demo-msp"
EMAIL = "bench-owner@demo-msp.example"
PASSWORD = "Bench-Pages-2026"  # a local bench user


def _configure_invoiceninja(url: str | None, token: str | None) -> None:
    from psa_billing.invoiceninja import wiring

    for name, value in (("INVOICENINJA_URL", url), ("INVOICENINJA_TOKEN", token)):
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    wiring.reset()


def connected(standin: Any) -> None:
    _configure_invoiceninja(standin.url, standin.token)


def not_configured(standin: Any) -> None:
    _configure_invoiceninja(None, None)


def unreachable(standin: Any) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    _configure_invoiceninja(f"http://127.0.0.1:{port}", standin.token)


Setup = Callable[[Any], None]
PAGES: list[tuple[str, str, Setup]] = [
    ("customer Billing tab", "/customers/{customer}/billing?org={org}", connected),
    ("/billing invoices (InvoiceNinja live)", "/billing?org={org}", connected),
    ("/billing quotes", "/billing?org={org}&type=quotes", connected),
    ("/billing, InvoiceNinja not configured", "/billing?org={org}", not_configured),
    ("/billing, InvoiceNinja refusing connections", "/billing?org={org}", unreachable),
    ("connection tester, connected", "/admin/integrations/invoiceninja?org={org}", connected),
    (
        "connection tester, unreachable",
        "/admin/integrations/invoiceninja?org={org}",
        unreachable,
    ),
]


def _percentile(sorted_ms: list[float], q: float) -> float:
    return sorted_ms[max(0, round(q * len(sorted_ms)) - 1)]


def sign_in(http: Any) -> None:
    from psa_billing.auth import totp
    from psa_billing_dev.local.cognito import local_totp_secret

    form = http.get("/signin").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', form)
    assert token, "no CSRF token on /signin"
    if totp.seconds_left() <= 2:
        time.sleep(totp.seconds_left() + 0.2)
    resp = http.post(
        "/signin",
        data={
            "csrf_token": token.group(1),
            "email": EMAIL,
            "password": PASSWORD,
            "code": totp.current_code(local_totp_secret()),
            "next": "/",
        },
    )
    assert resp.status_code == 303, resp.text


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--customers", type=int, default=25)
    args = parser.parse_args()

    import httpx

    from psa_billing import runtime
    from psa_billing.api import deps
    from psa_billing.domain.model import Period
    from psa_billing_dev.cli.localdemo import prepare_demo_org
    from psa_billing_dev.cli.runner import start_run, wait_for_run
    from psa_billing_dev.cli.users import create_user_with_mfa
    from psa_billing_dev.invoiceninja_standin import start as start_standin
    from psa_billing_dev.local import api_server
    from psa_billing_dev.local.cognito import PoolRef, idp_client
    from psa_billing_dev.local.stack import start_local_stack

    with start_local_stack(port=0) as stack:
        standin = start_standin(customers=args.customers, seed=7, org_id=ORG)
        connected(standin)
        api = api_server.start_api_server(stack, port=0)
        try:
            from psa_billing import config
            from psa_billing.logic.events import RunRequest

            repo = runtime.repository()
            period = Period.before(datetime.now(UTC).date())
            prepare_demo_org(repo, customers=args.customers, seed=7, period=period, org_id=ORG)
            arn = start_run(
                config.run().state_machine_arn, RunRequest(orgId=ORG, period=str(period))
            )
            wait_for_run(arn, repo, poll_seconds=0.2)
            res = stack.resources
            pool = PoolRef(res.user_pool_id, res.user_pool_client_id, res.region)
            sub, _ = create_user_with_mfa(idp_client(stack.endpoint), pool, EMAIL, PASSWORD)
            deps.access_repository().put_membership(sub, EMAIL, ORG, "OWNER")
            statements = repo.list_statements(ORG, str(period))
            facts = {
                "org": ORG,
                "customer": "cust-0001",
                "statement": statements[0].id if statements else "",
            }
            active = sum(
                1
                for r in standin.state.invoices.values()
                if not r["is_deleted"] and not r["archived_at"]
            )
            print(
                f"local stack, demo organisation of {args.customers} customers "
                f"({len(statements)} statements, {active} active invoices in the stand-in); "
                f"{args.requests} requests per page after one warm-up:"
            )
            print(f"{'page':<46} {'p50':>8} {'p95':>8} {'max':>8}")
            with httpx.Client(base_url=api.url, timeout=60) as http:
                sign_in(http)
                for label, path, setup in PAGES:
                    setup(standin)
                    url = path.format(**facts)
                    first = http.get(url)
                    assert first.status_code == 200, (label, first.status_code, first.text[:300])
                    times = []
                    for _ in range(args.requests):
                        started = time.perf_counter()
                        resp = http.get(url)
                        times.append((time.perf_counter() - started) * 1000)
                        assert resp.status_code == 200, (label, resp.status_code)
                    times.sort()
                    print(
                        f"{label:<46} {statistics.median(times):7.1f}ms "
                        f"{_percentile(times, 0.95):7.1f}ms {times[-1]:7.1f}ms"
                    )
                connected(standin)
                # The same InvoiceNinja work as JSON, for comparison: what the page adds
                # is the HTML.
                from psa_billing.auth import totp
                from psa_billing_dev.local.cognito import local_totp_secret

                if totp.seconds_left() <= 2:
                    time.sleep(totp.seconds_left() + 0.2)
                tokens = http.post(
                    "/api/auth/login",
                    json={
                        "email": EMAIL,
                        "password": PASSWORD,
                        "mfaCode": totp.current_code(local_totp_secret()),
                    },
                ).json()
                bearer = {"authorization": f"Bearer {tokens['accessToken']}"}
                url = f"/api/billing/invoices?orgId={ORG}"
                assert http.get(url, headers=bearer).status_code == 200
                times = []
                for _ in range(args.requests):
                    started = time.perf_counter()
                    assert http.get(url, headers=bearer).status_code == 200
                    times.append((time.perf_counter() - started) * 1000)
                times.sort()
                print(
                    f"{'(JSON) GET /api/billing/invoices':<46} {statistics.median(times):7.1f}ms "
                    f"{_percentile(times, 0.95):7.1f}ms {times[-1]:7.1f}ms"
                )
        finally:
            api.stop()
            standin.stop()


if __name__ == "__main__":
    main()
