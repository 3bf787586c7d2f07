"""Adjustments, send and resend, customer billing settings, organisation settings:
who did it is the signed-in user; retries with an Idempotency-Key change nothing."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from tests.integration.api.conftest import FakeWorkers, bearer
from tests.integration.api.seed import seed

CREDIT = {"kind": "credit", "amount": "10.00", "description": "Goodwill", "reason": "outage"}


def test_a_credit_note_is_appended_by_the_signed_in_user(
    http: Any, repo: Any, org_id: str, admin: Any, workers: FakeWorkers
) -> None:
    user, t = admin
    (st,) = seed(repo, org_id, ["c1"])
    resp = http.post(f"/api/billing/statements/{st.id}/adjustments", json=CREDIT, headers=t)
    assert resp.status_code == 201, resp.text
    body = resp.json()
    assert body["revision"] == 1
    assert body["adjustments"][0]["actor"] == user.email
    assert body["adjustments"][0]["amount"] == "10.00"
    assert body["original"]["total"] == st.public()["total"]
    assert body["lines"][-1]["amount"] == "-10.00"
    assert [e["event"] for e in body["history"]] == ["created", "adjusted"]
    assert workers.rendered == [(st.id, 1)]  # the new revision's PDF was asked for


def test_a_big_statements_adjusted_revision_is_rendered_on_its_first_pdf_request(
    http: Any, repo: Any, org_id: str, admin: Any, workers: FakeWorkers, monkeypatch: Any
) -> None:
    """logic/billing_api.INLINE_RENDER_MAX_LINES: past it, the adjusting request does
    not wait for the render function (it could outlast the API function); the PDF
    route renders the missing revision when it is first asked for."""
    from psa_billing.logic import billing_api

    _, t = admin
    (st,) = seed(repo, org_id, ["c1"])
    monkeypatch.setattr(billing_api, "INLINE_RENDER_MAX_LINES", len(st.lines) - 1)
    resp = http.post(f"/api/billing/statements/{st.id}/adjustments", json=CREDIT, headers=t)
    assert resp.status_code == 201, resp.text
    assert resp.json()["revision"] == 1
    assert workers.rendered == []
    pdf = http.get(f"/api/billing/statements/{st.id}/pdf", headers=t, follow_redirects=False)
    assert pdf.status_code == 302, pdf.text
    assert workers.rendered == [(st.id, 1)]


def test_an_edit_changes_one_line_and_keeps_the_original(
    http: Any, repo: Any, org_id: str, admin: Any, workers: FakeWorkers
) -> None:
    _, t = admin
    (st,) = seed(repo, org_id, ["c1"])
    line = st.lines[0]
    change = {"kind": "edit", "lineId": line.id, "description": "Renamed", "reason": "typo"}
    resp = http.post(f"/api/billing/statements/{st.id}/adjustments", json=change, headers=t)
    assert resp.status_code == 201, resp.text
    body = resp.json()
    assert body["lines"][0]["description"] == "Renamed"
    assert body["original"]["lines"][0]["description"] == line.description


def test_a_charge_adds_a_line(
    http: Any, repo: Any, org_id: str, admin: Any, workers: FakeWorkers
) -> None:
    _, t = admin
    (st,) = seed(repo, org_id, ["c1"])
    change = {
        "kind": "charge",
        "description": "On-site visit",
        "quantity": "2",
        "unitPrice": "45.00",
        "reason": "visit on the 3rd",
    }
    resp = http.post(f"/api/billing/statements/{st.id}/adjustments", json=change, headers=t)
    assert resp.status_code == 201, resp.text
    assert len(resp.json()["lines"]) == len(st.lines) + 1
    assert resp.json()["adjustments"][0]["kind"] == "charge"


@pytest.mark.parametrize(
    "change",
    [
        {"kind": "credit", "amount": "999999999.00", "description": "x", "reason": "y"},
        {"kind": "credit", "amount": "1.001", "description": "x", "reason": "y"},
        {"kind": "edit", "lineId": "L99", "description": "x", "reason": "y"},
        {"kind": "edit", "lineId": "L1", "reason": "nothing changes"},
        {"kind": "refund", "amount": "1.00", "reason": "y"},
    ],
    ids=["above-subtotal", "too-many-digits", "no-such-line", "empty-edit", "unknown-kind"],
)
def test_invalid_adjustments_are_422_and_append_nothing(
    http: Any, repo: Any, org_id: str, admin: Any, workers: FakeWorkers, change: dict[str, Any]
) -> None:
    _, t = admin
    (st,) = seed(repo, org_id, ["c1"])
    resp = http.post(f"/api/billing/statements/{st.id}/adjustments", json=change, headers=t)
    assert resp.status_code == 422
    assert resp.json()["error"]["code"] == "validation_failed"
    assert repo.get_statement(st.id).revision == 0


def test_a_retry_with_the_same_idempotency_key_changes_nothing(
    http: Any, repo: Any, org_id: str, admin: Any, workers: FakeWorkers
) -> None:
    _, t = admin
    (st,) = seed(repo, org_id, ["c1"])
    url = f"/api/billing/statements/{st.id}/adjustments"
    headers = {**t, "Idempotency-Key": f"credit-{org_id}"}
    first = http.post(url, json=CREDIT, headers=headers)
    again = http.post(url, json=CREDIT, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert len(repo.get_statement(st.id).adjustments) == 1
    other = http.post(url, json={**CREDIT, "amount": "5.00"}, headers=headers)
    assert other.status_code == 422
    assert other.json()["error"]["code"] == "idempotency_key_reused"
    fresh = http.post(url, json=CREDIT, headers={**t, "Idempotency-Key": f"second-{org_id}"})
    assert fresh.status_code == 201 and fresh.json()["revision"] == 2


def test_a_request_run_again_after_its_idempotency_record_is_gone_adjusts_once(
    http: Any, repo: Any, org_id: str, admin: Any, workers: FakeWorkers
) -> None:
    """An API function stopped after the adjustment's write leaves its Idempotency-Key's
    record in progress until the function's deadline; a retry after that runs the use
    case again. The adjustment's own transaction records the request, so it appends
    once (docs/reliability.md). Deleting the key's records stands in for the deadline."""
    import boto3

    from psa_billing.api.settings import get_api_settings

    _, t = admin
    (st,) = seed(repo, org_id, ["c1"])
    url = f"/api/billing/statements/{st.id}/adjustments"
    headers = {**t, "Idempotency-Key": f"stopped-{org_id}"}
    first = http.post(url, json=CREDIT, headers=headers)
    assert first.status_code == 201 and first.json()["revision"] == 1
    table = boto3.resource("dynamodb").Table(get_api_settings().idempotency_table)
    for record in table.scan()["Items"]:
        table.delete_item(Key={"id": record["id"]})
    again = http.post(url, json=CREDIT, headers=headers)
    assert again.status_code == 201, again.text
    assert again.json()["revision"] == 1
    assert len(repo.get_statement(st.id).adjustments) == 1
    fresh = http.post(url, json=CREDIT, headers={**t, "Idempotency-Key": f"next-{org_id}"})
    assert fresh.status_code == 201 and fresh.json()["revision"] == 2


