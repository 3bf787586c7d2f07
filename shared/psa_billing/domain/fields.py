"""Field types shared by every boundary that takes billing data: the import document,
organisation settings and customer settings (docs/import-format.md).

Each is a pydantic ``Annotated`` type over one plain validator, so a field is checked
the same way wherever it appears and its error reads the same: a short reason, with
no echo of a value that could itself be hostile (see ``psa_billing.domain.text``).
"""

from __future__ import annotations

import datetime as dt
import re
import urllib.parse
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from typing import Annotated

from pydantic import BeforeValidator, PlainSerializer, PlainValidator
from pydantic_core import PydanticCustomError

from psa_billing.domain import text
from psa_billing.domain.calendar import known_time_zones
from psa_billing.domain.errors import InvalidTextError
from psa_billing.domain.money import MONEY_LIMIT, QUANTITY_LIMIT, fraction_digits, is_known_currency

ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_MONEY = re.compile(r"[0-9]{1,12}(?:\.[0-9]{1,6})?")
_TAX = re.compile(r"[0-9]{1,3}(?:\.[0-9]{1,4})?")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_CURRENCY = re.compile(r"[A-Z]{3}")
_TAX_NUMBER = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ./-]{0,39}")
_NUMBER_PREFIX = re.compile(r"[A-Za-z0-9._/-]{0,20}")
_LOCALE = re.compile(r"[a-z]{2,3}(?:-[A-Z][a-z]{3})?(?:-(?:[A-Z]{2}|[0-9]{3}))?")

MONEY_PLACES = 6
TAX_PLACES = 4
# docs/import-format.md "Dates": no billing record is older than 2000 or beyond 2100;
# a date outside is a typo (20225-01-01 cannot be written, 1025-01-01 can).
FIRST_DATE = dt.date(2000, 1, 1)
LAST_DATE = dt.date(2100, 12, 31)


@dataclass(frozen=True, slots=True)
class RefusedNumber:
    """A JSON number the reader would not turn into a figure (an exponent, far too many
    digits); it travels to the field's validator so that the problem names the field."""

    reason: str

    def __repr__(self) -> str:
        return "<refused number>"


def _not_null(value: object) -> object:
    # Optional fields may be left out, but the format has no null for them.
    if value is None:
        raise PydanticCustomError("not_null", "must not be null; leave the field out instead")
    return value


NotNull = BeforeValidator(_not_null)


def _id(value: object) -> str:
    if not isinstance(value, str) or not ID_PATTERN.fullmatch(value):
        raise PydanticCustomError(
            "id",
            "must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit",
        )
    return value


def exact_decimal(value: object, kind: str) -> Decimal | None:
    """An exact Decimal from a JSON number (int or Decimal); None if not a number."""
    if isinstance(value, bool):
        return None
    if isinstance(value, RefusedNumber):
        raise PydanticCustomError(kind, value.reason)
    if isinstance(value, float):
        raise PydanticCustomError(
            kind,
            "was read as a binary float and may have lost digits; write it as a decimal "
            "string or parse the JSON with parse_document",
        )
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, Decimal) and value.is_finite():
        return value
    return None


def _decimal_field(value: object, *, kind: str, limit: Decimal, places: int) -> Decimal:
    if isinstance(value, str):
        if not _MONEY.fullmatch(value):
            raise PydanticCustomError(
                kind,
                'must be a decimal string like "12.50": up to 12 digits, '
                "optionally a point and up to 6 decimals, no sign",
            )
        number: Decimal | None = Decimal(value)
    else:
        number = exact_decimal(value, kind)
    if number is None:
        raise PydanticCustomError(kind, "must be a decimal string or a JSON number")
    if number < 0:
        raise PydanticCustomError(kind, "must not be negative")
    if number >= limit:
        raise PydanticCustomError(kind, "must be less than {limit}", {"limit": f"{limit:f}"})
    if fraction_digits(number) > places:
        raise PydanticCustomError(
            kind, "must have at most {places} decimals", {"places": str(places)}
        )
    return number.copy_abs()  # -0 is 0


def _money(value: object) -> Decimal:
    return _decimal_field(value, kind="money", limit=MONEY_LIMIT, places=MONEY_PLACES)


def _hours(value: object) -> Decimal:
    # A contract's included hours per month: the money form the shared schema gives it
    # (6 decimals) but a quantity's limit (under 10^7; a month has at most 744 hours).
    return _decimal_field(value, kind="hours", limit=QUANTITY_LIMIT, places=MONEY_PLACES)


