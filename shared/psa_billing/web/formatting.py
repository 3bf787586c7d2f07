"""Money, dates and times on the pages, in the organisation's locale and time zone.

Money goes through the documents' formatter (render/formatting.py, Babel): the
locale's grouping and decimal sign, exactly the currency's digits, never rounded
here. Times are shown in the organisation's time zone. Imported on the first render
only (Babel's data is not loaded when the API function starts).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_datetime

from psa_billing.render.formatting import DEFAULT_LOCALE, formatter


@lru_cache(maxsize=64)
def _locale(tag: str) -> Locale:
    try:
        return Locale.parse(tag.replace("-", "_"))
    except (UnknownLocaleError, ValueError, TypeError):
        return Locale.parse(DEFAULT_LOCALE.replace("-", "_"))


@lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


@dataclass(frozen=True, slots=True)
class PageFormat:
    """``fmt`` in every template."""

    locale_tag: str = DEFAULT_LOCALE
    time_zone: str = "UTC"

    def money(self, amount: str | Decimal | None, currency: str) -> str:
        """The number alone, as the documents print it (``1,234.50``; ``1.234,50``)."""
        if amount is None or amount == "":
            return ""
        try:
            value = amount if isinstance(amount, Decimal) else Decimal(str(amount))
            return formatter(self.locale_tag or DEFAULT_LOCALE, currency).money(value)
        except (InvalidOperation, ValueError, LookupError):
            return str(amount)  # shown as stored rather than hidden or rounded

    def money_with_code(self, amount: str | Decimal | None, currency: str) -> str:
        if amount is None or amount == "":
            return ""
        try:
            value = amount if isinstance(amount, Decimal) else Decimal(str(amount))
            return formatter(self.locale_tag or DEFAULT_LOCALE, currency).money_with_code(value)
        except (InvalidOperation, ValueError, LookupError):
            return f"{amount} {currency}"

    def number(self, value: str | Decimal | int | None) -> str:
        if value is None or value == "":
            return ""
        try:
            return formatter(self.locale_tag or DEFAULT_LOCALE, "USD").decimal(Decimal(str(value)))
        except (InvalidOperation, ValueError, LookupError):
            return str(value)

    def date(self, value: str | date | datetime | None) -> str:
        if value is None or value == "":
            return ""
        day = _as_datetime(value)
        if day is None:
            return str(value)
        if isinstance(value, datetime) or (isinstance(value, str) and "T" in value):
            day = day.astimezone(_zone(self.time_zone))
        return format_date(day.date(), "medium", locale=_locale(self.locale_tag))

    def datetime(self, value: str | datetime | None) -> str:
        """An instant, in the organisation's time zone (``1 Nov 2026, 09:30``)."""
        if value is None or value == "":
            return ""
        moment = _as_datetime(value)
        if moment is None:
            return str(value)
        local = moment.astimezone(_zone(self.time_zone))
        return format_datetime(local, "medium", locale=_locale(self.locale_tag))

    def period(self, value: str | None) -> str:
        """``2026-10`` as ``October 2026`` in the locale."""
        if not value:
            return ""
        try:
            year, month = (int(p) for p in str(value).split("-", 1))
            return format_date(date(year, month, 1), "LLLL y", locale=_locale(self.locale_tag))
        except (ValueError, TypeError):
            return str(value)


def _as_datetime(value: str | date | datetime) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
