"""Numbers, money, dates and durations as a customer reads them, per locale (Babel).

One ``Formatter`` per document: the locale comes from the view (``StatementView.locale``,
a BCP 47 tag such as ``en-GB``, ``de-DE``, ``ja-JP``, ``ar-BH``). The words around the
figures stay English (docs/documents.md); only the figures follow the locale:

* money: the locale's digit grouping and decimal sign, always exactly the currency's
  ISO 4217 minor-unit digits (JPY 0, BHD 3; ``psa_billing.domain.money``), the ISO code
  beside the number where the locale puts its currency sign. Formatting never rounds:
  an amount with more digits than its currency has is a bug upstream, and raises.
* digits are always Latin (``numbering_system="latn"``), and bidi control marks that
  CLDR puts in some patterns (Arabic locales) are dropped: the PDF is laid out
  left-to-right and the fonts draw no such marks (docs/documents.md "Scripts").
* dates: the locale's long form (``1 November 2026``, ``2026年11月1日``), except for
  locales written right-to-left, whose month names the PDF cannot shape: there the
  locale's numeric form (``01/11/2026``).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from babel import Locale, UnknownLocaleError
from babel.dates import format_date
from babel.numbers import format_decimal

from psa_billing.domain.errors import BillingError
from psa_billing.domain.money import Currency

__all__ = ["Formatter", "InvalidLocaleError", "formatter"]

DEFAULT_LOCALE = "en-GB"
_BIDI_MARKS = re.compile("[\u200e\u200f\u061c\u202a-\u202e\u2066-\u2069]")
_RTL_LANGUAGES = frozenset({"ar", "he", "fa", "ur", "ps", "sd", "ug", "yi", "dv", "ckb"})


class InvalidLocaleError(BillingError):
    """A locale tag Babel does not know (the view's ``locale`` field)."""


@dataclass(frozen=True, slots=True)
class Formatter:
    """Figures for one locale and one currency."""

    locale: Locale
    currency: Currency
    _symbols: dict[int, str]  # str.translate table: "," "." "-" -> the locale's signs
    _code_first: bool

    def money(self, amount: Decimal) -> str:
        """The number alone (for table columns whose header names the currency)."""
        if not self.currency.has_exact_digits(amount):
            raise ValueError(
                f"{amount} has more digits than {self.currency.code} allows; "
                "amounts reach rendering already rounded"
            )
        # What Babel's format_decimal gives for the pattern "#,##0.00" (the tests compare
        # the two), done with str.format: Babel costs ~0.15 ms a figure, and a 600-line
        # statement prints 1,200 of them.
        text = f"{amount:,.{self.currency.exponent}f}"
        return text.translate(self._symbols)

    def money_with_code(self, amount: Decimal) -> str:
        """``GBP 1,234.50`` / ``1.234,50 EUR``: the code where the locale puts its sign."""
        number = self.money(amount)
        code = self.currency.code
        return f"{code}\u00a0{number}" if self._code_first else f"{number}\u00a0{code}"

    def date(self, day: date) -> str:
        return _date_label(self.locale, day)

    def percent(self, value: Decimal) -> str:
        """A tax rate given in percent (``20``, ``7.5``): ``20%``, ``7,5 %``."""
        digits = max(0, -value.normalize().as_tuple().exponent)  # type: ignore[operator]
        pattern = "#,##0" + ("." + "0" * digits if digits else "")
        number = format_decimal(
            value.normalize(), format=pattern, locale=self.locale, numbering_system="latn"
        )
        sign = self.locale.number_symbols["latn"].get("percentSign", "%")
        spaced = "\u00a0" in self.locale.percent_formats[None].pattern
        return _BIDI_MARKS.sub("", f"{number}\u00a0{sign}" if spaced else f"{number}{sign}")

    def decimal(self, value: Decimal) -> str:
        """A plain quantity (device count, other units), grouped per locale."""
        digits = max(0, -value.normalize().as_tuple().exponent)  # type: ignore[operator]
        pattern = "#,##0" + ("." + "0" * digits if digits else "")
        text = format_decimal(
            value.normalize(), format=pattern, locale=self.locale, numbering_system="latn"
        )
        return _BIDI_MARKS.sub("", text)


@functools.lru_cache(maxsize=4096)
def _date_label(locale: Locale, day: date) -> str:
    """Babel takes about 1 ms a date; a statement prints the same few dates many times."""
    width = "short" if locale.language in _RTL_LANGUAGES else "long"
    return _BIDI_MARKS.sub("", format_date(day, width, locale=locale))


@functools.cache
def formatter(locale_tag: str, currency_code: str) -> Formatter:
    """The ``Formatter`` for a BCP 47 tag (``de-DE``; ``de_DE`` works too) and a currency."""
    try:
        loc = Locale.parse((locale_tag or DEFAULT_LOCALE).replace("-", "_"))
    except (UnknownLocaleError, ValueError, TypeError) as exc:
        raise InvalidLocaleError(f"unknown locale {locale_tag!r}") from exc
    currency = Currency.of(currency_code)
    signs = loc.number_symbols["latn"]
    symbols = {
        ord(","): _BIDI_MARKS.sub("", signs["group"]),
        ord("."): _BIDI_MARKS.sub("", signs["decimal"]),
        ord("-"): _BIDI_MARKS.sub("", signs["minusSign"]),
    }
    standard = loc.currency_formats["standard"].pattern.split(";")[0]
    code_first = standard.strip(" \u00a0\u200e\u200f").startswith("¤")
    return Formatter(loc, currency, symbols, code_first)
