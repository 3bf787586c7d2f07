"""The FastAPI router and the click group, wired to the stand-in and in-memory ports the
way the app and the main CLI will wire them (dependency overrides / context object)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from click.testing import CliRunner
from fastapi import FastAPI
from fastapi.testclient import TestClient

from psa_billing.domain.model import Period
from psa_billing.invoiceninja import wiring
from psa_billing.invoiceninja.errors import InvoiceNinjaError, Problem
from psa_billing.invoiceninja.ports import PortalPorts, Source
from psa_billing.invoiceninja.routes import (
    InvoiceNinjaContext,
    get_api_opener,
    get_context,
    get_ports,
    router,
)
from psa_billing_dev.demo import demo_document
from psa_billing_dev.invoiceninja_cli import invoiceninja
from psa_billing_dev.invoiceninja_fakes import MemoryPortal, MemoryStore
from psa_billing_dev.invoiceninja_standin import StandIn, start

ORG = "demo-msp"


@pytest.fixture
def stand_in(monkeypatch: pytest.MonkeyPatch) -> Iterator[StandIn]:
    s = start()
    monkeypatch.setenv("INVOICENINJA_URL", s.url)
    monkeypatch.setenv("INVOICENINJA_TOKEN", s.token)
    monkeypatch.setenv("INVOICENINJA_READ_TIMEOUT_SECONDS", "1")
    monkeypatch.setenv("INVOICENINJA_DEADLINE_SECONDS", "4")
    wiring.reset()
    try:
        yield s
    finally:
        s.stop()
        wiring.reset()


@pytest.fixture
def ports(stand_in: StandIn) -> PortalPorts:
    portal = MemoryPortal(demo_document(25, 7, Period.before(stand_in.state.today), org_id=ORG))
    return PortalPorts(directory=portal, work=portal, store=MemoryStore())


def _app(ports: PortalPorts, ctx: InvoiceNinjaContext | None = None) -> TestClient:
    app = FastAPI()
    app.include_router(router)
    app.dependency_overrides[get_context] = lambda: (
        ctx or InvoiceNinjaContext(org_id=ORG, is_admin=True, projects_enabled=True)
    )
    app.dependency_overrides[get_ports] = lambda: ports
    return TestClient(app)


def _billable_project(ports: PortalPorts) -> str:
    portal = ports.work
    assert isinstance(portal, MemoryPortal)
    for p in portal.projects(ORG):
        project = portal.project(ORG, p.id)
        entries = [e for e in portal.time_entries(ORG, Source("project", p.id)) if e.billable]
        if project and project.billable and entries:
            return p.id
    raise AssertionError("the demo data has a billable project with time")


def test_status_reports_connected_with_the_company_name(ports: PortalPorts) -> None:
    resp = _app(ports).get("/api/billing/invoiceninja/status")
    assert resp.status_code == 200
    assert resp.json() == {
        "state": "connected",
        "companyName": "Demo MSP Ltd",
        "problem": None,
        "message": None,
    }


def test_status_reports_a_bad_token_without_showing_any_token(
    ports: PortalPorts, stand_in: StandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INVOICENINJA_TOKEN", "not-the-token-xyz")
    wiring.reset()
    resp = _app(ports).get("/api/billing/invoiceninja/status")
    body = resp.json()
    assert (resp.status_code, body["state"], body["problem"]) == (200, "unreachable", "bad_token")
    assert "not-the-token-xyz" not in resp.text and stand_in.token not in resp.text


def test_the_list_answers_not_configured_for_the_connect_prompt(
    ports: PortalPorts, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("INVOICENINJA_URL")
    wiring.reset()
    client = _app(ports)
    resp = client.get("/api/billing/invoices")
    assert resp.status_code == 200
    assert resp.json() == {"state": "not_configured", "type": "invoices", "rows": [], "kpis": []}
    assert client.get("/api/billing/invoiceninja/status").json()["state"] == "not_configured"


def test_the_list_is_camel_case_with_money_in_the_currencys_digits(
    ports: PortalPorts, stand_in: StandIn
) -> None:
    resp = _app(ports).get("/api/billing/invoices", params={"type": "invoices"})
    assert resp.status_code == 200
    body = resp.json()
    assert body["state"] == "ok" and body["type"] == "invoices"
    row = body["rows"][0]
    assert set(row) >= {
        "number",
        "url",
        "customerName",
        "customerId",
        "reference",
        "projectId",
        "status",
        "overdue",
        "amount",
        "balance",
        "currency",
        "date",
        "dueDate",
    }
    digits = {"GBP": 2, "EUR": 2, "USD": 2, "JPY": 0, "BHD": 3, "KWD": 3}
    for r in body["rows"]:
        decimals = len(r["amount"].partition(".")[2])
        assert decimals == digits[r["currency"]], r
    kpi = {k["currency"]: k for k in body["kpis"]}
    assert set(kpi["GBP"]) == {
        "currency",
        "invoiceCount",
        "invoiceTotal",
        "outstandingBalance",
        "quoteCount",
        "quoteTotal",
    }
    assert "." not in kpi["JPY"]["invoiceTotal"]


def test_quotes_are_listed_with_type_quotes(ports: PortalPorts) -> None:
    body = _app(ports).get("/api/billing/invoices", params={"type": "quotes"}).json()
    assert body["type"] == "quotes" and body["rows"]
    assert {r["kind"] for r in body["rows"]} == {"quote"}
    assert {r["status"] for r in body["rows"]} <= {
        "Draft",
        "Sent",
        "Approved",
        "Converted",
        "Expired",
    }


def test_an_unknown_type_is_refused(ports: PortalPorts) -> None:
    assert _app(ports).get("/api/billing/invoices", params={"type": "bills"}).status_code == 422


def test_a_slow_invoiceninja_gives_504_with_the_reason(
    ports: PortalPorts, stand_in: StandIn
) -> None:
    stand_in.state.delay = 1.5  # longer than the 1 s read timeout, on every attempt
    resp = _app(ports).get("/api/billing/invoices")
    assert resp.status_code == 504
    assert resp.json()["detail"]["problem"] in ("deadline", "timeout")


def test_a_failing_invoiceninja_gives_502_in_words(ports: PortalPorts, stand_in: StandIn) -> None:
    stand_in.state.fail_next("html200", times=10)
    resp = _app(ports).get("/api/billing/invoices")
    assert resp.status_code == 502
    assert resp.json()["detail"]["problem"] == "not_invoiceninja"
    assert "Traceback" not in resp.text


@pytest.mark.parametrize(
    ("ctx", "words"),
    [
        (InvoiceNinjaContext(ORG, is_admin=False, projects_enabled=True), "ADMIN"),
        (InvoiceNinjaContext(ORG, is_admin=True, projects_enabled=False), "projects feature"),
    ],
)
def test_the_routes_need_admin_and_the_projects_feature(
    ports: PortalPorts, ctx: InvoiceNinjaContext, words: str
) -> None:
    client = _app(ports, ctx)
    for resp in (
        client.get("/api/billing/invoiceninja/status"),
        client.get("/api/billing/invoices"),
        client.post("/api/billing/invoiceninja/push", json={"projectId": "x"}),
    ):
        assert resp.status_code == 403 and words in resp.json()["detail"]


def test_push_creates_once_and_then_answers_already_pushed(
    ports: PortalPorts, stand_in: StandIn
) -> None:
    client = _app(ports)
    project_id = _billable_project(ports)
    first = client.post(
        "/api/billing/invoiceninja/push", json={"projectId": project_id, "as": "invoice"}
    )
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["outcome"] == "created" and body["sourceId"] == project_id
    assert body["url"].endswith(f"/#/invoices/{body['documentId']}/edit")
    again = client.post("/api/billing/invoiceninja/push", json={"projectId": project_id})
    assert again.json()["outcome"] == "already_pushed"
    assert again.json()["documentId"] == body["documentId"]
    assert len(stand_in.state.calls("POST", "invoices")) == 1


@pytest.mark.parametrize(
    ("payload", "status"),
    [
        ({}, 422),
        ({"projectId": "a", "ticketId": "b"}, 422),
        ({"ticketId": "tkt-0001-01", "as": "quote"}, 422),
        ({"projectId": "prj-nope"}, 404),
    ],
)
def test_bad_pushes_are_refused_clearly(
    ports: PortalPorts, payload: dict[str, Any], status: int
) -> None:
    resp = _app(ports).post("/api/billing/invoiceninja/push", json=payload)
    assert resp.status_code == status


def test_the_cli_status_says_connected(stand_in: StandIn) -> None:
    result = CliRunner().invoke(invoiceninja, ["status"])
    assert result.exit_code == 0 and result.output == "connected: Demo MSP Ltd\n"


def test_the_cli_status_says_not_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("INVOICENINJA_URL", raising=False)
    wiring.reset()
    result = CliRunner().invoke(invoiceninja, ["status"])
    assert result.exit_code == 2 and "not configured" in result.output


def test_the_cli_pushes_a_project_and_then_reports_already_pushed(
    ports: PortalPorts, stand_in: StandIn
) -> None:
    project_id = _billable_project(ports)
    runner = CliRunner()
    args = ["push", "--org", ORG, "--project", project_id, "--as", "invoice", "--json"]
    first = runner.invoke(invoiceninja, args, obj=ports)
    assert first.exit_code == 0, first.output
    assert json.loads(first.output)["outcome"] == "created"
    again = runner.invoke(invoiceninja, args[:-1], obj=ports)
    assert again.exit_code == 0 and "already pushed" in again.output
    assert stand_in.token not in first.output + again.output


def test_the_cli_push_refuses_bad_arguments(ports: PortalPorts) -> None:
    runner = CliRunner()
    both = runner.invoke(
        invoiceninja, ["push", "--org", ORG, "--project", "a", "--ticket", "b"], obj=ports
    )
    assert both.exit_code == 2 and "exactly one" in both.output
    unknown = runner.invoke(
        invoiceninja, ["push", "--org", ORG, "--project", "prj-nope"], obj=ports
    )
    assert unknown.exit_code == 1 and "no project 'prj-nope'" in unknown.output


def test_an_idempotency_key_header_replays_the_first_push(
    ports: PortalPorts, stand_in: StandIn
) -> None:
    client = _app(ports)
    project_id = _billable_project(ports)
    headers = {"Idempotency-Key": "portal-req-7"}
    first = client.post(
        "/api/billing/invoiceninja/push", json={"projectId": project_id}, headers=headers
    )
    again = client.post(
        "/api/billing/invoiceninja/push", json={"projectId": project_id}, headers=headers
    )
    assert first.json()["outcome"] == "created"
    assert again.json()["outcome"] == "already_pushed"
    assert again.json()["documentId"] == first.json()["documentId"]
    too_long = client.post(
        "/api/billing/invoiceninja/push",
        json={"projectId": project_id},
        headers={"Idempotency-Key": "k" * 65},
    )
    assert too_long.status_code == 422


def test_a_wrong_configuration_is_reported_not_raised(ports: PortalPorts) -> None:
    def misconfigured() -> None:
        raise InvoiceNinjaError(Problem.CONFIG, "the token parameter '/x' could not be read")

    client = _app(ports)
    client.app.dependency_overrides[get_api_opener] = lambda: misconfigured  # type: ignore[attr-defined]
    status = client.get("/api/billing/invoiceninja/status").json()
    assert (status["state"], status["problem"]) == ("unreachable", "config")
    listing = client.get("/api/billing/invoices")
    assert listing.status_code == 503 and listing.json()["detail"]["problem"] == "config"
