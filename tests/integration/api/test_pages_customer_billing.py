"""A customer's Billing tab (/customers/{id}/billing): the six settings, changed through
the same use case and validation as PUT /api/customers/{id}/billing, a refused value
shown beside its field with nothing saved, a saved change confirmed and listed in the
history with who and when; billing roles only; another organisation's customer is not
found; a post without the CSRF token is refused."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest

from psa_billing.domain.model import Period
from psa_billing.domain.money import Currency, format_amount
from tests.integration.api.pages import browser, csrf_of, page_sign_in
from tests.support import load_demo

FIELDS = ("perDeviceRate", "defaultHourlyRate", "taxPercent", "currency", "billingEmail")


@pytest.fixture
def customer(repo: Any, org_id: str, access: Any) -> Any:
    load_demo(repo, org_id, customers=2, seed=3, period=Period(2026, 10))
    found = access.get_customer(org_id, "cust-0001")
    assert found is not None
    return found


def _form(customer: Any, **changes: str) -> dict[str, str]:
    b = customer.billing
    cur = Currency.of(b.currency)
    form = {
        "perDeviceRate": format_amount(b.per_device_rate, cur),
        "defaultHourlyRate": format_amount(b.default_hourly_rate, cur),
        "taxPercent": str(b.tax_percent),
        "currency": b.currency,
        "billingEmail": b.billing_email,
    }
    if b.auto_send:
        form["autoSend"] = "on"
    form.update(changes)
    return {k: v for k, v in form.items() if v is not None}


def _signed_in(api: Any, make_user: Any, org_id: str, role: str = "ADMIN") -> Any:
    client = browser(api)
    page_sign_in(client, make_user({org_id: role}))
    return client


def test_the_billing_tab_shows_the_six_settings_with_labels(
    api: Any, make_user: Any, org_id: str, customer: Any
) -> None:
    client = _signed_in(api, make_user, org_id)
    resp = client.get(f"/customers/{customer.id}/billing", params={"org": org_id})
    assert resp.status_code == 200, resp.text
    page = resp.text
    for name in (*FIELDS, "autoSend"):
        assert f'<label for="f-{name}">' in page
        assert f'id="f-{name}" name="{name}"' in page
    assert customer.name.replace("&", "&amp;") in page or customer.name in page
    assert 'name="csrf_token"' in page
    assert "No changes since the customer was imported." in page


def test_an_invalid_rate_is_shown_beside_its_field_and_nothing_is_saved(
    api: Any, make_user: Any, org_id: str, customer: Any, access: Any
) -> None:
    client = _signed_in(api, make_user, org_id)
    url = f"/customers/{customer.id}/billing?org={org_id}"
    token = csrf_of(client.get(url).text)
    resp = client.post(
        url, data={"csrf_token": token, **_form(customer, perDeviceRate="12,50", taxPercent="150")}
    )
    assert resp.status_code == 422
    page = resp.text
    rate_error = re.search(r'id="f-perDeviceRate-error">([^<]+)<', page)
    assert rate_error and "decimal" in rate_error.group(1)
    tax_error = re.search(r'id="f-taxPercent-error">([^<]+)<', page)
    assert tax_error and "between 0 and 100" in tax_error.group(1)
    assert 'aria-invalid="true"' in page
    assert 'value="12,50"' in page  # what was typed stays in the field
    assert access.get_customer(org_id, customer.id) == customer
    assert access.settings_history(org_id, customer.id) == []


def test_a_rate_finer_than_the_currency_is_refused_as_the_api_refuses_it(
    api: Any, make_user: Any, org_id: str, customer: Any, access: Any
) -> None:
    client = _signed_in(api, make_user, org_id)
    url = f"/customers/{customer.id}/billing?org={org_id}"
    token = csrf_of(client.get(url).text)
    exponent = Currency.of(customer.billing.currency).exponent
    too_fine = "1." + "5" * (exponent + 1)
    resp = client.post(
        url, data={"csrf_token": token, **_form(customer, defaultHourlyRate=too_fine)}
    )
    assert resp.status_code == 422
    found = re.search(r'id="f-defaultHourlyRate-error">([^<]+)<', resp.text)
    assert found and "more decimal places than" in found.group(1)
    assert access.get_customer(org_id, customer.id) == customer


def test_a_valid_change_is_saved_confirmed_and_listed_with_who_and_when(
    api: Any, make_user: Any, org_id: str, customer: Any, access: Any
) -> None:
    user = make_user({org_id: "OWNER"})
    client = browser(api)
    page_sign_in(client, user)
    url = f"/customers/{customer.id}/billing?org={org_id}"
    token = csrf_of(client.get(url).text)
    cur = Currency.of(customer.billing.currency)
    new_rate = format_amount(customer.billing.per_device_rate + Decimal(3), cur)
    form = _form(customer, perDeviceRate=new_rate, billingEmail="ap@new-billing.example")
    form.pop("autoSend", None)  # unticked
    resp = client.post(url, data={"csrf_token": token, **form})
    assert resp.status_code == 303
    assert resp.headers["location"].endswith("saved=1")
    saved = access.get_customer(org_id, customer.id)
    assert format_amount(saved.billing.per_device_rate, cur) == new_rate
    assert saved.billing.billing_email == "ap@new-billing.example"
    assert saved.billing.auto_send is False
    page = client.get(resp.headers["location"]).text
    assert "Billing settings saved." in page
    assert user.email in page  # who
    assert "<time datetime=" in page  # when
    assert "Per-device rate:" in page and "Billing email:" in page
    assert "ap@new-billing.example" in page


def test_a_technician_is_refused_and_another_organisation_gets_not_found(
    api: Any, make_user: Any, org_id: str, customer: Any
) -> None:
    tech = _signed_in(api, make_user, org_id, "TECHNICIAN")
    resp = tech.get(f"/customers/{customer.id}/billing", params={"org": org_id})
    assert resp.status_code == 403 and "billing access" in resp.text
    other = _signed_in(api, make_user, f"{org_id}-other", "OWNER")
    resp = other.get(f"/customers/{customer.id}/billing", params={"org": org_id})
    assert resp.status_code == 404 and customer.name not in resp.text
    resp = other.get(f"/customers/{customer.id}/billing")
    assert resp.status_code == 404 and customer.name not in resp.text


def test_a_post_without_the_csrf_token_is_refused(
    api: Any, make_user: Any, org_id: str, customer: Any, access: Any
) -> None:
    client = _signed_in(api, make_user, org_id)
    resp = client.post(
        f"/customers/{customer.id}/billing?org={org_id}",
        data=_form(customer, perDeviceRate="1"),
    )
    assert resp.status_code == 403
    assert access.get_customer(org_id, customer.id) == customer


def test_money_and_times_follow_the_organisations_locale_and_zone(
    api: Any, make_user: Any, org_id: str, customer: Any, repo: Any, access: Any
) -> None:
    from psa_billing.domain.org import new_org_settings, update_org_settings

    repo.put_org(
        update_org_settings(
            new_org_settings(org_id, "Beispiel GmbH"),
            {"defaultLocale": "de-DE", "timeZone": "Europe/Berlin"},
        )
    )
    client = _signed_in(api, make_user, org_id, "OWNER")
    url = f"/customers/{customer.id}/billing?org={org_id}"
    token = csrf_of(client.get(url).text)
    assert customer.billing.currency == "GBP"  # the demo's first customer (seed 3)
    form = _form(customer, perDeviceRate="1234.50")
    assert client.post(url, data={"csrf_token": token, **form}).status_code == 303
    page = client.get(url).text
    assert '<html lang="de-DE">' in page
    assert "1.234,50 GBP" in page  # German grouping and decimal sign
    when = re.search(r'<time datetime="([^"]+)">([^<]+)</time>', page)
    assert when and "+00:00" in when.group(1)
    assert "." in when.group(2)  # "01.12.2026, 14:05:09": German order, Berlin's clock


def test_the_statement_details_are_saved_and_a_bad_locale_is_refused_beside_its_field(
    api: Any, make_user: Any, org_id: str, customer: Any, access: Any
) -> None:
    client = _signed_in(api, make_user, org_id)
    url = f"/customers/{customer.id}/billing?org={org_id}"
    token = csrf_of(client.get(url).text)
    bad = client.post(url, data={"csrf_token": token, **_form(customer, locale="klingon")})
    assert bad.status_code == 422
    error = re.search(r'id="f-locale-error">([^<]+)<', bad.text)
    assert error, bad.text
    assert access.get_customer(org_id, customer.id) == customer

    details = {
        "addressLines": "Unter den Linden 1\r\n\r\n10117 Berlin",
        "taxId": "DE123456789",
        "locale": "de-DE",
        "paymentTermsDays": "14",
    }
    saved = client.post(url, data={"csrf_token": token, **_form(customer, **details)})
    assert saved.status_code == 303, saved.text
    profile = access.get_customer(org_id, customer.id).profile
    assert profile.address_lines == ("Unter den Linden 1", "10117 Berlin")
    assert (profile.tax_id, profile.locale, profile.payment_terms_days) == (
        "DE123456789",
        "de-DE",
        14,
    )
    page = client.get(saved.headers["location"]).text
    assert "Unter den Linden 1, 10117 Berlin" in page  # now in use
    (change,) = access.settings_history(org_id, customer.id)
    assert change.changes["taxId"] == {"from": None, "to": "DE123456789"}
