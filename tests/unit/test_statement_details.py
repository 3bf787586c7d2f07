"""What a statement says about its customer and the time its contract covered
(docs/documents.md "Bill to", "Lines", "Locale"): the customer's address, tax id,
locale and payment terms as they were when it was billed, and the tickets the included
hours covered; kept through every representation (the item, the state payload) and
printed on the PDF, read back with pypdf."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from pypdf import PdfReader

from psa_billing.dal import serde
from psa_billing.domain.errors import InvalidSettingsError
from psa_billing.domain.model import (
    BillingSettings,
    Contract,
    Customer,
    CustomerPeriodData,
    CustomerProfile,
    Device,
    LineKind,
    Period,
    Ticket,
    TimeEntry,
)
from psa_billing.domain.org import OrgSettings, parse_org_settings, update_customer_profile
from psa_billing.domain.rules import compute_statement
from psa_billing.domain.statement import Statement
from psa_billing.logic.delivery import statement_view
from psa_billing.logic.events import StatementDoc
from psa_billing.render import samples
from psa_billing.render.formatting import formatter
from psa_billing.render.pdf import render_statement_pdf

D = Decimal
OCTOBER = Period(2026, 10)
PROFILE = CustomerProfile(("Hauptstraße 5", "10115 Berlin"), "DE811907980", "de-DE", 14)


def org(**settings: object) -> OrgSettings:
    """The organisation; a setting given as None is left out."""
    doc = {"id": "kw", "name": "Kestrel IT", "paymentTermsDays": 30, "defaultLocale": "en-GB"}
    return parse_org_settings({k: v for k, v in (doc | settings).items() if v is not None})


def billed(profile: CustomerProfile = PROFILE, currency: str = "EUR") -> Statement:
    """A month with devices, a contract covering two tickets, and time beyond it."""
    billing = BillingSettings(D("4.50"), D("95.00"), D("19"), currency, False, "ap@c.example")
    tickets = (
        Ticket("t1", "c1", "Drucker offline", "1042"),
        Ticket("t2", "c1", "VPN trennt sich", "1040"),
    )
    day = date(2026, 10, 6)
    data = CustomerPeriodData(
        customer=Customer("c1", "Müller GmbH", billing, profile),
        devices=tuple(Device(f"d{i}", "c1", date(2026, 1, 1)) for i in range(1201)),
        tickets=tickets,
        contracts=(Contract("k1", "c1", "Gold support", D("5"), date(2026, 1, 1)),),
        entries=(
            TimeEntry("e1", day, 150, True, ticket_id="t2"),
            TimeEntry("e2", day, 200, True, ticket_id="t1"),
        ),
    )
    draft = compute_statement(data, OCTOBER)
    assert draft is not None
    return Statement.from_draft(
        draft, org_id="kw", run_id="r1", created_at=datetime(2026, 11, 1, 9, tzinfo=UTC)
    )


def pdf_text(pdf: bytes) -> str:
    pages = PdfReader(io.BytesIO(pdf)).pages
    return " ".join(" ".join(p.extract_text().replace("\xa0", " ").split()) for p in pages)


# ---------------------------------------------------------------- the view


def test_bill_to_prints_the_customers_address_and_tax_id_as_billed() -> None:
    view = statement_view(billed(), org())
    assert view.customer_address_lines == ("Hauptstraße 5", "10115 Berlin")
    assert view.customer_tax_id == "DE811907980"


def test_customers_locale_overrides_the_organisations() -> None:
    assert statement_view(billed(), org()).locale == "de-DE"


def test_organisations_locale_applies_when_the_customer_has_none() -> None:
    st = billed(replace(PROFILE, locale=None))
    assert statement_view(st, org(defaultLocale="fr-FR")).locale == "fr-FR"
    assert statement_view(st, org(defaultLocale=None)).locale == "en-GB"


def test_customers_payment_terms_override_the_organisations() -> None:
    view = statement_view(billed(), org())
    assert (view.issue_date, view.due_date) == (date(2026, 11, 1), date(2026, 11, 15))
    st = billed(replace(PROFILE, payment_terms_days=None))
    assert statement_view(st, org()).due_date == date(2026, 12, 1)  # the org's 30 days


def test_customer_terms_of_zero_days_make_it_due_on_issue() -> None:
    st = billed(replace(PROFILE, payment_terms_days=0))
    view = statement_view(st, org())
    assert view.due_date == view.issue_date


def test_missing_customer_details_are_simply_not_printed() -> None:
    view = statement_view(billed(CustomerProfile()), org())
    assert (view.customer_address_lines, view.customer_tax_id) == ((), "")


def test_statement_keeps_details_of_its_moment_not_the_customers_later_ones() -> None:
    st = billed()
    # The customer moves and changes locale after billing: the statement is unchanged.
    later = update_customer_profile("c1", PROFILE, {"addressLines": ["Neu 1"], "locale": None})
    assert later != st.customer_profile
    assert statement_view(st, org()).customer_address_lines == PROFILE.address_lines


def test_included_hours_line_lists_the_tickets_it_covered() -> None:
    view = statement_view(billed(), org())
    (included,) = (ln for ln in view.lines if ln.kind == "included_hours")
    assert included.description == "Gold support: included hours"
    assert (included.minutes, included.included_minutes) == (300, 300)
    assert [(c.ticket, c.minutes) for c in included.covered] == [
        ("#1040 VPN trennt sich", 150),
        ("#1042 Drucker offline", 150),
    ]


# ---------------------------------------------------------------- kept on every boundary


def test_item_keeps_the_customer_details_and_the_coverage() -> None:
    st = billed()
    back = serde.statement_from(serde.statement_item(st))
    assert back.customer_profile == PROFILE
    assert back.lines == st.lines  # coverage included
    assert back.public()["billTo"] == {
        "addressLines": ["Hauptstraße 5", "10115 Berlin"],
        "taxId": "DE811907980",
        "locale": "de-DE",
        "paymentTermsDays": 14,
    }


def test_statement_without_details_stores_none_and_reads_back_empty() -> None:
    st = billed(CustomerProfile())
    item = serde.statement_item(st)
    assert item.profile is None
    assert serde.statement_from(item).customer_profile == CustomerProfile()


def test_lines_stored_before_coverage_existed_still_read() -> None:
    old = '[{"id":"L1","kind":"included_hours","description":"x","quantity":"1",'
    old += '"unitPrice":"0","amount":"0","minutes":"60","ref":"k1"}]'
    (line,) = serde.lines_from_json(old)
    assert line.coverage is None


def test_state_payload_keeps_the_customer_details_and_the_coverage() -> None:
    st = billed()
    doc = StatementDoc.model_validate_json(StatementDoc.of(st).model_dump_json(by_alias=True))
    back = doc.statement()
    assert back.customer_profile == PROFILE
    assert back.lines == st.lines


def test_api_lists_the_covered_tickets_on_the_included_hours_line() -> None:
    (line,) = (ln for ln in billed().public()["lines"] if ln["kind"] == "included_hours")
    assert line["includedMinutes"] == "300"
    assert line["covered"] == [
        {"ticketId": "t2", "ticket": "#1040 VPN trennt sich", "minutes": "150"},
        {"ticketId": "t1", "ticket": "#1042 Drucker offline", "minutes": "150"},
    ]


def test_customer_item_keeps_the_profile() -> None:
    text = serde.profile_to_json(PROFILE)
    assert serde.profile_from_json(text) == PROFILE
    assert serde.profile_to_json(CustomerProfile()) is None


# ---------------------------------------------------------------- changing the details


def test_a_detail_left_out_is_kept_and_null_clears_it() -> None:
    changed = update_customer_profile("c1", PROFILE, {"taxId": "DE999", "locale": None})
    assert changed == replace(PROFILE, tax_id="DE999", locale=None)


def test_customer_locale_is_checked_against_babels_data() -> None:
    with pytest.raises(InvalidSettingsError) as caught:
        update_customer_profile("c1", PROFILE, {"locale": "xx-YY"})
    assert str(caught.value).startswith("customer c1: locale: must be a locale")


# ---------------------------------------------------------------- the PDF


def test_pdf_prints_bill_to_details_the_covered_tickets_and_the_customers_locale() -> None:
    st = billed()
    view = statement_view(st, org())
    text = pdf_text(render_statement_pdf(view))
    assert "Hauptstraße 5 10115 Berlin Tax ID: DE811907980" in text
    de = formatter("de-DE", "EUR")
    # 1,201 devices x 4.50 = 5,404.50: German grouping and decimal sign.
    assert de.money(D("5404.50")) == "5.404,50"
    for figure in (st.subtotal, st.tax, st.total, *(ln.amount for ln in st.lines)):
        assert de.money(figure) in text
    assert f"Due by {de.date(date(2026, 11, 15))}" in text
    assert "Used 5 h of 5 h included" in text
    # The covered tickets, in ticket order, each with its time (in the quantity column).
    assert "Covered: #1040 VPN trennt sich Covered: #1042 Drucker offline" in text
    assert text.count("2 h 30 min") == 2
    # Time beyond the contract is billed on its ticket's line, by the hour and minute.
    (ticket,) = (ln for ln in st.lines if ln.kind is LineKind.TICKET_TIME)
    assert ticket.minutes == D(50)


def test_pdf_of_a_customer_without_details_prints_no_empty_labels() -> None:
    text = pdf_text(render_statement_pdf(statement_view(billed(CustomerProfile()), org())))
    assert "Tax ID" not in text
    assert "BILL TO Müller GmbH ap@c.example" in text


def test_pdf_carries_the_logo_only_when_the_organisation_has_one() -> None:
    st = billed()
    with_logo = render_statement_pdf(statement_view(st, org(), samples.logo_png()))
    without = render_statement_pdf(statement_view(st, org()))
    assert _images(with_logo) == 1 and _images(without) == 0


def _images(pdf: bytes) -> int:
    return sum(len(page.images) for page in PdfReader(io.BytesIO(pdf)).pages)