def _tax_percent(value: object) -> Decimal:
    if isinstance(value, str):
        if not _TAX.fullmatch(value):
            raise PydanticCustomError(
                "tax_percent", 'must be a decimal string like "20" or "7.5" (up to 4 decimals)'
            )
        number: Decimal | None = Decimal(value)
    else:
        number = exact_decimal(value, "tax_percent")
    if number is None:
        raise PydanticCustomError("tax_percent", "must be a decimal string or a JSON number")
    # docs/billing-rules.md "Inputs": taxPercent is 0-100, up to 4 decimals.
    if not Decimal(0) <= number <= Decimal(100):
        raise PydanticCustomError("tax_percent", "must be between 0 and 100")
    if fraction_digits(number) > TAX_PLACES:
        raise PydanticCustomError("tax_percent", "must have at most 4 decimals")
    return number.copy_abs()


def _date(value: object) -> dt.date:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        day = value
    elif not isinstance(value, str) or not _DATE.fullmatch(value):
        raise PydanticCustomError("date", "must be a date written YYYY-MM-DD")
    else:
        try:
            day = dt.date.fromisoformat(value)
        except ValueError:
            raise PydanticCustomError(
                "date", "{value} is not a real calendar date", {"value": value}
            ) from None
    if not FIRST_DATE <= day <= LAST_DATE:
        raise PydanticCustomError(
            "date", "must be from 2000-01-01 to 2100-12-31, not {value}", {"value": str(day)}
        )
    return day


def _currency(value: object) -> str:
    if not isinstance(value, str) or not _CURRENCY.fullmatch(value):
        raise PydanticCustomError("currency", "must be a three-letter ISO 4217 code like GBP")
    if not is_known_currency(value):
        raise PydanticCustomError(
            "unknown_currency", "unknown ISO 4217 currency code '{code}'", {"code": value}
        )
    return value


def _email(value: object) -> str:
    try:
        return text.clean_email(value)
    except InvalidTextError as exc:
        raise PydanticCustomError("email", str(exc)) from None


def _whole(value: object, kind: str, low: int, high: int, unit: str) -> int:
    number = exact_decimal(value, kind)
    # JSON Schema "integer" also admits 30.0; a string "30" is not a number.
    if number is None or number != number.to_integral_value():
        raise PydanticCustomError(kind, "must be a whole number of {unit}", {"unit": unit})
    if not low <= number <= high:
        raise PydanticCustomError(
            kind, "must be from {low} to {high}", {"low": str(low), "high": str(high)}
        )
    return int(number)


def _minutes(value: object) -> int:
    return _whole(value, "minutes", 1, 1440, "minutes")


def _payment_days(value: object) -> int:
    return _whole(value, "days", 0, 365, "days")


def _text_type(max_length: int, *, required: bool, multiline: bool = False) -> PlainValidator:
    def check(value: object) -> str:
        try:
            return text.clean_text(
                value, max_length=max_length, required=required, multiline=multiline
            )
        except InvalidTextError as exc:
            raise PydanticCustomError("text", str(exc)) from None

    return PlainValidator(check)


def _address_lines(value: object) -> tuple[str, ...]:
    if not isinstance(value, (list, tuple)):
        raise PydanticCustomError("address", "must be a list of address lines")
    if len(value) > text.ADDRESS_LINES_MAX:
        raise PydanticCustomError(
            "address",
            "has {n} lines; at most {max} allowed",
            {"n": str(len(value)), "max": str(text.ADDRESS_LINES_MAX)},
        )
    lines: list[str] = []
    for number, line in enumerate(value, start=1):
        try:
            lines.append(text.clean_text(line, max_length=text.ADDRESS_LINE_MAX))
        except InvalidTextError as exc:
            raise PydanticCustomError(
                "address", "line {n} {reason}", {"n": str(number), "reason": str(exc)}
            ) from None
    return tuple(lines)


def _tax_number(value: object) -> str:
    if not isinstance(value, str) or not _TAX_NUMBER.fullmatch(value):
        raise PydanticCustomError(
            "tax_number",
            "must be 1-40 letters, digits, spaces, '.', '/' or '-', starting with a letter "
            "or digit (like GB123456789)",
        )
    return value


