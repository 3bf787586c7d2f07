"""Typed domain errors. Callers match on the class, never on message text."""

from __future__ import annotations


class BillingError(Exception):
    """Base class of every error the billing domain raises on purpose."""


class InvalidAdjustmentError(BillingError):
    """An adjustment that would not make a correct statement; nothing is appended
    (domain/adjustments.py)."""


class UnknownCurrencyError(BillingError):
    def __init__(self, code: str) -> None:
        super().__init__(f"unknown ISO 4217 currency code {code!r}")
        self.code = code


class CurrencyMismatchError(BillingError):
    def __init__(self, left: str, right: str) -> None:
        super().__init__(f"cannot combine {left} and {right} amounts")


class InvalidAmountError(BillingError):
    """An amount that is not a finite decimal, or has more digits than allowed."""


class InvalidPeriodError(BillingError):
    """A period that is not a calendar month written YYYY-MM."""


class InvalidTextError(BillingError, ValueError):
    """Text a field cannot take (control or bidi characters, too long, empty, not an
    email address). The message is the reason only; the caller names the field."""


class InvalidNumberError(InvalidAmountError):
    """Number text that is not plain decimal digits, or a figure outside its limits."""


class PeriodNotEndedError(BillingError):
    """A run for a month that has not ended yet in the organisation's time zone."""

    def __init__(self, period: str, time_zone: str, ends_local: str) -> None:
        super().__init__(f"{period} has not ended yet in {time_zone} (it ends {ends_local} local)")
        self.period = period
        self.time_zone = time_zone
        self.ends_local = ends_local


class InvalidSettingsError(BillingError):
    """Organisation or customer settings refused; ``problems`` are (field, reason) pairs,
    field in the settings' own camelCase names."""

    def __init__(self, kind: str, record_id: str, problems: list[tuple[str, str]]) -> None:
        self.kind = kind
        self.record_id = record_id
        self.problems = problems
        who = f"{kind} {record_id}" if record_id else kind
        super().__init__(
            "\n".join(
                f"{who}: {field}: {reason}" if field else f"{who}: {reason}"
                for field, reason in problems
            )
        )


class UnsafeHeaderError(BillingError):
    """An email header that would not say exactly what was meant: an address with a
    line break or control character, not exactly one plain address, or a finished
    message whose From, To, Reply-To or Cc parse back to other addresses. The statement
    is marked with this reason instead of being sent."""


class StatementStateError(BillingError):
    """What the statement's state does not allow now, with the reason: voiding a void
    statement or one being emailed, adjusting a void statement, a late-time adjustment
    with no late entry waiting. Nothing is written."""
