"""The whole monthly run through the real state machine on the local stack:
import -> run -> statements in DynamoDB, PDFs in S3, mails in SES."""

from __future__ import annotations

import io
import json
from datetime import timedelta
from email.header import decode_header, make_header
from email.utils import parseaddr
from typing import Any

import boto3
import pytest
from pypdf import PdfReader

from psa_billing import config
from psa_billing.dal import keys
from psa_billing.dal.models import CustomerItem
from psa_billing.domain.model import Period
from psa_billing.domain.statement import Statement, StatementStatus
from psa_billing.logic.delivery import statement_pdf_key
from psa_billing.render.formatting import formatter
from psa_billing_dev.cli.runner import wait_for_run
from tests.support import bill, expected_drafts, load_demo, mails, start

PERIOD = Period(2026, 10)
pytestmark = pytest.mark.e2e


def _pdf_text(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    return "\n".join(page.extract_text() for page in reader.pages)


def _comparable(st: Statement) -> dict[str, Any]:
    doc = st.public()
    for volatile in (
        "id",
        "orgId",
        "createdAt",
        "runId",
        "status",
        "sendAttempts",
        "lastError",
        "sentRevision",
        "number",
        # Delivery and review evidence: beside the rules' result, tested on their own
        # (tests/integration/test_delivery_events.py, test_review_evidence.py).
        "messageId",
        "delivery",
        "deliveryEvents",
        "review",
    ):
        doc.pop(volatile, None)
    return doc


def test_run_bills_every_customer_exactly_as_the_rules_say(repo: Any, org_id: str) -> None:
    doc = load_demo(repo, org_id, customers=12, seed=3, period=PERIOD)
    expected = expected_drafts(doc, PERIOD)
    mails_before = len(mails())

    result = bill(repo, org_id, PERIOD)

    billed = {c for c, d in expected.items() if d is not None}
    counts = result.summary["counts"]
    assert result.summary["status"] == "succeeded"
    assert counts["billed"] == len(billed)
    assert counts["nothing_to_bill"] == len(expected) - len(billed)
    assert counts["failed"] == 0
    stored = {s.customer_id: s for s in repo.list_statements(org_id, str(PERIOD))}
    assert set(stored) == billed
    s3 = boto3.client("s3")
    for customer_id in billed:
        st = stored[customer_id]
        draft = expected[customer_id]
        assert draft is not None
        want = Statement.from_draft(draft, org_id=org_id, run_id="x", created_at=st.created_at)
        assert _comparable(st) == _comparable(want)
        assert st.evidence is not None and st.evidence.previous is None  # a first statement
        pdf = s3.get_object(Bucket=config.bucket().statements_bucket, Key=statement_pdf_key(st))
        text = _pdf_text(pdf["Body"].read())
        fmt = formatter("en-GB", st.currency)  # the demo organisation's locale
        for figure in (st.subtotal, st.tax, st.total):
            assert fmt.money(figure) in text
        for line in st.lines:
            assert fmt.money(line.amount) in text and fmt.money(line.unit_price) in text
        assert st.status is (
            StatementStatus.SENT if st.auto_send else StatementStatus.PENDING_REVIEW
        )
        assert repo.get_statement(st.id, with_inputs=True).inputs == draft.inputs

    new_mail = mails()[mails_before:]
    auto = sorted(stored[c].billing_email for c in billed if stored[c].auto_send)
    assert sorted(parseaddr(m["To"])[1] for m in new_mail) == auto
    for m in new_mail:
        subject = str(make_header(decode_header(m["Subject"])))
        assert subject.startswith("Statement ") and "for October 2026 from" in subject
        attachments = [p for p in m.walk() if p.get_content_type() == "application/pdf"]
        assert len(attachments) == 1
        assert attachments[0].get_payload(decode=True).startswith(b"%PDF")


def test_running_a_period_again_bills_nothing_twice(repo: Any, org_id: str) -> None:
    load_demo(repo, org_id, customers=6, seed=5, period=PERIOD)
    first = bill(repo, org_id, PERIOD)
    before = {s.id: s for s in repo.list_statements(org_id, str(PERIOD))}
    mails_before = len(mails())

    second = bill(repo, org_id, PERIOD)

    assert second.summary["counts"]["billed"] == 0
    assert second.summary["counts"]["already_billed"] == first.summary["counts"]["billed"]
    after = {s.id: s for s in repo.list_statements(org_id, str(PERIOD))}
    assert after.keys() == before.keys()
    assert all(after[k].revision == before[k].revision for k in after)
    assert len(mails()) == mails_before


def test_two_concurrent_runs_create_one_statement_per_customer(repo: Any, org_id: str) -> None:
    doc = load_demo(repo, org_id, customers=10, seed=11, period=PERIOD)
    expected = {c for c, d in expected_drafts(doc, PERIOD).items() if d is not None}
    mails_before = len(mails())

    arns = [start(org_id, PERIOD), start(org_id, PERIOD)]
    results = [wait_for_run(arn, repo, poll_seconds=0.2) for arn in arns]

    billed = sum(r.summary["counts"]["billed"] for r in results)
    already = sum(r.summary["counts"]["already_billed"] for r in results)
    assert billed == len(expected)
    assert already == len(expected)
    statements = repo.list_statements(org_id, str(PERIOD))
    assert sorted(s.customer_id for s in statements) == sorted(expected)
    entry_ids = [
        u.entry_id
        for s in statements
        for u in repo.get_statement(s.id, with_inputs=True).inputs.entries
        if u.billed_minutes > 0
    ]
    assert len(entry_ids) == len(set(entry_ids)), "a time entry was billed twice"
    auto_send = sum(1 for s in statements if s.auto_send)
    assert len(mails()) - mails_before == auto_send


def test_two_concurrent_runs_number_statements_without_a_gap_or_a_repeat(
    repo: Any, org_id: str
) -> None:
    """docs/billing-rules.md "Statement documents": one sequence per organisation, no
    gap, no repeat, allocated when the statement is created, whatever runs at once."""
    from psa_billing.domain.org import new_org_settings, update_org_settings

    doc = load_demo(repo, org_id, customers=60, seed=12, period=PERIOD)
    settings = repo.get_org(org_id) or new_org_settings(org_id)
    repo.put_org(
        update_org_settings(
            settings, {"statementNumberPrefix": "KW-2026-", "nextStatementNumber": 120}
        )
    )
    expected = {c for c, d in expected_drafts(doc, PERIOD).items() if d is not None}

    arns = [start(org_id, PERIOD), start(org_id, PERIOD)]
    for arn in arns:
        wait_for_run(arn, repo, poll_seconds=0.2)

    statements = repo.list_statements(org_id, str(PERIOD))
    assert len(statements) == len(expected)
    numbers = sorted(s.number for s in statements)
    assert numbers == [f"KW-2026-{n:06d}" for n in range(120, 120 + len(expected))]
    for st in statements:  # each number finds its statement
        assert repo.find_by_number(org_id, st.number) == st.id


def test_rerun_after_a_failure_bills_just_the_failed_customer(repo: Any, org_id: str) -> None:
    doc = load_demo(repo, org_id, customers=6, seed=2, period=PERIOD)
    expected = expected_drafts(doc, PERIOD)
    victim = next(c for c, d in expected.items() if d is not None)
    item = CustomerItem.get(keys.org_pk(org_id), keys.customer_sk(victim))
    good_currency = item.currency
    item.update(actions=[CustomerItem.currency.set("XXX")])  # data broken behind the import's back

    first = bill(repo, org_id, PERIOD)

    assert first.summary["status"] == "succeeded_with_failures"
    assert first.summary["counts"]["failed"] == 1
    failure = first.summary["failures"][0]
    assert failure["customerId"] == victim
    assert "UnknownCurrencyError" in failure["error"] and "XXX" in failure["error"]
    assert victim not in {s.customer_id for s in repo.list_statements(org_id, str(PERIOD))}

    item.update(actions=[CustomerItem.currency.set(good_currency)])
    second = bill(repo, org_id, PERIOD)

    others = sum(1 for c, d in expected.items() if d is not None and c != victim)
    assert second.summary["counts"]["billed"] == 1
    assert second.summary["counts"]["already_billed"] == others
    assert victim in {s.customer_id for s in repo.list_statements(org_id, str(PERIOD))}
    assert json.loads(json.dumps(second.summary))["counts"]["failed"] == 0


def test_statement_pdf_prints_the_customers_details_locale_and_covered_tickets(
    repo: Any, org_id: str
) -> None:
    """Import -> run -> PDF: what the import says of a customer (address, tax id,
    locale, terms) is on its statement as billed, and the tickets its contract covered
    are listed on the included-hours line (docs/documents.md)."""
    from psa_billing import runtime
    from psa_billing.logic.importing import import_document

    doc = {
        "orgId": org_id,
        "orgName": "Kestrel IT",
        "organisation": {"paymentTermsDays": 30, "defaultLocale": "en-GB"},
        "customers": [
            {
                "id": "c-de",
                "name": "Müller GmbH",
                "billing": {
                    "perDeviceRate": "4.50",
                    "defaultHourlyRate": "95.00",
                    "taxPercent": "19",
                    "currency": "EUR",
                    "autoSend": False,
                    "billingEmail": "ap@mueller.example",
                    "paymentTermsDays": 14,
                },
                "addressLines": ["Hauptstraße 5", "10115 Berlin"],
                "taxId": "DE811907980",
                "locale": "de-DE",
            },
            {
                "id": "c-uk",
                "name": "Plain Ltd",
                "billing": {
                    "perDeviceRate": "4.50",
                    "defaultHourlyRate": "95.00",
                    "taxPercent": "20",
                    "currency": "GBP",
                    "autoSend": False,
                    "billingEmail": "ap@plain.example",
                },
            },
        ],
        "devices": [
            {"id": f"d-{c}-{i}", "customerId": c, "linkedOn": "2026-01-01"}
            for c in ("c-de", "c-uk")
            for i in range(3)
        ],
        "tickets": [
            {"id": "t1", "customerId": "c-de", "subject": "Drucker offline", "number": "1042"},
            {"id": "t2", "customerId": "c-de", "subject": "VPN trennt sich", "number": "1040"},
        ],
        "contracts": [
            {
                "id": "k1",
                "customerId": "c-de",
                "name": "Gold support",
                "includedHours": "5",
                "startDate": "2026-01-01",
            }
        ],
        "timeEntries": [
            {"id": "e1", "ticketId": "t2", "date": "2026-10-06", "minutes": 150, "billable": True},
            {"id": "e2", "ticketId": "t1", "date": "2026-10-07", "minutes": 200, "billable": True},
        ],
    }
    import_document(json.dumps(doc).encode(), repo, clock=runtime.utc_now, leases=runtime.leases())

    assert bill(repo, org_id, PERIOD).summary["counts"]["billed"] == 2

    stored = {s.customer_id: s for s in repo.list_statements(org_id, str(PERIOD))}
    s3 = boto3.client("s3")

    def pdf_of(st: Statement) -> str:
        key = statement_pdf_key(st)
        body = s3.get_object(Bucket=config.bucket().statements_bucket, Key=key)["Body"]
        return " ".join(_pdf_text(body.read()).replace("\xa0", " ").split())

    de = stored["c-de"]
    assert de.public()["billTo"] == {
        "addressLines": ["Hauptstraße 5", "10115 Berlin"],
        "taxId": "DE811907980",
        "locale": "de-DE",
        "paymentTermsDays": 14,
    }
    text = pdf_of(de)
    assert "Hauptstraße 5 10115 Berlin Tax ID: DE811907980" in text
    fmt = formatter("de-DE", "EUR")
    issued = de.created_at.date()  # the organisation's time zone is UTC
    assert f"Due by {fmt.date(issued + timedelta(days=14))}" in text  # the customer's terms
    for figure in (de.subtotal, de.tax, de.total):
        assert fmt.money(figure) in text
    assert "Used 5 h of 5 h included" in text
    assert "Covered: #1040 VPN trennt sich Covered: #1042 Drucker offline" in text
    # Without details: the organisation's locale and terms, no empty labels.
    uk = pdf_of(stored["c-uk"])
    assert "Tax ID" not in uk
    assert f"Due by {formatter('en-GB', 'GBP').date(issued + timedelta(days=30))}" in uk
