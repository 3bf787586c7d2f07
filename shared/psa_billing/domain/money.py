"""Money as a type: a Decimal amount with its ISO 4217 currency.

STYLE.md "Money is a type": built from str, int or Decimal (never float); one place
rounds (``Currency.round``: half-up to the minor unit) and one place formats
(``Money.format`` / ``str``). DynamoDB stores amounts as strings.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from psa_billing.domain.currencies import MINOR_UNITS
from psa_billing.domain.errors import (
    CurrencyMismatchError,
    InvalidAmountError,
    UnknownCurrencyError,
)


def to_decimal(value: str | int | Decimal) -> Decimal:
    """Read an exact decimal; floats are refused so that no binary rounding sneaks in."""
    if isinstance(value, (bool, float)):
        raise InvalidAmountError(f"{value!r}: money is never a float; pass a string")
    try:
        result = Decimal(value)
    except (InvalidOperation, TypeError, ValueError) as exc:
        raise InvalidAmountError(f"{value!r} is not a decimal number") from exc
    if not result.is_finite():
        raise InvalidAmountError(f"{value!r} is not a finite number")
    return result


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
        return value == value.quantize(self.quantum, rounding=ROUND_HALF_UP)

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