def test_concurrent_adjustments_never_lose_one(
    http: Any, api: Any, repo: Any, org_id: str, admin: Any, workers: FakeWorkers
) -> None:
    import httpx

    _, t = admin
    (st,) = seed(repo, org_id, ["c1"])
    url = f"{api.url}/api/billing/statements/{st.id}/adjustments"
    codes: list[int] = []

    def post(n: int) -> None:
        body = {**CREDIT, "amount": "1.00", "reason": f"parallel {n}"}
        codes.append(httpx.post(url, json=body, headers=t, timeout=60).status_code)

    threads = [threading.Thread(target=post, args=(n,)) for n in range(6)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert set(codes) <= {201, 409}
    final = repo.get_statement(st.id)
    # Every 201 is an adjustment that is there; every 409 appended nothing.
    assert len(final.adjustments) == codes.count(201) == final.revision
    assert codes.count(201) >= 1


def test_send_then_send_again_is_refused_but_resend_works(
    http: Any, repo: Any, org_id: str, admin: Any, workers: FakeWorkers
) -> None:
    _, t = admin
    (st,) = seed(repo, org_id, ["c1"])
    resp = http.post(f"/api/billing/statements/{st.id}/send", headers=t)
    assert resp.status_code == 200, resp.text
    assert resp.json()["sent"] is True
    assert workers.sent == [(st.id, 0, False)]
    claimed = repo.claim_for_sending(st.id, 0)
    assert claimed is not None and claimed.claimed_at is not None
    # What the real send function records, under its claim.
    assert repo.mark_sent(st.id, 0, "message-1", claimed.claimed_at)
    again = http.post(f"/api/billing/statements/{st.id}/send", headers=t)
    assert again.status_code == 409 and again.json()["error"]["code"] == "not_sendable"
    resend = http.post(f"/api/billing/statements/{st.id}/resend", headers=t)
    assert resend.status_code == 200
    assert workers.sent[-1] == (st.id, 0, True)


def test_a_machine_client_reads_but_cannot_write(
    http: Any, api: Any, repo: Any, org_id: str, workers: FakeWorkers, access: Any
) -> None:
    from psa_billing.dal.access import MachineClient
    from psa_billing_dev.local.cognito import READ_SCOPE

    (st,) = seed(repo, org_id, ["c1"])
    access.put_machine_client(MachineClient(f"mc-{org_id}", org_id, "books", READ_SCOPE))
    t = bearer(api.issuer.mint(f"mc-{org_id}", [READ_SCOPE]))
    assert http.get(f"/api/billing/statements/{st.id}", headers=t).status_code == 200
    listed = http.get("/api/billing/statements", headers=t).json()
    assert [s["id"] for s in listed["items"]] == [st.id]
    csv = http.get("/api/billing/statements.csv", params={"period": "2026-10"}, headers=t)
    assert csv.status_code == 200
    writes = [
        http.post(f"/api/billing/statements/{st.id}/adjustments", json=CREDIT, headers=t),
        http.post(f"/api/billing/statements/{st.id}/send", headers=t),
        http.post("/api/billing/runs", json={"period": "2026-10"}, headers=t),
        http.put(f"/api/orgs/{org_id}", json={"name": "x"}, headers=t),
        http.get("/api/customers/c1/billing", headers=t),
    ]
    assert [w.status_code for w in writes] == [403] * 5
    # Without the scope, or unregistered, a machine token is not accepted at all.
    assert (
        http.get(
            "/api/billing/statements", headers=bearer(api.issuer.mint(f"mc-{org_id}", []))
        ).status_code
        == 401
    )
    assert (
        http.get(
            "/api/billing/statements", headers=bearer(api.issuer.mint("mc-unknown", [READ_SCOPE]))
        ).status_code
        == 401
    )


def test_customer_billing_settings_are_validated_and_recorded(
    http: Any, repo: Any, org_id: str, admin: Any
) -> None:
    from tests.integration.api.seed import PERIOD
    from tests.support import load_demo

    user, t = admin
    load_demo(repo, org_id, customers=2, seed=5, period=PERIOD)
    url = "/api/customers/cust-0002/billing"
    current = http.get(url, headers=t)
    assert current.status_code == 200, current.text
    doc = current.json()
    assert doc["history"] == []
    change = {
        k: doc[k]
        for k in (
            "perDeviceRate",
            "defaultHourlyRate",
            "taxPercent",
            "currency",
            "autoSend",
            "billingEmail",
        )
    }
    change["taxPercent"] = "7.5"
    change["autoSend"] = not doc["autoSend"]
    resp = http.put(url, json=change, headers=t)
    assert resp.status_code == 200, resp.text
    got = resp.json()
    assert got["taxPercent"] == "7.5"
    assert got["history"][0]["actor"] == user.email
    assert set(got["history"][0]["changes"]) == {"taxPercent", "autoSend"}
    bad = [
        {**change, "taxPercent": "101"},
        {**change, "currency": "XXQ"},
        {**change, "billingEmail": "not-an-email"},
        {**change, "perDeviceRate": "-1"},
        {**change, "perDeviceRate": "1.234"},  # finer than the currency (import rule)
        {**change, "extra": 1},
    ]
    codes = [http.put(url, json=b, headers=t).status_code for b in bad]
    assert codes == [422] * len(bad)


def test_settings_changes_made_within_one_second_list_newest_first(
    http: Any, repo: Any, org_id: str, admin: Any
) -> None:
    from tests.integration.api.seed import PERIOD
    from tests.support import load_demo

    _, t = admin
    load_demo(repo, org_id, customers=1, seed=8, period=PERIOD)
    url = "/api/customers/cust-0001/billing"
    billing = {k: http.get(url, headers=t).json()[k] for k in _BILLING_FIELDS}
    taxes = ["7.1", "7.2", "7.3", "7.4", "7.5"]
    for tax in taxes:
        assert http.put(url, json={**billing, "taxPercent": tax}, headers=t).status_code == 200
    history = http.get(url, headers=t).json()["history"]
    assert [h["changes"]["taxPercent"]["to"] for h in history] == taxes[::-1]


def test_customer_statement_details_change_one_by_one_and_are_validated_like_the_import(
    http: Any, repo: Any, org_id: str, admin: Any
) -> None:
    from tests.integration.api.seed import PERIOD
    from tests.support import load_demo

    _, t = admin
    load_demo(repo, org_id, customers=1, seed=7, period=PERIOD)
    url = "/api/customers/cust-0001/billing"
    doc = http.get(url, headers=t).json()
    billing = {k: doc[k] for k in _BILLING_FIELDS}
    details = {
        "addressLines": ["Hauptstraße 5", "10115 Berlin"],
        "taxId": "DE811907980",
        "locale": "de-DE",
        "paymentTermsDays": 14,
    }
    resp = http.put(url, json={**billing, **details}, headers=t)
    assert resp.status_code == 200, resp.text
    assert {k: resp.json()[k] for k in details} == details
    assert set(resp.json()["history"][0]["changes"]) == set(details)
    # Left out: kept. Null: cleared (the organisation's setting applies again).
    resp = http.put(url, json={**billing, "locale": None}, headers=t)
    assert resp.status_code == 200, resp.text
    got = resp.json()
    assert got["locale"] is None and got["taxId"] == "DE811907980"
    # Both changes fall in the same second, so their order in the history is not fixed.
    assert {"locale": {"from": "de-DE", "to": None}} in [h["changes"] for h in got["history"]]
    stored = repo.load_customer_period(org_id, "cust-0001", PERIOD).customer.profile
    assert (stored.locale, stored.tax_id, stored.payment_terms_days) == (None, "DE811907980", 14)
    bad = [
        {**billing, "locale": "xx-YY"},
        {**billing, "locale": "en_GB"},
        {**billing, "taxId": "GB 123; DROP"},
        {**billing, "addressLines": ["ok", "bad\nline"]},
        {**billing, "paymentTermsDays": 400},
    ]
    codes = [http.put(url, json=b, headers=t).status_code for b in bad]
    assert codes == [422] * len(bad)
    assert http.get(url, headers=t).json()["taxId"] == "DE811907980"  # nothing changed


_BILLING_FIELDS = (
    "perDeviceRate",
    "defaultHourlyRate",
    "taxPercent",
    "currency",
    "autoSend",
    "billingEmail",
)


def test_a_billed_customer_keeps_its_currency(
    http: Any, repo: Any, org_id: str, admin: Any
) -> None:
    from tests.integration.api.seed import PERIOD
    from tests.support import load_demo

    _, t = admin
    load_demo(repo, org_id, customers=1, seed=6, period=PERIOD)
    seed(repo, org_id, ["cust-0001"])
    url = "/api/customers/cust-0001/billing"
    doc = http.get(url, headers=t).json()
    change = {
        k: doc[k]
        for k in (
            "perDeviceRate",
            "defaultHourlyRate",
            "taxPercent",
            "currency",
            "autoSend",
            "billingEmail",
        )
    }
    change["currency"] = "EUR" if doc["currency"] != "EUR" else "GBP"
    change["perDeviceRate"] = "10.00"
    change["defaultHourlyRate"] = "50.00"
    resp = http.put(url, json=change, headers=t)
    assert resp.status_code == 409
    assert resp.json()["error"]["code"] == "currency_locked"


def test_org_settings_and_feature_flags(
    http: Any, make_user: Any, sign_in: Any, org_id: str
) -> None:
    t = bearer(sign_in(make_user({org_id: "OWNER"})))
    resp = http.put(
        f"/api/orgs/{org_id}",
        json={"name": "Acme IT", "addressLines": ["1 High St"], "features": {"projects": True}},
        headers=t,
    )
    assert resp.status_code == 200, resp.text
    got = http.get(f"/api/orgs/{org_id}", headers=t).json()
    assert got["name"] == "Acme IT" and got["features"] == {"projects": True}
    assert got["role"] == "OWNER"
