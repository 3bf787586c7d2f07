"""Runs started through the API (the real state machine), and the accountants' CSV."""

from __future__ import annotations

import csv
import io
import time
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from psa_billing.logic.billing_api import CSV_COLUMNS
from tests.integration.api.conftest import bearer
from tests.integration.api.seed import PERIOD, seed, write_statements
from tests.support import load_demo


def test_a_run_started_through_the_api_bills_and_reports_each_customer(
    http: Any, repo: Any, make_user: Any, sign_in: Any, org_id: str
) -> None:
    load_demo(repo, org_id, customers=2, seed=11, period=PERIOD)
    t = bearer(sign_in(make_user({org_id: "ADMIN"})))
    started = http.post("/api/billing/runs", json={"period": str(PERIOD)}, headers=t)
    assert started.status_code == 202, started.text
    run_id = started.json()["runId"]
    again = http.post("/api/billing/runs", json={"period": str(PERIOD)}, headers=t)
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "run_in_progress"
    deadline = time.monotonic() + 120
    view: dict[str, Any] = {}
    while time.monotonic() < deadline:
        resp = http.get(f"/api/billing/runs/{run_id}", headers=t)
        if resp.status_code == 200:
            view = resp.json()
            if view["status"] != "running":
                break
        time.sleep(0.5)
    assert view["status"] == "succeeded", view
    assert view["progress"]["done"] == view["progress"]["total"] == 2
    assert {o["customerId"] for o in view["outcomes"]} == {"cust-0001", "cust-0002"}
    listed = http.get("/api/billing/runs", headers=t).json()
    assert [r["runId"] for r in listed["items"]] == [run_id]
    stranger = bearer(sign_in(make_user({org_id + "-x": "ADMIN"})))
    assert http.get(f"/api/billing/runs/{run_id}", headers=stranger).status_code == 404
    assert http.get("/api/billing/runs", headers=stranger).json()["items"] == []
    # Finished: the period may be run again (it bills nothing twice).
    rerun = http.post("/api/billing/runs", json={"period": str(PERIOD)}, headers=t)
    assert rerun.status_code == 202


def test_a_bad_period_is_refused(http: Any, make_user: Any, sign_in: Any, org_id: str) -> None:
    t = bearer(sign_in(make_user({org_id: "ADMIN"})))
    for period in ("2026-13", "26-01", "2026-1", "2099-01"):
        resp = http.post("/api/billing/runs", json={"period": period}, headers=t)
        assert resp.status_code == 422, period
    this_month = datetime.now(UTC).strftime("%Y-%m")
    resp = http.post("/api/billing/runs", json={"period": this_month}, headers=t)
    assert resp.status_code == 422 and "ended" in resp.json()["error"]["message"]


def test_the_csv_has_one_row_per_effective_line_for_10000_lines(
    http: Any, repo: Any, make_user: Any, sign_in: Any, org_id: str
) -> None:
    (one,) = seed(repo, org_id, ["probe"])
    many_lines = tuple(replace(one.lines[0], id=f"L{n}") for n in range(1, 101))
    statements = [
        replace(
            one,
            id=f"{org_id}:m{n:03d}:{PERIOD}",
            customer_id=f"m{n:03d}",
            lines=many_lines,
        )
        for n in range(100)
    ]
    write_statements(statements)
    t = bearer(sign_in(make_user({org_id: "ADMIN"})))
    started = time.perf_counter()
    with http.stream(
        "GET", "/api/billing/statements.csv", params={"period": str(PERIOD)}, headers=t
    ) as resp:
        assert resp.status_code == 200
        assert resp.headers["content-type"].startswith("text/csv")
        text = "".join(resp.iter_text())
    elapsed = time.perf_counter() - started
    rows = list(csv.DictReader(io.StringIO(text)))
    assert tuple(rows[0].keys()) == CSV_COLUMNS
    assert len(rows) == 100 * 100 + len(one.lines)
    assert len({(r["statementId"], r["lineId"]) for r in rows}) == len(rows)
    digits = one.currency_info.exponent
    for r in rows[:50]:
        assert r["currency"] == one.currency
        fraction = r["net"].partition(".")[2]
        assert len(fraction) == digits
    assert elapsed < 120
