"""The InvoiceNinja sync's pure rules: statuses, money on the wire, KPIs, push contents,
settings. No network."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import SecretStr

from psa_billing.domain.model import TimeEntry
from psa_billing.domain.money import Currency
from psa_billing.invoiceninja.client import encode_json
from psa_billing.invoiceninja.errors import InvoiceNinjaError, Problem
from psa_billing.invoiceninja.listing import DocumentRow, kpis
from psa_billing.invoiceninja.ports import Source, client_id_number, customer_of_id_number
from psa_billing.invoiceninja.push import hours, line_items, push_key
from psa_billing.invoiceninja.settings import InvoiceNinjaSettings, load_config, normalise_url
from psa_billing.invoiceninja.statuses import (
    InvoiceStatus,
    invoice_status,
    is_overdue,
    quote_status,
)
from psa_billing.invoiceninja.wire import WireDocument

TODAY = date(2026, 12, 1)


@pytest.mark.parametrize(
    ("status_id", "expected"),
    [
        ("1", "Draft"),
        ("2", "Sent"),
        ("3", "Partial"),
        ("4", "Paid"),
        ("5", "Cancelled"),
        ("6", "Reversed"),
        ("-1", "Overdue"),
        ("9", "Unknown"),
        ("", "Unknown"),
    ],
)
def test_invoice_status_ids_map_to_names_and_unknown_ids_show_as_unknown(
    status_id: str, expected: str
) -> None:
    assert invoice_status(status_id) == expected


@pytest.mark.parametrize(
    ("status_id", "invoice_id", "expected"),
    [
        ("1", "", "Draft"),
        ("2", "", "Sent"),
        ("3", "", "Approved"),
        ("4", "x", "Converted"),
        ("-1", "", "Expired"),
        ("5", "", "Rejected"),
        ("3", "VolejRejNm", "Converted"),
        ("77", "", "Unknown"),
    ],
)
def test_quote_status_ids_map_to_names_and_a_converted_quote_shows_converted(
    status_id: str, invoice_id: str, expected: str
) -> None:
    assert quote_status(status_id, invoice_id) == expected


def _overdue(status: InvoiceStatus, **kw: object) -> bool:
    args: dict[str, object] = {
        "balance": Decimal(100),
        "partial": Decimal(0),
        "due_date": "2026-11-30",
        "partial_due_date": "",
        "today": TODAY,
    }
    args.update(kw)
    return is_overdue(status, **args)  # type: ignore[arg-type]


def test_a_sent_invoice_with_a_balance_due_before_today_is_overdue() -> None:
    assert _overdue(InvoiceStatus.SENT)
    assert _overdue(InvoiceStatus.PARTIAL)


def test_an_invoice_due_today_is_not_overdue_yet() -> None:
    assert not _overdue(InvoiceStatus.SENT, due_date="2026-12-01")


def test_paid_draft_cancelled_reversed_or_settled_invoices_are_never_overdue() -> None:
    for status in (
        InvoiceStatus.PAID,
        InvoiceStatus.DRAFT,
        InvoiceStatus.CANCELLED,
        InvoiceStatus.REVERSED,
    ):
        assert not _overdue(status)
    assert not _overdue(InvoiceStatus.SENT, balance=Decimal(0))
    assert not _overdue(InvoiceStatus.SENT, due_date="")


def test_a_partial_payment_due_date_decides_when_a_partial_is_set() -> None:
    assert (
        _overdue(
            InvoiceStatus.SENT,
            partial=Decimal(50),
            due_date="2027-01-31",
            partial_due_date="2026-11-1",
        )
        is False
    )  # a malformed date is not a reason to flag it
    assert _overdue(
        InvoiceStatus.SENT,
        partial=Decimal(50),
        due_date="2027-01-31",
        partial_due_date="2026-11-01",
    )


def test_money_is_read_exactly_from_ints_floats_and_strings() -> None:
    raw = b'{"amount": 1500, "balance": 849.5, "partial": "0.10"}'
    doc = WireDocument.model_validate(json.loads(raw, parse_float=Decimal))
    assert (doc.amount, doc.balance, doc.partial) == (
        Decimal(1500),
        Decimal("849.5"),
        Decimal("0.10"),
    )
    assert isinstance(doc.balance, Decimal)


def test_a_float_never_reaches_money() -> None:
    with pytest.raises(ValueError, match="float"):
        WireDocument.model_validate({"amount": 0.1})


def test_php_empty_objects_and_nulls_are_read_leniently() -> None:
    doc = WireDocument.model_validate(
        {"id": "a", "number": None, "status_id": 2, "client": [], "archived_at": "0"}
    )
    assert (doc.number, doc.status_id, doc.client, doc.archived_at) == ("", "2", None, 0)


def _row(
    kind: str, currency: str, amount: str, balance: str = "0", status: str = "Sent"
) -> DocumentRow:
    return DocumentRow(
        kind=kind,  # type: ignore[arg-type]
        id="x",
        number="1",
        url="",
        customer_name="",
        customer_id=None,
        in_client_id="",
        reference="",
        project_id=None,
        status=status,
        overdue=False,
        amount=Decimal(amount),
        balance=Decimal(balance),
        currency=currency,
        date="",
        due_date="",
    )


def test_kpis_are_per_currency_and_never_add_gbp_to_eur() -> None:
    totals = kpis(
        [
            _row("invoice", "GBP", "100.00", "100.00"),
            _row("invoice", "EUR", "50.00", "20.00", status="Partial"),
            _row("invoice", "GBP", "10.50", "0", status="Paid"),
            _row("quote", "EUR", "999.99"),
            _row("quote", "EUR", "0.01"),
        ]
    )
    by = {t.currency: t for t in totals}
    assert set(by) == {"EUR", "GBP"}
    assert (by["GBP"].invoice_count, by["GBP"].invoice_total, by["GBP"].outstanding) == (
        2,
        Decimal("110.50"),
        Decimal("100.00"),
    )
    assert (by["EUR"].invoice_count, by["EUR"].outstanding) == (1, Decimal("20.00"))
    assert (by["EUR"].quote_count, by["EUR"].quote_total) == (2, Decimal("1000.00"))
    assert by["GBP"].quote_count == 0


def test_cancelled_and_reversed_invoices_are_left_out_of_the_totals() -> None:
    totals = kpis(
        [
            _row("invoice", "USD", "100", status="Cancelled"),
            _row("invoice", "USD", "70", status="Reversed"),
            _row("invoice", "USD", "5", "5"),
        ]
    )
    assert (totals[0].invoice_count, totals[0].invoice_total) == (1, Decimal(5))


def test_the_same_push_has_the_same_key_whatever_the_entry_order() -> None:
    src = Source("project", "prj-1")
    assert push_key("o", src, "invoice", ["b", "a"]) == push_key("o", src, "invoice", ["a", "b"])
    assert push_key("o", src, "invoice", ["a"]) != push_key("o", src, "quote", ["a"])
    assert push_key("o", src, "invoice", ["a"]) != push_key("o", src, "invoice", ["a", "c"])


def test_line_items_carry_hours_rate_description_and_the_entry_id() -> None:
    entries = [
        TimeEntry("te-2", date(2026, 11, 3), 25, True, description="Configured", user_id="a.k"),
        TimeEntry("te-1", date(2026, 11, 2), 90, True),
    ]
    items = line_items(entries, Decimal("95.00"), "Project M365-2026")
    assert [i["custom_value1"] for i in items] == ["te-1", "te-2"]
    assert items[0]["quantity"] == Decimal("1.5000") and items[0]["cost"] == Decimal("95.00")
    assert items[1]["notes"] == "2026-11-03: Configured (a.k)"
    assert items[1]["quantity"] == hours(25) == Decimal("0.4167")


def test_json_bodies_carry_decimals_as_exact_numbers() -> None:
    text = encode_json({"cost": Decimal("0.10"), "quantity": Decimal("0.4167"), "n": "é/x"})
    assert text == '{"cost":0.10,"quantity":0.4167,"n":"é/x"}'.encode()
    assert json.loads(text, parse_float=Decimal)["cost"] == Decimal("0.10")
    with pytest.raises(TypeError):
        encode_json({"cost": 0.1})


def test_the_client_id_number_is_scoped_to_the_organisation_and_read_back_exactly() -> None:
    number = client_id_number("demo-msp", "cust-0001")
    assert customer_of_id_number("demo-msp", number) == "cust-0001"
    assert customer_of_id_number("other-org", number) is None
    assert customer_of_id_number("demo-msp", "cust-0001") is None


def test_not_configured_without_a_url_or_a_token() -> None:
    no_parameter = {"token_parameter": ""}  # whatever the process environment holds
    assert load_config(InvoiceNinjaSettings(url="", token=SecretStr("t"), **no_parameter)) is None
    assert (
        load_config(
            InvoiceNinjaSettings(url="https://in.example", token=SecretStr(""), **no_parameter)
        )
        is None
    )


def test_the_token_can_come_from_a_named_parameter() -> None:
    asked: list[tuple[str, int]] = []

    def read(name: str, max_age: int) -> str:
        asked.append((name, max_age))
        return "from-ssm\n"

    config = load_config(
        InvoiceNinjaSettings(url="https://in.example/api/v1/", token_parameter="/psa/in-token"),
        read,
    )
    assert config is not None and config.token.get_secret_value() == "from-ssm"
    assert asked == [("/psa/in-token", 300)]
    assert config.base_url == "https://in.example"


def test_an_unreadable_token_parameter_is_a_configuration_error_without_the_value() -> None:
    def read(name: str, max_age: int) -> str:
        raise PermissionError("AccessDenied for secret-value-123")

    with pytest.raises(InvoiceNinjaError) as err:
        load_config(InvoiceNinjaSettings(url="https://in.example", token_parameter="/p"), read)
    assert err.value.problem == Problem.CONFIG
    assert "secret-value-123" not in str(err.value) and "'/p'" in str(err.value)


def test_a_url_that_is_not_http_is_refused_clearly() -> None:
    with pytest.raises(InvoiceNinjaError, match="http"):
        normalise_url("invoicing.co")


def test_the_edit_page_pattern_is_configurable_and_checked() -> None:
    settings = InvoiceNinjaSettings(
        url="https://in.example",
        token=SecretStr("t"),
        ui_url="https://app.example/",
        invoice_url_template="{ui}/invoices/{id}/edit",
    )
    config = load_config(settings)
    assert config is not None
    assert (
        config.edit_url("invoice", "VolejRejNm") == "https://app.example/invoices/VolejRejNm/edit"
    )
    assert config.edit_url("quote", "Wpmbk5ezJn") == "https://app.example/#/quotes/Wpmbk5ezJn/edit"
    for bad in ("{ui}/invoices/edit", "{ui}/{nope}/{id}"):
        with pytest.raises(InvoiceNinjaError, match="INVOICENINJA_INVOICE_URL_TEMPLATE"):
            load_config(settings.model_copy(update={"invoice_url_template": bad}))


def test_the_token_is_not_in_the_settings_or_config_repr() -> None:
    settings = InvoiceNinjaSettings(url="https://in.example", token=SecretStr("tok-SECRET-1"))
    config = load_config(settings)
    assert "tok-SECRET-1" not in repr(settings) and "tok-SECRET-1" not in repr(config)


_CODES = ("GBP", "EUR", "JPY", "BHD")
_DIGITS = {"GBP": 2, "EUR": 2, "JPY": 0, "BHD": 3}


@given(
    st.sampled_from(_CODES).flatmap(
        lambda code: st.tuples(
            st.just(code),
            st.integers(min_value=-(10**12), max_value=10**12).map(
                lambda n: Decimal(n).scaleb(-_DIGITS[code])
            ),
        )
    )
)
def test_an_amount_printed_by_php_as_a_float_reads_back_exactly_in_its_currency(
    case: tuple[str, Decimal],
) -> None:
    code, amount = case
    wire = json.dumps({"amount": float(amount)})  # what PHP's json_encode prints
    doc = WireDocument.model_validate(json.loads(wire, parse_float=Decimal))
    assert Currency.of(code).round(doc.amount) == amount


@given(
    st.lists(
        st.tuples(
            st.sampled_from(("invoice", "quote")),
            st.sampled_from(_CODES),
            st.integers(min_value=0, max_value=10**9),
            st.sampled_from(("Sent", "Paid", "Cancelled", "Draft")),
        ),
        max_size=40,
    )
)
def test_kpis_add_up_each_currency_on_its_own(
    rows: list[tuple[str, str, int, str]],
) -> None:
    built = [_row(k, c, str(Decimal(n).scaleb(-_DIGITS[c])), status=s) for k, c, n, s in rows]
    totals = {t.currency: t for t in kpis(built)}
    assert set(totals) == {r.currency for r in built}
    for code, t in totals.items():
        mine = [r for r in built if r.currency == code]
        quotes = [r for r in mine if r.kind == "quote"]
        live = [r for r in mine if r.kind == "invoice" and r.status != "Cancelled"]
        assert t.quote_total == sum((r.amount for r in quotes), Decimal(0))
        assert t.invoice_total == sum((r.amount for r in live), Decimal(0))
        assert (t.quote_count, t.invoice_count) == (len(quotes), len(live))
