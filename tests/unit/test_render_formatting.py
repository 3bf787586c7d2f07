"""Figures and dates per the view's locale (render.formatting): grouping and decimal sign
from the locale, always the currency's minor-unit digits, never rounded, Latin digits."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from psa_billing.render.formatting import InvalidLocaleError, formatter
from psa_billing.render.view import duration_label

DAY = date(2026, 11, 1)


@pytest.mark.parametrize(
    ("locale", "currency", "amount", "money", "day"),
    [
        ("en-GB", "GBP", "1234567.50", "GBP\xa01,234,567.50", "1 November 2026"),
        ("en-US", "USD", "-1234.50", "USD\xa0-1,234.50", "November 1, 2026"),
        ("de-DE", "EUR", "1234567.50", "1.234.567,50\xa0EUR", "1. November 2026"),
        ("fr-FR", "EUR", "1234.50", "1\u202f234,50\xa0EUR", "1 novembre 2026"),
        ("ja-JP", "JPY", "1234567", "JPY\xa01,234,567", "2026年11月1日"),
        ("ar-BH", "BHD", "1234.500", "1,234.500\xa0BHD", "1/11/2026"),
    ],
)
def test_money_and_dates_follow_the_locale(
    locale: str, currency: str, amount: str, money: str, day: str
) -> None:
    f = formatter(locale, currency)
    assert f.money_with_code(Decimal(amount)) == money
    assert f.date(DAY) == day


def test_minor_unit_digits_are_always_shown() -> None:
    assert formatter("en-GB", "GBP").money(Decimal(12)) == "12.00"
    assert formatter("en-GB", "JPY").money(Decimal(1200)) == "1,200"
    assert formatter("en-GB", "BHD").money(Decimal("12.3")) == "12.300"


def test_formatting_never_rounds_money() -> None:
    with pytest.raises(ValueError, match="already rounded"):
        formatter("en-GB", "GBP").money(Decimal("1.005"))
    with pytest.raises(ValueError):
        formatter("ja-JP", "JPY").money(Decimal("10.5"))


def test_percentages() -> None:
    assert formatter("en-GB", "GBP").percent(Decimal("20.0000")) == "20%"
    assert formatter("en-GB", "GBP").percent(Decimal("7.50")) == "7.5%"
    assert formatter("de-DE", "EUR").percent(Decimal("19")) == "19\xa0%"


def test_unknown_locale_is_a_clear_error() -> None:
    with pytest.raises(InvalidLocaleError, match="xx-YY"):
        formatter("xx-YY", "GBP")


@pytest.mark.parametrize(
    ("minutes", "label"), [(415, "6 h 55 min"), (60, "1 h"), (5, "5 min"), (0, "0 min")]
)
def test_time_is_shown_in_hours_and_minutes(minutes: int, label: str) -> None:
    assert duration_label(minutes) == label


@pytest.mark.parametrize(
    "locale", ["en-GB", "en-US", "de-DE", "de-CH", "fr-FR", "es-ES", "pl-PL", "ja-JP", "ar-BH"]
)
@pytest.mark.parametrize("amount", ["0.00", "-0.50", "1234.50", "-12345678.90", "999999999.99"])
def test_money_is_what_babel_writes_for_the_locale(locale: str, amount: str) -> None:
    from babel.numbers import format_decimal

    f = formatter(locale, "EUR")
    babel = format_decimal(
        Decimal(amount), format="#,##0.00", locale=locale.replace("-", "_"), numbering_system="latn"
    )
    assert f.money(Decimal(amount)) == babel.replace("\u200e", "").replace("\u200f", "")
