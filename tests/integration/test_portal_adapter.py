"""The portal's records as the InvoiceNinja sync reads them from DynamoDB (DynamoPortal),
against the local stack: the same customers, projects and time entries the import
wrote, and a push of a project through them to the InvoiceNinja stand-in."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import SecretStr

from psa_billing import config
from psa_billing.dal.invoiceninja_store import DynamoInvoiceNinjaStore
from psa_billing.dal.portal import DynamoPortal
from psa_billing.domain.model import Period
from psa_billing.invoiceninja.client import InvoiceNinjaClient
from psa_billing.invoiceninja.ports import Source
from psa_billing.invoiceninja.push import Clock, push
from psa_billing.invoiceninja.settings import InvoiceNinjaSettings, load_config
from psa_billing_dev.invoiceninja_standin import StandIn, start
from tests.support import load_demo

pytestmark = pytest.mark.local_stack

PERIOD = Period(2026, 11)


@pytest.fixture
def stand_in() -> Iterator[StandIn]:
    s = start(seeded=False)
    try:
        yield s
    finally:
        s.stop()


def test_the_portal_adapter_reads_what_the_import_wrote(repo: Any, org_id: str) -> None:
    doc = load_demo(repo, org_id, customers=6, seed=41, period=PERIOD)
    portal = DynamoPortal()

    assert sorted((c.id, c.name) for c in portal.customers(org_id)) == sorted(
        (c["id"], c["name"]) for c in doc["customers"]
    )
    assert sorted((p.id, p.code) for p in portal.projects(org_id)) == sorted(
        (p["id"], p["code"]) for p in doc["projects"]
    )
    project = doc["projects"][0]
    entries = portal.time_entries(org_id, Source("project", project["id"]))
    assert sorted(e.id for e in entries) == sorted(
        e["id"] for e in doc["timeEntries"] if e.get("projectId") == project["id"]
    )
    assert portal.customer(org_id, "nope") is None
    assert portal.project(org_id, "nope") is None
    assert portal.time_entries(org_id, Source("ticket", "nope")) == []


def test_a_project_is_pushed_from_dynamodb_once(repo: Any, org_id: str, stand_in: StandIn) -> None:
    doc = load_demo(repo, org_id, customers=6, seed=42, period=PERIOD)
    portal = DynamoPortal()
    billable = {e["projectId"] for e in doc["timeEntries"] if e.get("projectId") and e["billable"]}
    project = next(p for p in doc["projects"] if p["billable"] and p["id"] in billable)
    s = config.storage()
    store = DynamoInvoiceNinjaStore(s.data_table, s.aws_default_region)
    settings = load_config(
        InvoiceNinjaSettings(url=stand_in.url, token=SecretStr(stand_in.token), token_parameter="")
    )
    assert settings is not None
    api = InvoiceNinjaClient(settings)
    clock = Clock(now=lambda: datetime.now(UTC), sleep=lambda x: time.sleep(min(x, 0.1)))
    source = Source("project", project["id"])

    first = push(org_id, source, "invoice", work=portal, store=store, api=api, clock=clock)
    again = push(org_id, source, "invoice", work=portal, store=store, api=api, clock=clock)

    assert first.outcome == "created" and again.outcome == "already_pushed"
    assert len(stand_in.state.calls("POST", "invoices")) == 1
    (invoice,) = stand_in.state.invoices.values()
    assert invoice["po_number"] == project["code"]
