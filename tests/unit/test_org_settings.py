"""Organisation and customer settings (domain/org.py): validated like the import."""

from __future__ import annotations

from decimal import Decimal

import pytest

from psa_billing.domain.calendar import CalendarSettings
from psa_billing.domain.errors import BillingError, InvalidSettingsError
from psa_billing.domain.model import CustomerProfile
from psa_billing.domain.org import (
    Organisation,
    OrgSettings,
    new_org_settings,
    parse_customer_profile,
    parse_org_settings,
    update_org_settings,
)

FULL = {
    "id": "demo-msp",
    "name": "Demo MSP",
    "addressLines": ["1 High Street", "Leeds LS1 1AA"],
    "email": "billing@msp.example",
    "legalName": "Demo MSP Ltd",
    "taxRegistrationNumber": "GB 123 4567 89",
    "taxLabel": "VAT",
    "paymentTermsDays": 30,
    "paymentInstructions": "Pay by bank transfer:\nSort code 00-00-00\tAccount 12345678",
    "paymentLink": "https://pay.example/demo-msp?ref=statement",
    "footerNote": "Thank you for your business.",
    "statementNumberPrefix": "INV-2027/",
    "nextStatementNumber": 1001,
    "defaultLocale": "en-GB",
    "timeZone": "Europe/London",
    "billingDay": 31,
    "lateTimeGraceDays": 3,
    "reviewThresholds": {"totalChangePercent": "25.5", "devicesChangedCount": 5},
}


def refused(data: dict) -> list[tuple[str, str]]:
    with pytest.raises(InvalidSettingsError) as caught:
        parse_org_settings(data)
    return caught.value.problems


def test_every_setting_is_read_with_its_type() -> None:
    settings = parse_org_settings(FULL)

    assert settings.address_lines == ("1 High Street", "Leeds LS1 1AA")
    assert settings.payment_terms_days == 30
    assert settings.review_thresholds is not None
    assert settings.review_thresholds.total_change_percent == Decimal("25.5")
    assert settings.calendar() == CalendarSettings("Europe/London", 31, 3)
    assert settings.organisation() == Organisation(
        "demo-msp", "Demo MSP", ("1 High Street", "Leeds LS1 1AA"), "billing@msp.example"
    )


def test_public_settings_read_back_the_same() -> None:
    settings = parse_org_settings(FULL)

    assert parse_org_settings(settings.public()) == settings


def test_only_id_and_name_are_required_and_the_calendar_defaults_to_the_rules() -> None:
    settings = new_org_settings("demo-msp")

    assert (settings.name, settings.address_lines, settings.email) == ("demo-msp", (), None)
    assert settings.calendar() == CalendarSettings(
        time_zone="UTC", billing_day=1, late_time_grace_days=0
    )
    assert settings.next_statement_number == 1
    assert refused({"name": "x"}) == [("id", "required setting is missing")]


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("name", "Acme\u202e", "bidirectional"),
        ("name", "x" * 5000, "at most 200"),
        ("name", " ", "must not be empty"),
        ("addressLines", ["ok", "bad\nline"], "line 2 contains a control character"),
        ("addressLines", ["x"] * 7, "at most 6"),
        ("addressLines", ["y" * 101], "at most 100"),
        ("email", "billing@msp.example\r\nBcc: x@y.example", "control character"),
        ("email", "=?utf-8?q?x?=@msp.example", "encoded word"),
        ("email", "MSP <billing@msp.example>", "not an email address"),
        ("taxRegistrationNumber", "GB<script>", "letters, digits"),
        ("taxLabel", "Value added tax, as we say", "at most 20"),
        ("paymentTermsDays", 366, "from 0 to 365"),
        ("paymentTermsDays", -1, "from 0 to 365"),
        ("paymentTermsDays", "30", "whole number"),
        ("paymentInstructions", "Pay\x07now", "U+0007"),
        ("paymentLink", "http://pay.example/x", "https URL"),
        ("paymentLink", "https://user:pw@pay.example/x", "user name or password"),
        ("paymentLink", "javascript:alert(1)", "https URL"),
        ("paymentLink", "https://pay.example/a b", "printable ASCII"),
        ("paymentLink", "https://" + "p" * 500, "at most 500"),
        ("footerNote", "\u2066hidden\u2069", "bidirectional"),
        ("statementNumberPrefix", "INV #", "up to 20"),
        ("nextStatementNumber", 0, "from 1 to 999999999"),
        ("defaultLocale", "english", "locale"),
        ("defaultLocale", "xx-YY", "locale"),
        ("defaultLocale", "en_GB", "locale"),
        ("timeZone", "Mars/Olympus", "IANA"),
        ("timeZone", "localtime", "IANA"),
        ("timeZone", "/etc/passwd", "IANA"),
        ("billingDay", 0, "from 1 to 31"),
        ("billingDay", 32, "from 1 to 31"),
        ("lateTimeGraceDays", 29, "from 0 to 28"),
        ("reviewThresholds", {"totalChangePercent": "1e3"}, "percentage"),
        ("reviewThresholds", {"totalChangePercent": "1001"}, "from 0 to 1000"),
        ("reviewThresholds", {"devicesChangedCount": -1}, "from 0 to 100000"),
        ("reviewThresholds", {"other": 1}, "unknown setting"),
    ],
)
def test_a_bad_setting_is_refused_naming_the_field(field: str, value: object, reason: str) -> None:
    problems = refused({**FULL, field: value})

    assert len(problems) == 1, problems
    path, why = problems[0]
    assert path.split(".")[0] == field
    assert reason in why


