"""Money is a type (STYLE.md 2; billing-rules.md "Money")."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from psa_billing.domain.errors import (
    CurrencyMismatchError,
    InvalidAmountError,
    InvalidNumberError,
    UnknownCurrencyError,
)
from psa_billing.domain.money import (
    Currency,
    Money,
    check_quantity,
    format_amount,
    fraction_digits,
    is_known_currency,
    to_decimal,
)

D = Decimal
GBP = Currency.of("GBP")
JPY = Currency.of("JPY")
BHD = Currency.of("BHD")


@pytest.mark.parametrize(
    ("code", "exponent"),
    [("GBP", 2), ("EUR", 2), ("USD", 2), ("JPY", 0), ("BHD", 3), ("KWD", 3)],
)
def test_currency_minor_unit_is_the_iso_4217_exponent(code: str, exponent: int) -> None:
    assert Currency.of(code).exponent == exponent
    assert is_known_currency(code)


@pytest.mark.parametrize("code", ["XXX", "gbp", "", "XAU", "EURO"])
def test_unknown_currency_is_an_error(code: str) -> None:
    with pytest.raises(UnknownCurrencyError):
        Currency.of(code)
    with pytest.raises(UnknownCurrencyError):
        Money.of("1", code)
    assert not is_known_currency(code)


def test_float_is_refused() -> None:
    with pytest.raises(InvalidAmountError):
        Money.of(1.5, "GBP")  # type: ignore[arg-type]
    with pytest.raises(InvalidAmountError):
        to_decimal(0.1)  # type: ignore[arg-type]


def test_bool_is_refused() -> None:
    with pytest.raises(InvalidAmountError):
        to_decimal(True)


@pytest.mark.parametrize("text", ["abc", "", "1,50", "NaN", "Infinity", "-Infinity", "sNaN"])
def test_non_finite_or_non_numeric_amount_is_refused(text: str) -> None:
    with pytest.raises(InvalidAmountError):
        Money.of(text, "GBP")


def test_amount_is_built_from_str_int_or_decimal() -> None:
    assert Money.of("12.5", "GBP").amount == D("12.50")
    assert Money.of(12, "GBP").amount == D("12.00")
    assert Money.of(D("12.345"), GBP).amount == D("12.35")


@pytest.mark.parametrize(
    ("value", "code", "expected"),
    [
        ("0.125", "GBP", "0.13"),  # half-up, where banker's rounding would give 0.12
        ("0.135", "GBP", "0.14"),
        ("0.124999", "GBP", "0.12"),
        ("-0.125", "GBP", "-0.13"),  # ROUND_HALF_UP rounds halves away from zero
        ("2.5", "JPY", "3"),
        ("3.5", "JPY", "4"),
        ("1.0005", "BHD", "1.001"),
        ("1.0004", "BHD", "1.000"),
    ],
)
def test_rounding_is_half_up_to_the_minor_unit(value: str, code: str, expected: str) -> None:
    money = Money.of(value, code)
    assert money.amount == D(expected)
    assert money.format() == expected


def test_currency_round_keeps_exactly_the_currency_digits() -> None:
    assert str(GBP.round(D("7"))) == "7.00"
    assert str(JPY.round(D("7.4"))) == "7"
    assert str(BHD.round(D("0"))) == "0.000"


def test_format_has_exactly_the_currency_digits() -> None:
    assert Money.of("1234.5", "GBP").format() == "1234.50"
    assert str(Money.of("1234.5", "GBP")) == "1234.50"
    assert Money.of("1200", "JPY").format() == "1200"
    assert Money.of("1.5", "BHD").format() == "1.500"
    assert Money.zero("EUR").format() == "0.00"


def test_format_never_uses_exponent_notation() -> None:
    assert Money.of(D("1E+3"), "GBP").format() == "1000.00"
    assert Money.of(D("1E+3"), "JPY").format() == "1000"


def test_minus_zero_is_never_printed() -> None:
    assert Money(D("-0.00"), GBP).format() == "0.00"
    assert Money.of("-0.001", "GBP").format() == "0.00"  # rounds to -0.00
    assert Money.of("-0.4", "JPY").format() == "0"
    assert format_amount(D("-0.0004"), BHD) == "0.000"
    assert (-Money.zero("GBP")).format() == "0.00"


def test_negative_amount_is_printed_with_its_sign() -> None:
    assert Money.of("-12.5", "GBP").format() == "-12.50"


def test_format_amount_rounds_then_formats() -> None:
    assert format_amount(D("1234.505"), GBP) == "1234.51"
    assert format_amount(D("1199.5"), JPY) == "1200"


def test_exact_refuses_too_many_digits() -> None:
    with pytest.raises(InvalidAmountError):
        Money.exact("1.234", "GBP")
    with pytest.raises(InvalidAmountError):
        Money.exact("1.5", "JPY")
    with pytest.raises(InvalidAmountError):
        Money.exact("0.0001", "BHD")


def test_exact_accepts_fewer_digits_and_trailing_zeros() -> None:
    assert Money.exact("1.2", "GBP").format() == "1.20"
    assert Money.exact("1.230", "GBP").amount == D("1.23")
    assert Money.exact("1200", "JPY").format() == "1200"
    assert Money.exact("1.5", "BHD").format() == "1.500"


def test_arithmetic_keeps_the_currency() -> None:
    a = Money.of("10.10", "GBP")
    b = Money.of("0.95", "GBP")
    assert (a + b).format() == "11.05"
    assert (a - b).format() == "9.15"
    assert (-a).format() == "-10.10"
    assert b < a
    assert Money.zero("GBP").is_zero()
    assert not a.is_zero()


def test_combining_different_currencies_is_refused() -> None:
    with pytest.raises(CurrencyMismatchError):
        _ = Money.of("1", "GBP") + Money.of("1", "EUR")
    with pytest.raises(CurrencyMismatchError):
        _ = Money.of("1", "GBP") - Money.of("1", "USD")
    with pytest.raises(CurrencyMismatchError):
        _ = Money.of("1", "GBP") < Money.of("1", "JPY")


_CODES = st.sampled_from(["GBP", "EUR", "USD", "JPY", "BHD", "KWD"])
_DECIMALS = st.decimals(
    min_value=D("-1e12"), max_value=D("1e12"), allow_nan=False, allow_infinity=False, places=6
)


@given(value=_DECIMALS, code=_CODES)
def test_rounded_amount_has_exactly_the_currency_digits_and_is_within_half_a_unit(
    value: Decimal, code: str
) -> None:
    money = Money.of(value, code)
    cur = money.currency
    assert money.amount.as_tuple().exponent == -cur.exponent
    assert abs(money.amount - value) <= cur.quantum / 2
    text = money.format()
    assert D(text) == money.amount
    assert len(text.partition(".")[2]) == cur.exponent
    if money.is_zero():
        assert not text.startswith("-")


@pytest.mark.parametrize(
    "text",
    ["1e3", "1E-400", "1_0", "٣", "١٢٫٥", " 5", "5 ", "1 000", "+5", "0x10", ".5", "5.", "--5"],
)
def test_number_text_must_be_plain_ascii_decimal_notation(text: str) -> None:
    with pytest.raises(InvalidNumberError, match="plain decimal number"):
        to_decimal(text)


def test_plain_decimal_text_is_read_exactly() -> None:
    assert to_decimal("-12.50") == D("-12.50")
    assert str(to_decimal("0.125")) == "0.125"


def test_number_text_longer_than_any_figure_needs_is_refused() -> None:
    with pytest.raises(InvalidNumberError, match="far too long"):
        to_decimal("1" * 5000)
    with pytest.raises(InvalidNumberError, match="far too many digits"):
        to_decimal(10**5000)


@pytest.mark.parametrize(
    ("value", "places"),
    [("1.50", 1), ("1.00", 0), ("1E+3", 0), ("1E+30", 0), ("0.000", 0), ("1E-400", 400), ("7", 0)],
)
def test_fraction_digits_counts_the_places_a_value_needs(value: str, places: int) -> None:
    assert fraction_digits(D(value)) == places


def test_exact_digits_check_works_beyond_the_decimal_context_precision() -> None:
    assert GBP.has_exact_digits(D("1E+30"))  # quantize would raise InvalidOperation here
    assert not GBP.has_exact_digits(D("1E-400"))


def test_amounts_must_be_under_10_to_the_12_with_the_currency_digits() -> None:
    assert GBP.check_amount(D("999999999999.99"), "unit price") == D("999999999999.99")
    with pytest.raises(InvalidNumberError, match="less than 1000000000000 GBP"):
        GBP.check_amount(D("1000000000000"), "unit price")
    with pytest.raises(InvalidNumberError, match="more decimal places than JPY"):
        JPY.check_amount(D("1.5"), "unit price")
    with pytest.raises(InvalidNumberError, match="negative"):
        GBP.check_amount(D("-1"), "unit price")
    assert GBP.check_amount(D("-1"), "credit line", allow_negative=True) == D("-1")


def test_quantities_have_at_most_two_decimals_and_stay_under_10_to_the_7() -> None:
    assert check_quantity(D("9999999.99")) == D("9999999.99")
    for bad, why in (("10000000", "less than"), ("1.005", "2 decimal"), ("-1", "negative")):
        with pytest.raises(InvalidNumberError, match=why):
            check_quantity(D(bad))
    with pytest.raises(InvalidNumberError, match="whole number"):
        check_quantity(D("7.5"), whole=True)
