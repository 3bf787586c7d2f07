"""The Billing tab's form: read as the API's body, refusals put beside their field with
the API's own messages, and the history in the form's order and words."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from psa_billing.api.schemas import CustomerBillingUpdate
from psa_billing.logic.errors import CurrencyLocked
from psa_billing.logic.settings_api import RateDigitsError
from psa_billing.web.csrf import Form
from psa_billing.web.pages.customer_billing import (
    field_errors,
    form_values,
    history_rows,
    use_case_errors,
)

GOOD = {
    "perDeviceRate": " 12.50 ",
    "defaultHourlyRate": "95",
    "taxPercent": "20",
    "currency": "gbp",
    "billingEmail": "ap@example.com",
}


def test_an_unticked_auto_send_is_false_and_texts_are_trimmed() -> None:
    values = form_values(Form(list(GOOD.items())))
    assert values["autoSend"] is False
    assert values["perDeviceRate"] == "12.50"
    assert values["currency"] == "GBP"
    ticked = form_values(Form([*GOOD.items(), ("autoSend", "on")]))
    assert ticked["autoSend"] is True
    CustomerBillingUpdate.model_validate(ticked)  # the API's model takes it as it is


def test_each_refused_field_gets_the_api_message_beside_it() -> None:
    bad = {**GOOD, "perDeviceRate": "12,50", "taxPercent": "150", "billingEmail": "nope"}
    with pytest.raises(ValidationError) as caught:
        CustomerBillingUpdate.model_validate(form_values(Form(list(bad.items()))))
    errors = field_errors(caught.value)
    assert set(errors) == {"perDeviceRate", "taxPercent", "billingEmail"}
    assert "between 0 and 100" in errors["taxPercent"]
    assert "decimal" in errors["perDeviceRate"]
    assert all(m[0].isupper() for m in errors.values())


def test_a_rate_finer_than_the_currency_is_put_beside_that_rate() -> None:
    exc = RateDigitsError("billing.defaultHourlyRate: 1.555 has more decimal places than GBP")
    assert use_case_errors(exc) == {"defaultHourlyRate": "1.555 has more decimal places than GBP"}
    locked = use_case_errors(CurrencyLocked("customer c has statements in GBP"))
    assert list(locked) == ["currency"]
    assert list(use_case_errors(RuntimeError("changed meanwhile"))) == ["_form"]


def test_history_lists_fields_in_the_forms_order_with_the_currency_of_each_side() -> None:
    rows = history_rows(
        [
            {
                "at": "2026-11-03T10:00:00+00:00",
                "actor": "ann@msp.example",
                "changes": {
                    "billingEmail": {"from": "a@x.example", "to": "b@x.example"},
                    "currency": {"from": "GBP", "to": "EUR"},
                    "perDeviceRate": {"from": "12.50", "to": "14.00"},
                },
            }
        ],
        "EUR",
    )
    (row,) = rows
    assert row["actor"] == "ann@msp.example"
    assert [c["name"] for c in row["changes"]] == ["perDeviceRate", "currency", "billingEmail"]
    rate = row["changes"][0]
    assert (rate["currency_from"], rate["currency_to"]) == ("GBP", "EUR")
    assert rate["label"] == "Per-device rate"