def test_every_bad_setting_is_listed_in_the_org_id_field_reason_form() -> None:
    with pytest.raises(InvalidSettingsError) as caught:
        parse_org_settings({**FULL, "billingDay": 0, "timeZone": "Nowhere", "colour": "red"})

    assert str(caught.value).splitlines() == [
        "org demo-msp: timeZone: must be an IANA time zone like Europe/London or UTC",
        "org demo-msp: billingDay: must be from 1 to 31",
        "org demo-msp: colour: unknown setting",
    ]
    assert isinstance(caught.value, BillingError)


def test_a_malformed_org_id_is_listed_not_echoed() -> None:
    with pytest.raises(InvalidSettingsError) as caught:
        parse_org_settings({"id": "evil\u202e" + "x" * 300, "name": "O"})

    assert str(caught.value).startswith("org: id: must be 1-64 letters")


def test_python_field_names_are_not_a_second_spelling() -> None:
    assert refused({"id": "o", "name": "O", "time_zone": "UTC"}) == [
        ("time_zone", "unknown setting")
    ]


def test_update_changes_only_the_settings_given() -> None:
    current = parse_org_settings(FULL)

    updated = update_org_settings(current, {"paymentTermsDays": 14, "addressLines": ["2 Low St"]})

    assert (updated.payment_terms_days, updated.address_lines) == (14, ("2 Low St",))
    assert updated.time_zone == "Europe/London"
    assert updated.review_thresholds == current.review_thresholds


def test_update_with_none_clears_a_setting_back_to_its_default() -> None:
    updated = update_org_settings(parse_org_settings(FULL), {"email": None, "timeZone": None})

    assert (updated.email, updated.time_zone) == (None, "UTC")


def test_update_is_refused_whole_with_the_import_reasons() -> None:
    current = parse_org_settings(FULL)

    with pytest.raises(InvalidSettingsError) as caught:
        update_org_settings(current, {"name": "x" * 201, "email": "not-an-address"})

    assert {field for field, _reason in caught.value.problems} == {"name", "email"}
    with pytest.raises(InvalidSettingsError, match="id: cannot be changed"):
        update_org_settings(current, {"id": "other"})
    with pytest.raises(InvalidSettingsError, match="name: cannot be cleared"):
        update_org_settings(current, {"name": None})


def test_settings_are_immutable() -> None:
    settings = new_org_settings("o")

    with pytest.raises(ValueError):
        settings.billing_day = 5  # type: ignore[misc]
    assert isinstance(settings, OrgSettings)


def test_customer_profile_is_validated_like_the_import() -> None:
    profile = parse_customer_profile(
        "cust-1",
        {
            "addressLines": ["1 Rue X"],
            "taxId": "FR12345678901",
            "locale": "fr-FR",
            "paymentTermsDays": 45,
        },
    )

    assert profile == CustomerProfile(("1 Rue X",), "FR12345678901", "fr-FR", 45)
    with pytest.raises(InvalidSettingsError) as caught:
        parse_customer_profile("cust-1", {"locale": "klingon", "paymentTermsDays": 999})
    assert str(caught.value).splitlines() == [
        "customer cust-1: locale: must be a locale written like en-GB or de-CH that Babel knows",
        "customer cust-1: paymentTermsDays: must be from 0 to 365",
    ]
