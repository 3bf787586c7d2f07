"""Money as a type: a Decimal amount with its ISO 4217 currency.

STYLE.md "Money is a type": built from str, int or Decimal (never float); one place
rounds (``Currency.round``: half-up to the minor unit) and one place formats
(``Money.format`` / ``str``). DynamoDB stores amounts as strings.

Number text is read strictly (``to_decimal``): plain ASCII digits with an optional
point and sign, nothing else. Python's ``Decimal`` would also take "1e3", "1_0",
" 5 ", "٣" (an Arabic-Indic three) and "NaN"; a person typing an amount means none
of those, and some of them turn into figures nobody typed (docs/billing-rules.md
"Adjustments": every figure stays within the import's limits).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from psa_billing.domain.currencies import MINOR_UNITS
from psa_billing.domain.errors import (
    CurrencyMismatchError,
    InvalidAmountError,
    InvalidNumberError,
    UnknownCurrencyError,
)

# docs/billing-rules.md "Adjustments" and docs/import-format.md "Numbers": amounts and
# unit prices are under 10^12 in major units; quantities (device counts, hours) have at
# most 2 decimals and are under 10^7.
MONEY_LIMIT = Decimal(10) ** 12
QUANTITY_LIMIT = Decimal(10) ** 7
QUANTITY_DIGITS = 2

# ASCII only: ``re``'s [0-9] never matches other scripts' digits (\d would).
_PLAIN_DECIMAL = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")
_NUMBER_TEXT_MAX = 40  # far more than any figure within the limits needs


def to_decimal(value: str | int | Decimal) -> Decimal:
    """Read an exact decimal; floats are refused so that no binary rounding sneaks in.

    Text must be plain decimal notation ("12.50", "-3", "0.125"): exponents,
    underscores, spaces, signs other than a leading "-", non-ASCII digits, NaN and
    Infinity are refused with ``InvalidNumberError``.
    """
    if isinstance(value, (bool, float)):
        raise InvalidAmountError(f"{value!r}: money is never a float; pass a string")
    if isinstance(value, str):
        if len(value) > _NUMBER_TEXT_MAX:
            raise InvalidNumberError(f"a number of {len(value)} characters is far too long")
        if not _PLAIN_DECIMAL.fullmatch(value):
            raise InvalidNumberError(
                f"{value!r} is not a plain decimal number (digits 0-9, optionally a point "
                "and more digits; no exponent, spaces or underscores)"
            )
        return Decimal(value)
    if isinstance(value, int):
        if value.bit_length() > 128:
            raise InvalidNumberError("the number has far too many digits")
        return Decimal(value)
    if not isinstance(value, Decimal):
        raise InvalidAmountError(f"{type(value).__name__} is not a decimal number")
    if not value.is_finite():
        raise InvalidAmountError(f"{value!r} is not a finite number")
    return value


def fraction_digits(value: Decimal) -> int:
    """How many decimal places ``value`` needs ("1.50" needs 1, "1E+3" needs 0).

    Read from the digits themselves, never by ``quantize`` (which raises for figures
    beyond the context's 28 digits)."""
    _sign, digits, exponent = value.as_tuple()
    if not isinstance(exponent, int):
        raise InvalidAmountError(f"{value!r} is not a finite number")
    if exponent >= 0 or not any(digits):
        return 0
    trailing_zeros = len(digits) - len("".join(map(str, digits)).rstrip("0"))
    return max(0, -exponent - trailing_zeros)


def check_quantity(value: Decimal, what: str = "quantity", *, whole: bool = False) -> Decimal:
    """A quantity within the limits: not negative, at most 2 decimals (whole when
    ``whole``), under 10^7. Raises ``InvalidNumberError`` naming ``what``."""
    text = f"{what} {value:f}" if abs(value) < QUANTITY_LIMIT * 10 else what
    if value < 0:
        raise InvalidNumberError(f"{text} is negative")
    if value >= QUANTITY_LIMIT:
        raise InvalidNumberError(f"{what} must be less than {QUANTITY_LIMIT:f}")
    places = fraction_digits(value)
    if whole and places:
        raise InvalidNumberError(f"{text} must be a whole number")
    if places > QUANTITY_DIGITS:
        raise InvalidNumberError(f"{text} has more than {QUANTITY_DIGITS} decimal places")
    return value


@dataclass(frozen=True, slots=True)
class Currency:
    code: str
    exponent: int

    @classmethod
    def of(cls, code: str) -> Currency:
        try:
            return _CURRENCIES[code]
        except KeyError:
            raise UnknownCurrencyError(code) from None

    @property
    def quantum(self) -> Decimal:
        return Decimal(1).scaleb(-self.exponent)

    def round(self, value: Decimal) -> Decimal:
        """billing-rules.md "Money": half-up to the currency's minor unit. The only rounding."""
        return value.quantize(self.quantum, rounding=ROUND_HALF_UP)

    def has_exact_digits(self, value: Decimal) -> bool:
        """True when ``value`` needs no more fractional digits than the currency has."""
        return fraction_digits(value) <= self.exponent

    def check_amount(self, value: Decimal, what: str, *, allow_negative: bool = False) -> Decimal:
        """An amount or unit price within the limits: under 10^12 in major units (either
        sign) and no more digits than the currency has. Raises ``InvalidNumberError``."""
        if not allow_negative and value < 0:
            raise InvalidNumberError(f"{what} is negative")
        if abs(value) >= MONEY_LIMIT:
            raise InvalidNumberError(f"{what} must be less than {MONEY_LIMIT:f} {self.code}")
        if not self.has_exact_digits(value):
            raise InvalidNumberError(
                f"{what} {value:f} has more decimal places than {self.code} allows "
                f"({self.exponent})"
            )
        return value

    def __str__(self) -> str:
        return self.code


_CURRENCIES = {code: Currency(code, exp) for code, exp in MINOR_UNITS.items()}


def is_known_currency(code: str) -> bool:
    return code in _CURRENCIES


@dataclass(frozen=True, slots=True)
class Money:
    """An amount already rounded to its currency's minor unit."""

    amount: Decimal
    currency: Currency

    @classmethod
    def of(cls, value: str | int | Decimal, currency: Currency | str) -> Money:
        """Round ``value`` half-up to the currency and wrap it."""
        cur = currency if isinstance(currency, Currency) else Currency.of(currency)
        return cls(cur.round(to_decimal(value)), cur)

    @classmethod
    def exact(cls, value: str | int | Decimal, currency: Currency | str) -> Money:
        """Wrap ``value``, refusing it when it has more digits than the currency."""
        cur = currency if isinstance(currency, Currency) else Currency.of(currency)
        dec = to_decimal(value)
        if not cur.has_exact_digits(dec):
            raise InvalidAmountError(
                f"{value} has more decimal places than {cur.code} allows ({cur.exponent})"
            )
        return cls(cur.round(dec), cur)

    @classmethod
    def zero(cls, currency: Currency | str) -> Money:
        return cls.of(0, currency)

    def _same(self, other: Money) -> None:
        if other.currency != self.currency:
            raise CurrencyMismatchError(self.currency.code, other.currency.code)

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount - other.amount, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def __lt__(self, other: Money) -> bool:
        self._same(other)
        return self.amount < other.amount

    def is_zero(self) -> bool:
        return self.amount == 0

    def format(self) -> str:
        """billing-rules.md "Money": exactly the currency's digits ("1234.50", "1200" for JPY)."""
        amount = self.amount if self.amount != 0 else abs(self.amount)  # never "-0.00"
        return f"{amount:.{self.currency.exponent}f}"

    def __str__(self) -> str:
        return self.format()


def format_amount(value: Decimal, currency: Currency) -> str:
    """Format an already-rounded amount (the same rule as ``Money.format``)."""
    return Money(currency.round(value), currency).format()
