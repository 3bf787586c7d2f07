"""The DynamoDB store of the InvoiceNinja sync against the local stack: reads by key,
conditional claims and locks, and concurrent first pushes through the real store."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import SecretStr

from psa_billing.dal.invoiceninja_store import DynamoInvoiceNinjaStore
from psa_billing.domain.model import Period
from psa_billing.invoiceninja.client import InvoiceNinjaClient
from psa_billing.invoiceninja.errors import PushInProgressError
from psa_billing.invoiceninja.ports import PushRecord, Source
from psa_billing.invoiceninja.push import Clock, push
from psa_billing.invoiceninja.settings import InvoiceNinjaSettings, load_config
from psa_billing_dev.demo import demo_document
from psa_billing_dev.invoiceninja_fakes import MemoryPortal
from psa_billing_dev.invoiceninja_standin import StandIn, start

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
STALE = NOW - timedelta(minutes=2)


@pytest.fixture
def store(local_stack: Any) -> DynamoInvoiceNinjaStore:
    from psa_billing import config
    from psa_billing.invoiceninja import wiring

    config.clear_cache()
    wiring.reset()
    s = config.storage()
    assert wiring.store()._region == s.aws_default_region
    return DynamoInvoiceNinjaStore(s.data_table, s.aws_default_region)


def test_a_client_claim_is_taken_once_until_it_goes_stale(
    store: DynamoInvoiceNinjaStore, org_id: str
) -> None:
    assert store.claim_client(org_id, "c1", "claim-a", NOW, STALE)
    assert not store.claim_client(org_id, "c1", "claim-b", NOW, STALE)
    later = NOW + timedelta(minutes=3)
    assert store.claim_client(org_id, "c1", "claim-c", later, later - timedelta(minutes=2))
    with pytest.raises(PushInProgressError):
        store.complete_client(org_id, "c1", "claim-a", "IN-1")
    store.complete_client(org_id, "c1", "claim-c", "IN-1")
    mapping = store.client_mapping(org_id, "c1")
    assert mapping is not None and mapping.in_client_id == "IN-1" and mapping.claim_id is None
    far = NOW + timedelta(days=1)
    assert not store.claim_client(org_id, "c1", "claim-d", far, far)  # a mapping is final
    assert store.client_mappings(org_id) == {"IN-1": "c1"}
    assert store.client_mapping(org_id, "other") is None


def test_a_push_lock_is_exclusive_and_released_with_the_record(
    store: DynamoInvoiceNinjaStore, org_id: str
) -> None:
    src = Source("project", "prj-1")
    assert store.lock_source(org_id, src, "l1", NOW, STALE)
    assert not store.lock_source(org_id, src, "l2", NOW, STALE)
    record = PushRecord("k1", src, "invoice", "INV-1", "0001", "IN-1", ("te-1", "te-2"), NOW)
    with pytest.raises(PushInProgressError):
        store.record_push(org_id, record, "l2")
    store.record_push(org_id, record, "l1")
    assert store.pushes(org_id, src) == [record]
    assert store.lock_source(org_id, src, "l3", NOW, STALE)
    store.unlock_source(org_id, src, "someone-else")  # not the holder: nothing happens
    assert not store.lock_source(org_id, src, "l4", NOW, STALE)
    store.unlock_source(org_id, src, "l3")
    assert store.lock_source(org_id, src, "l5", NOW, STALE)
    assert store.pushes(org_id, Source("ticket", "prj-1")) == []


@pytest.fixture
def stand_in() -> Iterator[StandIn]:
    s = start(seeded=False)
    try:
        yield s
    finally:
        s.stop()


def test_concurrent_first_pushes_through_dynamodb_make_one_client_and_no_double_invoice(
    store: DynamoInvoiceNinjaStore, org_id: str, stand_in: StandIn
) -> None:
    portal = MemoryPortal(demo_document(25, 7, Period(2026, 11), org_id=org_id))

    def has_time(src: Source) -> bool:
        return any(e.billable for e in portal.time_entries(org_id, src))

    project, ticket = next(
        (Source("project", p.id), Source("ticket", t))
        for p in portal.projects(org_id)
        if portal.project(org_id, p.id).billable  # type: ignore[union-attr]
        and has_time(Source("project", p.id))
        for t in sorted({e.ticket_id for e in portal.entries if e.ticket_id})
        if portal.ticket(org_id, t).customer_id == p.customer_id  # type: ignore[union-attr]
        and has_time(Source("ticket", t))
    )
    customer = portal.project(org_id, project.id).customer_id  # type: ignore[union-attr]
    config = load_config(
        InvoiceNinjaSettings(url=stand_in.url, token=SecretStr(stand_in.token), deadline_seconds=10)
    )
    assert config is not None
    api = InvoiceNinjaClient(config)
    stand_in.state.create_delay = 0.3
    clock = Clock(now=lambda: datetime.now(UTC), sleep=lambda s: time.sleep(min(s, 0.1)))
    outcomes: list[Any] = []
    barrier = threading.Barrier(3)

    def run(src: Source) -> None:
        barrier.wait()
        try:
            outcomes.append(
                push(org_id, src, "invoice", work=portal, store=store, api=api, clock=clock)
            )
        except PushInProgressError as exc:
            outcomes.append(exc)

    # A project and a ticket of one customer, and the project a second time, all at once.
    sources = [project, ticket, project]
    threads = [threading.Thread(target=run, args=(s,)) for s in sources]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # The second push of the project either found it locked or (if it came late) pushed.
    created = [o for o in outcomes if not isinstance(o, Exception) and o.outcome == "created"]
    late = [o for o in outcomes if o not in created]
    assert len(late) == 1
    assert isinstance(late[0], PushInProgressError) or late[0].outcome == "already_pushed"
    assert len(stand_in.state.calls("POST", "clients")) == 1
    assert len({o.record.in_client_id for o in created}) == 1
    assert len(stand_in.state.calls("POST", "invoices")) == 2
    assert sorted(o.record.source.kind for o in created) == ["project", "ticket"]
    assert store.client_mappings(org_id) == {created[0].record.in_client_id: customer}
    again = push(
        org_id,
        project,
        "invoice",
        work=portal,
        store=store,
        api=api,
        clock=clock,
    )
    assert again.outcome == "already_pushed"
    assert len(stand_in.state.calls("POST", "invoices")) == 2


def test_the_token_is_read_from_an_ssm_securestring_through_powertools(
    local_stack: Any, stand_in: StandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    import boto3

    from psa_billing.invoiceninja import wiring
    from psa_billing.invoiceninja.connection import check_connection

    name = f"/psa-billing/test/{stand_in.token[:8]}/invoiceninja-token"
    boto3.client("ssm").put_parameter(Name=name, Value=stand_in.token, Type="SecureString")
    monkeypatch.setenv("INVOICENINJA_URL", stand_in.url)
    monkeypatch.delenv("INVOICENINJA_TOKEN", raising=False)
    monkeypatch.setenv("INVOICENINJA_TOKEN_PARAMETER", name)
    wiring.reset()
    try:
        status = check_connection(wiring.api_client)
        assert (status.state, status.company_name) == ("connected", "Demo MSP Ltd")
        monkeypatch.setenv("INVOICENINJA_TOKEN_PARAMETER", name + "-missing")
        wiring.reset()
        missing = check_connection(wiring.api_client)
        assert (missing.state, missing.problem) == ("unreachable", "config")
        assert stand_in.token not in repr(missing)
    finally:
        wiring.reset()


def test_an_unfinished_client_claim_can_be_released_only_by_its_holder(
    store: DynamoInvoiceNinjaStore, org_id: str
) -> None:
    assert store.claim_client(org_id, "c9", "holder", NOW, STALE)
    store.release_client(org_id, "c9", "not-the-holder")
    assert not store.claim_client(org_id, "c9", "other", NOW, STALE)
    store.release_client(org_id, "c9", "holder")
    assert store.client_mapping(org_id, "c9") is None
    assert store.claim_client(org_id, "c9", "next", NOW, STALE)
    store.complete_client(org_id, "c9", "next", "IN-9")
    store.release_client(org_id, "c9", "next")  # a stored mapping is never released
    mapping = store.client_mapping(org_id, "c9")
    assert mapping is not None and mapping.in_client_id == "IN-9"