def _number_prefix(value: object) -> str:
    if not isinstance(value, str) or not _NUMBER_PREFIX.fullmatch(value):
        raise PydanticCustomError(
            "number_prefix", "must be up to 20 letters, digits, '.', '_', '/' or '-'"
        )
    return value


@cache
def _known_locale(tag: str) -> bool:
    # Imported on first use: only imports and settings changes read locales, and every
    # function loads this module (the cold-start budget, tests/unit/test_cold_start.py).
    from babel import Locale, UnknownLocaleError  # noqa: PLC0415

    try:
        Locale.parse(tag, sep="-")
    except (UnknownLocaleError, ValueError):
        return False
    return True


def _locale(value: object) -> str:
    # A BCP 47 tag as people write them (en-GB, de-CH, zh-Hant-TW) that Babel has data
    # for: statements are formatted with Babel.
    if not isinstance(value, str) or not _LOCALE.fullmatch(value) or not _known_locale(value):
        raise PydanticCustomError(
            "locale", "must be a locale written like en-GB or de-CH that Babel knows"
        )
    return value


def _time_zone(value: object) -> str:
    if not isinstance(value, str) or value not in known_time_zones():
        raise PydanticCustomError(
            "time_zone", "must be an IANA time zone like Europe/London or UTC"
        )
    return value


def _https_url(value: object) -> str:
    if not isinstance(value, str) or len(value) > 500:
        raise PydanticCustomError("url", "must be an https URL of at most 500 characters")
    if not value.isascii() or not value.isprintable() or " " in value:
        raise PydanticCustomError(
            "url", "must be an https URL of printable ASCII (percent-encode anything else)"
        )
    parts = urllib.parse.urlsplit(value)
    if parts.scheme != "https" or not parts.hostname:
        raise PydanticCustomError("url", "must be an https URL like https://pay.example/acme")
    if parts.username is not None or parts.password is not None:
        raise PydanticCustomError("url", "must not carry a user name or password")
    return value


# In JSON, decimals are written as plain decimal strings (never floats, never exponents),
# dates ISO, address lines a list. (Without an explicit serializer pydantic serialises a
# PlainValidator type in JSON mode with warnings.)
AsDecimalText = PlainSerializer(lambda value: f"{value:f}", return_type=str, when_used="json")
AsIsoDate = PlainSerializer(lambda value: value.isoformat(), return_type=str, when_used="json")
AsList = PlainSerializer(list, return_type=list[str], when_used="json")

Id = Annotated[str, PlainValidator(_id)]
Money = Annotated[Decimal, PlainValidator(_money), AsDecimalText]
Hours = Annotated[Decimal, PlainValidator(_hours), AsDecimalText]
TaxPercent = Annotated[Decimal, PlainValidator(_tax_percent), AsDecimalText]
Date = Annotated[dt.date, PlainValidator(_date), AsIsoDate]
CurrencyCode = Annotated[str, PlainValidator(_currency)]
Email = Annotated[str, PlainValidator(_email)]
Minutes = Annotated[int, PlainValidator(_minutes)]
PaymentDays = Annotated[int, PlainValidator(_payment_days)]
AddressLines = Annotated[tuple[str, ...], PlainValidator(_address_lines), AsList]
TaxNumber = Annotated[str, PlainValidator(_tax_number)]
NumberPrefix = Annotated[str, PlainValidator(_number_prefix)]
LocaleTag = Annotated[str, PlainValidator(_locale)]
TimeZoneName = Annotated[str, PlainValidator(_time_zone)]
HttpsUrl = Annotated[str, PlainValidator(_https_url)]

# Text, single line unless named otherwise (lengths: docs/import-format.md "Text").
Name = Annotated[str, _text_type(text.NAME_MAX, required=True)]
Code = Annotated[str, _text_type(text.CODE_MAX, required=True)]
Subject = Annotated[str, _text_type(text.SUBJECT_MAX, required=True)]
Label = Annotated[str, _text_type(20, required=True)]
Text40 = Annotated[str, _text_type(40, required=False)]
Text64 = Annotated[str, _text_type(text.USER_ID_MAX, required=False)]
Text200 = Annotated[str, _text_type(text.NAME_MAX, required=False)]
Description = Annotated[str, _text_type(text.DESCRIPTION_MAX, required=False, multiline=True)]
Note = Annotated[str, _text_type(500, required=True, multiline=True)]
LongNote = Annotated[str, _text_type(text.DESCRIPTION_MAX, required=True, multiline=True)]
