"""Typed domain errors. Callers match on the class, never on message text."""

from __future__ import annotations


class BillingError(Exception):
    """Base class of every error the billing domain raises on purpose."""


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


class UnsafeHeaderError(BillingError):
    """An email header that would not say exactly what was meant: an address with a
    line break or control character, not exactly one plain address, or a finished
    message whose From, To, Reply-To or Cc parse back to other addresses. The statement
    is marked with this reason instead of being sent."""
