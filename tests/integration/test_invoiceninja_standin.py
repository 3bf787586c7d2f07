"""The client and the use cases over real HTTP, against the local InvoiceNinja stand-in:
paging, faults, the connection tester's three states, the live list and pushes."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from pydantic import SecretStr

from psa_billing.domain.model import Period, TimeEntry
from psa_billing.invoiceninja.client import InvoiceNinjaClient
from psa_billing.invoiceninja.connection import check_connection
from psa_billing.invoiceninja.errors import (
    InvoiceNinjaError,
    NotBillableError,
    NothingToPushError,
    Problem,
    PushInProgressError,
    PushOutcomeUnknownError,
)
from psa_billing.invoiceninja.listing import list_documents
from psa_billing.invoiceninja.ports import Source
from psa_billing.invoiceninja.push import Clock, push
from psa_billing.invoiceninja.settings import InvoiceNinjaSettings, load_config
from psa_billing_dev.demo import demo_document
from psa_billing_dev.invoiceninja_fakes import MemoryPortal, MemoryStore
from psa_billing_dev.invoiceninja_standin import StandIn, start

ORG = "demo-msp"


@pytest.fixture
def stand_in() -> Iterator[StandIn]:
    s = start()
    try:
        yield s
    finally:
        s.stop()


def _client(s: StandIn, token: str | None = None, **settings: Any) -> InvoiceNinjaClient:
    values: dict[str, Any] = {
        "url": s.url,
        "token": SecretStr(token or s.token),
        "read_timeout_seconds": 0.5,
        "connect_timeout_seconds": 0.5,
        "deadline_seconds": 4.0,
        "page_size": 50,
    }
    values.update(settings)
    config = load_config(InvoiceNinjaSettings(**values))
    assert config is not None
    return InvoiceNinjaClient(config, sleep=lambda s: time.sleep(min(s, 0.05)))


@pytest.fixture
def portal(stand_in: StandIn) -> MemoryPortal:
    today = stand_in.state.today
    return MemoryPortal(demo_document(25, 7, Period.before(today), org_id=ORG))


def _active(s: StandIn, kind: str = "invoices") -> list[dict[str, Any]]:
    table = s.state.invoices if kind == "invoices" else s.state.quotes
    return [r for r in table.values() if not r["archived_at"] and not r["is_deleted"]]


# -- reading ---------------------------------------------------------------------------


def test_one_thousand_invoices_over_many_pages_are_all_listed_once(stand_in: StandIn) -> None:
    stand_in.state.add_invoices(1000 - len(_active(stand_in)), seed=3)
    client = _client(stand_in, page_size=37)
    docs = client.list_documents("invoice")
    assert len(docs) == 1000
    assert len({d.id for d in docs}) == 1000
    assert {d.id for d in docs} == {r["id"] for r in _active(stand_in)}
    pages = stand_in.state.calls("GET", "invoices")
    assert sorted(int(q["page"]) for q in pages) == list(range(1, 29))  # ceil(1000 / 37)
    assert all(q["sort"] == "id|asc" and q["per_page"] == "37" for q in pages)


def test_archived_and_deleted_rows_are_not_listed(stand_in: StandIn) -> None:
    listed = {d.id for d in _client(stand_in).list_documents("invoice")}
    hidden = {r["id"] for r in stand_in.state.invoices.values() if r["archived_at"]}
    assert hidden and not (listed & hidden)


def test_money_is_exact_whether_sent_as_ints_floats_or_strings(stand_in: StandIn) -> None:
    client = _client(stand_in)
    as_numbers = {d.id: (d.amount, d.balance) for d in client.list_documents("invoice")}
    stand_in.state.money_style = "string"
    as_strings = {d.id: (d.amount, d.balance) for d in client.list_documents("invoice")}
    expected = {r["id"]: (r["amount"], r["balance"]) for r in _active(stand_in)}
    assert as_numbers == as_strings == expected
    assert any(a != a.to_integral_value() for a, _ in as_numbers.values())  # floats were sent
    assert all(isinstance(a, Decimal) for a, _ in as_numbers.values())


def test_a_429_then_a_502_are_retried_and_the_list_still_comes_back(stand_in: StandIn) -> None:
    stand_in.state.fail_next("429", path="invoices")
    stand_in.state.fail_next("502", path="invoices")
    docs = _client(stand_in).list_documents("invoice")
    assert len(docs) == len(_active(stand_in))
    assert len(stand_in.state.calls("GET", "invoices")) == 3


def test_a_server_that_keeps_failing_gives_a_server_error_in_words(stand_in: StandIn) -> None:
    stand_in.state.fail_next("html502", times=5)
    with pytest.raises(InvoiceNinjaError) as err:
        _client(stand_in).list_documents("invoice")
    assert err.value.problem == Problem.SERVER_ERROR and "502" in err.value.message


def test_a_hung_request_times_out_and_is_retried(stand_in: StandIn) -> None:
    stand_in.state.hang_seconds = 2.0
    stand_in.state.fail_next("hang", path="ping")
    started = time.monotonic()
    assert _client(stand_in).ping().company_name == "Demo MSP Ltd"
    assert time.monotonic() - started < 2.0


def test_a_slow_invoiceninja_fails_the_list_at_the_deadline_not_later(stand_in: StandIn) -> None:
    # Every request, every page, within the 0.5 s read timeout: 24 pages take about 2 s.
    stand_in.state.delay = 0.3
    client = _client(stand_in, deadline_seconds=1.0, page_size=2)
    started = time.monotonic()
    with pytest.raises(InvoiceNinjaError) as err:
        client.list_documents("invoice")
    elapsed = time.monotonic() - started
    assert err.value.problem == Problem.DEADLINE
    assert "1 s" in err.value.message
    assert 0.9 < elapsed < 2.0


def test_a_dripping_answer_is_cut_off_at_the_deadline(stand_in: StandIn) -> None:
    stand_in.state.drip_seconds = 0.2  # each byte within the read timeout, forever
    stand_in.state.fail_next("drip", path="invoices")
    started = time.monotonic()
    with pytest.raises(InvoiceNinjaError) as err:
        _client(stand_in, deadline_seconds=1.0).list_documents("invoice")
    assert err.value.problem == Problem.DEADLINE
    assert time.monotonic() - started < 2.0


@pytest.mark.parametrize(
    ("fault", "problem"),
    [
        ("malformed", Problem.NOT_INVOICENINJA),
        ("html200", Problem.NOT_INVOICENINJA),
        ("403user", Problem.FORBIDDEN),
    ],
)
def test_bad_answers_fail_clearly(stand_in: StandIn, fault: Any, problem: Problem) -> None:
    stand_in.state.fail_next(fault)
    with pytest.raises(InvoiceNinjaError) as err:
        _client(stand_in).ping()
    assert err.value.problem == problem


# -- the connection tester -------------------------------------------------------------


def test_connection_tester_not_configured() -> None:
    status = check_connection(lambda: None)
    assert status.state == "not_configured"


def test_connection_tester_connected_with_the_company_name(stand_in: StandIn) -> None:
    status = check_connection(lambda: _client(stand_in))
    assert (status.state, status.company_name) == ("connected", "Demo MSP Ltd")


def test_connection_tester_names_a_bad_token_and_never_shows_it(stand_in: StandIn) -> None:
    wrong = "wrong-token-abc123"
    status = check_connection(lambda: _client(stand_in, token=wrong))
    assert (status.state, status.problem) == ("unreachable", "bad_token")
    assert "token" in (status.message or "")
    assert wrong not in repr(status) and stand_in.token not in repr(status)


def test_connection_tester_names_a_refused_connection(stand_in: StandIn) -> None:
    url = stand_in.url
    stand_in.stop()
    status = check_connection(lambda: _client(replace(stand_in, url=url)))
    assert (status.state, status.problem) == ("unreachable", "connection_refused")


def test_connection_tester_names_a_dns_failure(stand_in: StandIn) -> None:
    status = check_connection(
        lambda: _client(stand_in, url="http://no-such-host.invalid", deadline_seconds=3.0)
    )
    assert (status.state, status.problem) == ("unreachable", "dns")
    assert "DNS" in (status.message or "")


def test_connection_tester_names_a_tls_failure(stand_in: StandIn) -> None:
    # https to a plain-HTTP port: the TLS handshake fails.
    https = stand_in.url.replace("http://", "https://")
    status = check_connection(lambda: _client(stand_in, url=https))
    assert (status.state, status.problem) == ("unreachable", "tls")
    assert "TLS" in (status.message or "")


def test_connection_tester_names_a_wrong_configuration() -> None:
    def open_api() -> None:
        load_config(InvoiceNinjaSettings(url="ftp://x", token=SecretStr("t")))

    status = check_connection(open_api)
    assert (status.state, status.problem) == ("unreachable", "config")
    assert "http" in (status.message or "")


# -- the live list ---------------------------------------------------------------------


def test_the_list_joins_rows_to_portal_customers_and_projects(
    stand_in: StandIn, portal: MemoryPortal
) -> None:
    listing = list_documents(
        ORG,
        "invoice",
        api=_client(stand_in),
        directory=portal,
        store=MemoryStore(),
        today=stand_in.state.today,
    )
    assert len(listing.rows) == len(_active(stand_in))
    codes = {p.code: p.id for p in portal.projects(ORG)}
    names = {c.id: c.name for c in portal.customers(ORG)}
    walk_in = [r for r in listing.rows if r.customer_name == "Walk-in Repairs"]
    assert walk_in and all(r.customer_id is None for r in walk_in)
    mapped = [r for r in listing.rows if r.customer_id]
    assert mapped and all(names[r.customer_id] == r.customer_name for r in mapped if r.customer_id)
    linked = [r for r in listing.rows if r.project_id]
    assert linked and all(codes[r.reference] == r.project_id for r in linked)
    row = listing.rows[0]
    assert row.url == f"{stand_in.url}/#/invoices/{row.id}/edit"
    assert {r.currency for r in listing.rows} >= {"GBP", "JPY"}
    jpy = [r for r in listing.rows if r.currency == "JPY"]
    assert all(r.amount == r.amount.to_integral_value() for r in jpy)


def test_kpis_cover_invoices_and_quotes_per_currency(
    stand_in: StandIn, portal: MemoryPortal
) -> None:
    listing = list_documents(
        ORG,
        "quote",
        api=_client(stand_in),
        directory=portal,
        store=MemoryStore(),
        today=date.today(),
    )
    assert all(r.kind == "quote" for r in listing.rows)
    by = {t.currency: t for t in listing.totals}
    for code, totals in by.items():
        invoices = [
            r
            for r in _active(stand_in)
            if stand_in.state.clients[r["_client_n"]]["settings"]["currency_id"]
            == {"GBP": "2", "EUR": "3", "USD": "1", "JPY": "45", "BHD": "98", "KWD": "99"}[code]
            and r["status_id"] not in ("5", "6")
        ]
        assert totals.invoice_count == len(invoices)
        assert totals.invoice_total == sum((r["amount"] for r in invoices), Decimal(0))
    assert sum(t.quote_count for t in listing.totals) == len(_active(stand_in, "quotes"))


def test_unknown_status_ids_show_as_unknown_without_failing_the_page(
    stand_in: StandIn, portal: MemoryPortal
) -> None:
    first = next(iter(_active(stand_in)))
    first["status_id"] = "42"
    quote = next(iter(_active(stand_in, "quotes")))
    quote["status_id"] = "8"
    api = _client(stand_in)
    invoices = list_documents(
        ORG, "invoice", api=api, directory=portal, store=MemoryStore(), today=date.today()
    )
    quotes = list_documents(
        ORG, "quote", api=api, directory=portal, store=MemoryStore(), today=date.today()
    )
    assert next(r for r in invoices.rows if r.id == first["id"]).status == "Unknown"
    assert next(r for r in quotes.rows if r.id == quote["id"]).status == "Unknown"


def test_expired_quotes_and_overdue_invoices_are_marked(
    stand_in: StandIn, portal: MemoryPortal
) -> None:
    client = next(iter(stand_in.state.clients.values()))
    today = stand_in.state.today
    past = date.fromordinal(today.toordinal() - 3)
    quote = stand_in.state.add_document("quote", client, amount="10", status_id="2", due=past)
    invoice = stand_in.state.add_document("invoice", client, amount="10", status_id="2", due=past)
    api = _client(stand_in)
    quotes = list_documents(
        ORG, "quote", api=api, directory=portal, store=MemoryStore(), today=today
    )
    invoices = list_documents(
        ORG, "invoice", api=api, directory=portal, store=MemoryStore(), today=today
    )
    assert next(r for r in quotes.rows if r.id == quote["id"]).status == "Expired"
    row = next(r for r in invoices.rows if r.id == invoice["id"])
    assert (row.status, row.overdue) == ("Sent", True)


# -- pushes ----------------------------------------------------------------------------


def _clock() -> Clock:
    return Clock(now=lambda: datetime.now(UTC), sleep=lambda s: time.sleep(min(s, 0.05)))


def _billable_project(portal: MemoryPortal, *, unmapped_in: StandIn | None = None) -> Any:
    """A billable project with billable time (of a customer with no client yet, if asked)."""
    known = {c["id_number"] for c in unmapped_in.state.clients.values()} if unmapped_in else set()
    for p in portal.projects(ORG):
        project = portal.project(ORG, p.id)
        assert project is not None
        if f"{ORG}:{project.customer_id}" in known:
            continue
        entries = [e for e in portal.time_entries(ORG, Source("project", p.id)) if e.billable]
        if project.billable and entries:
            return project
    pytest.skip("the demo data has no such project")


def test_a_first_push_creates_the_client_and_an_invoice_with_the_projects_time(
    stand_in: StandIn, portal: MemoryPortal
) -> None:
    project = _billable_project(portal, unmapped_in=stand_in)
    store = MemoryStore()
    before = len(stand_in.state.clients)
    result = push(
        ORG,
        Source("project", project.id),
        "invoice",
        work=portal,
        store=store,
        api=_client(stand_in),
        clock=_clock(),
    )
    assert result.outcome == "created" and result.client_created
    assert len(stand_in.state.clients) == before + 1
    made = next(r for r in stand_in.state.invoices.values() if r["id"] == result.record.document_id)
    assert made["po_number"] == project.code
    entries = [e for e in portal.time_entries(ORG, Source("project", project.id)) if e.billable]
    assert sorted(i["custom_value1"] for i in made["line_items"]) == sorted(e.id for e in entries)
    customer = portal.customer(ORG, project.customer_id)
    assert customer is not None
    rate = project.hourly_rate or customer.billing.default_hourly_rate
    assert all(Decimal(str(i["cost"])) == rate for i in made["line_items"])
    client = next(
        c for c in stand_in.state.clients.values() if c["id"] == result.record.in_client_id
    )
    assert client["id_number"] == f"{ORG}:{project.customer_id}"
    assert store.client_mapping(ORG, project.customer_id).in_client_id == client["id"]  # type: ignore[union-attr]
    assert result.url == f"{stand_in.url}/#/invoices/{made['id']}/edit"


def test_pushing_the_same_project_twice_makes_one_invoice(
    stand_in: StandIn, portal: MemoryPortal
) -> None:
    project = _billable_project(portal)
    store = MemoryStore()
    api = _client(stand_in)
    first = push(
        ORG,
        Source("project", project.id),
        "invoice",
        work=portal,
        store=store,
        api=api,
        clock=_clock(),
    )
    count = len(stand_in.state.invoices)
    again = push(
        ORG,
        Source("project", project.id),
        "invoice",
        work=portal,
        store=store,
        api=api,
        clock=_clock(),
    )
    assert again.outcome == "already_pushed"
    assert again.record.document_id == first.record.document_id
    assert len(stand_in.state.invoices) == count


def test_new_time_after_a_push_goes_on_a_new_invoice_and_old_time_never_again(
    stand_in: StandIn, portal: MemoryPortal
) -> None:
    project = _billable_project(portal)
    store = MemoryStore()
    api = _client(stand_in)
    src = Source("project", project.id)
    first = push(ORG, src, "invoice", work=portal, store=store, api=api, clock=_clock())
    portal.add_entry(
        TimeEntry(
            "te-new-1", date(2026, 11, 28), 60, True, project_id=project.id, description="Go-live"
        )
    )
    second = push(ORG, src, "invoice", work=portal, store=store, api=api, clock=_clock())
    assert second.outcome == "created" and second.record.entry_ids == ("te-new-1",)
    assert second.record.document_id != first.record.document_id
    assert second.record.in_client_id == first.record.in_client_id
    made = next(r for r in stand_in.state.invoices.values() if r["id"] == second.record.document_id)
    assert [i["custom_value1"] for i in made["line_items"]] == ["te-new-1"]


def test_a_project_can_be_pushed_as_a_quote(stand_in: StandIn, portal: MemoryPortal) -> None:
    project = _billable_project(portal)
    result = push(
        ORG,
        Source("project", project.id),
        "quote",
        work=portal,
        store=MemoryStore(),
        api=_client(stand_in),
        clock=_clock(),
    )
    assert result.record.document_kind == "quote"
    assert any(q["id"] == result.record.document_id for q in stand_in.state.quotes.values())
    assert "/#/quotes/" in result.url


def test_a_ticket_is_pushed_as_an_invoice_referencing_the_ticket_id(
    stand_in: StandIn, portal: MemoryPortal
) -> None:
    entry = next(e for e in portal.entries if e.ticket_id and e.billable)
    assert entry.ticket_id is not None
    result = push(
        ORG,
        Source("ticket", entry.ticket_id),
        "invoice",
        work=portal,
        store=MemoryStore(),
        api=_client(stand_in),
        clock=_clock(),
    )
    made = next(r for r in stand_in.state.invoices.values() if r["id"] == result.record.document_id)
    assert made["po_number"] == entry.ticket_id


def test_a_project_that_is_not_billable_or_has_no_time_is_refused(
    stand_in: StandIn, portal: MemoryPortal
) -> None:
    api = _client(stand_in)
    not_billable = next(
        p
        for p in portal.projects(ORG)
        if not portal.project(ORG, p.id).billable  # type: ignore[union-attr]
    )
    with pytest.raises(NotBillableError):
        push(
            ORG,
            Source("project", not_billable.id),
            "invoice",
            work=portal,
            store=MemoryStore(),
            api=api,
            clock=_clock(),
        )
    idle = next(
        p
        for p in portal.projects(ORG)
        if portal.project(ORG, p.id).billable  # type: ignore[union-attr]
        and not [e for e in portal.time_entries(ORG, Source("project", p.id)) if e.billable]
    )
    with pytest.raises(NothingToPushError):
        push(
            ORG,
            Source("project", idle.id),
            "invoice",
            work=portal,
            store=MemoryStore(),
            api=api,
            clock=_clock(),
        )
    assert stand_in.state.calls("POST", "invoices") == []


def test_two_concurrent_first_pushes_for_one_customer_make_one_client(
    stand_in: StandIn, portal: MemoryPortal
) -> None:
    project = _billable_project(portal, unmapped_in=stand_in)
    ticket_entry = next(
        (
            e
            for e in portal.entries
            if e.ticket_id
            and e.billable
            and portal.ticket(ORG, e.ticket_id).customer_id == project.customer_id  # type: ignore[union-attr]
        ),
        None,
    )
    if ticket_entry is None or ticket_entry.ticket_id is None:
        pytest.skip("the customer has no billable ticket time")
    stand_in.state.create_delay = 0.3  # both pushes are inside the race window together
    store = MemoryStore()
    api = _client(stand_in, deadline_seconds=10.0)
    results: list[Any] = []
    sources = [Source("project", project.id), Source("ticket", ticket_entry.ticket_id)]
    barrier = threading.Barrier(2)

    def run(src: Source) -> None:
        barrier.wait()
        results.append(push(ORG, src, "invoice", work=portal, store=store, api=api, clock=_clock()))

    threads = [threading.Thread(target=run, args=(s,)) for s in sources]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 2
    assert len(stand_in.state.calls("POST", "clients")) == 1
    assert results[0].record.in_client_id == results[1].record.in_client_id
    assert [r.client_created for r in results].count(True) == 1


def test_two_concurrent_pushes_of_one_project_make_one_invoice(
    stand_in: StandIn, portal: MemoryPortal
) -> None:
    project = _billable_project(portal)
    stand_in.state.create_delay = 0.3
    store = MemoryStore()
    api = _client(stand_in, deadline_seconds=10.0)
    outcomes: list[str] = []
    barrier = threading.Barrier(2)

    def run() -> None:
        barrier.wait()
        try:
            result = push(
                ORG,
                Source("project", project.id),
                "invoice",
                work=portal,
                store=store,
                api=api,
                clock=_clock(),
            )
            outcomes.append(result.outcome)
        except PushInProgressError:
            outcomes.append("in progress")

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # The loser finds the lock held (or, when it comes late, the finished push).
    assert sorted(outcomes) in (["created", "in progress"], ["already_pushed", "created"])
    assert len(stand_in.state.calls("POST", "invoices")) == 1


def test_a_push_that_died_after_creating_its_invoice_is_repaired_not_repeated(
    stand_in: StandIn, portal: MemoryPortal
) -> None:
    project = _billable_project(portal)
    src = Source("project", project.id)
    api = _client(stand_in)

    class LosesTheRecord(MemoryStore):
        def record_push(self, org_id: str, record: Any, claim_id: str) -> None:
            raise RuntimeError("the function was killed here")

    store = LosesTheRecord()
    with pytest.raises(RuntimeError):
        push(ORG, src, "invoice", work=portal, store=store, api=api, clock=_clock())
    assert len(stand_in.state.calls("POST", "invoices")) == 1
    healthy = MemoryStore()
    healthy.mappings = store.mappings
    result = push(ORG, src, "invoice", work=portal, store=healthy, api=api, clock=_clock())
    assert result.outcome == "created"
    assert len(stand_in.state.calls("POST", "invoices")) == 1  # found by its marker


def test_an_idempotency_key_replays_the_first_answer(
    stand_in: StandIn, portal: MemoryPortal
) -> None:
    project = _billable_project(portal)
    src = Source("project", project.id)
    store = MemoryStore()
    api = _client(stand_in)
    first = push(
        ORG,
        src,
        "invoice",
        work=portal,
        store=store,
        api=api,
        clock=_clock(),
        idempotency_key="req-1",
    )
    portal.add_entry(TimeEntry("te-late", date(2026, 11, 29), 30, True, project_id=project.id))
    again = push(
        ORG,
        src,
        "invoice",
        work=portal,
        store=store,
        api=api,
        clock=_clock(),
        idempotency_key="req-1",
    )
    assert again.outcome == "already_pushed" and again.record == first.record


def test_the_same_idempotency_key_on_two_projects_makes_two_invoices(
    stand_in: StandIn, portal: MemoryPortal
) -> None:
    billable = [
        p.id
        for p in portal.projects(ORG)
        if portal.project(ORG, p.id).billable  # type: ignore[union-attr]
        and any(e.billable for e in portal.time_entries(ORG, Source("project", p.id)))
    ]
    store = MemoryStore()
    api = _client(stand_in)
    docs = {
        push(
            ORG,
            Source("project", pid),
            "invoice",
            work=portal,
            store=store,
            api=api,
            clock=_clock(),
            idempotency_key="same",
        ).record.document_id
        for pid in billable[:2]
    }
    assert len(billable) >= 2 and len(docs) == 2


def test_a_failed_first_push_frees_the_customer_for_the_next_push(
    stand_in: StandIn, portal: MemoryPortal
) -> None:
    project = _billable_project(portal, unmapped_in=stand_in)
    store = MemoryStore()
    api = _client(stand_in)
    stand_in.state.fail_next("500", path="clients", method="POST")  # creates are not retried
    with pytest.raises(InvoiceNinjaError) as err:
        push(
            ORG,
            Source("project", project.id),
            "invoice",
            work=portal,
            store=store,
            api=api,
            clock=_clock(),
        )
    assert err.value.problem == Problem.SERVER_ERROR
    assert store.client_mapping(ORG, project.customer_id) is None
    result = push(
        ORG,
        Source("project", project.id),
        "invoice",
        work=portal,
        store=store,
        api=api,
        clock=_clock(),
    )
    assert result.outcome == "created" and result.client_created


def test_a_push_whose_create_timed_out_is_held_then_not_made_twice(
    stand_in: StandIn, portal: MemoryPortal
) -> None:
    project = _billable_project(portal)
    src = Source("project", project.id)
    store = MemoryStore()
    slow = _client(stand_in, deadline_seconds=1.0)
    stand_in.state.create_delay = 1.5  # InvoiceNinja makes the invoice after we gave up
    started = time.monotonic()
    with pytest.raises(PushOutcomeUnknownError, match="again in 2 minutes"):
        push(ORG, src, "invoice", work=portal, store=store, api=slow, clock=_clock())
    assert time.monotonic() - started < 2.0
    # An immediate retry would race the create still running in InvoiceNinja: it is held.
    api = _client(stand_in)
    with pytest.raises(PushInProgressError):
        push(ORG, src, "invoice", work=portal, store=store, api=api, clock=_clock())
    time.sleep(1.0)
    made = len(stand_in.state.invoices)
    later = Clock(now=lambda: datetime.now(UTC) + timedelta(minutes=3), sleep=lambda s: None)
    result = push(ORG, src, "invoice", work=portal, store=store, api=api, clock=later)
    assert result.outcome == "created"
    assert len(stand_in.state.invoices) == made  # the late invoice was found by its marker
    assert len(stand_in.state.calls("POST", "invoices")) == 1


# -- the stand-in itself answers like v5 (invoiceninja-api.md) ------------------------


def test_the_stand_in_pages_like_fractal_and_its_links_drop_the_query(stand_in: StandIn) -> None:
    import httpx

    headers = {"X-API-TOKEN": stand_in.token, "X-Requested-With": "XMLHttpRequest"}
    url = f"{stand_in.url}/api/v1/invoices"
    first = httpx.get(
        url, params={"per_page": 5, "status": "active", "sort": "id|asc"}, headers=headers
    )
    page = first.json()["meta"]["pagination"]
    assert (page["per_page"], page["current_page"], page["count"]) == (5, 1, 5)
    assert page["links"] == {"next": f"{url}?page=2"}  # per_page, status and sort are gone
    assert "\\/" in first.text  # JSON_PRETTY_PRINT escapes slashes
    assert (
        httpx.get(url, params={"per_page": 0}, headers=headers).json()["meta"]["pagination"][
            "per_page"
        ]
        == 15
    )
    assert (
        httpx.get(url, params={"per_page": 9000}, headers=headers).json()["meta"]["pagination"][
            "per_page"
        ]
        == 5000
    )
    everything = httpx.get(url, params={"per_page": 500}, headers=headers).json()
    assert everything["meta"]["pagination"]["total"] > len(_active(stand_in))  # archived too


def test_the_stand_in_checks_the_token_and_answers_creates_with_200(stand_in: StandIn) -> None:
    import httpx

    url = f"{stand_in.url}/api/v1/clients"
    refused = httpx.get(url, headers={"X-API-TOKEN": "nope"})
    assert refused.status_code == 403 and refused.json() == {
        "message": "Invalid token",
        "errors": {},
    }
    headers = {"X-API-TOKEN": stand_in.token, "Accept": "application/json"}
    made = httpx.post(
        url, json={"name": "Acme", "id_number": "x:1", "currency_code": "EUR"}, headers=headers
    )
    assert made.status_code == 200 and made.json()["data"]["settings"]["currency_id"] == "3"
    again = httpx.post(url, json={"name": "Acme", "id_number": "x:1"}, headers=headers)
    assert again.status_code == 422 and "id_number" in again.json()["errors"]
    invoice = httpx.post(f"{stand_in.url}/api/v1/invoices", json={}, headers=headers)
    assert invoice.status_code == 422
    assert invoice.json()["errors"] == {"client_id": ["The client id field is required."]}
    no_json_headers = httpx.post(
        f"{stand_in.url}/api/v1/invoices", json={}, headers={"X-API-TOKEN": stand_in.token}
    )
    assert no_json_headers.status_code == 302  # Handler.php without expectsJson()
