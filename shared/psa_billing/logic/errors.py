"""The errors the API's use cases raise on purpose (logic/billing_api.py,
logic/settings_api.py), in a module of their own so that the API's error mapping can
name them without importing the use cases and their adapters at cold start."""

from __future__ import annotations

from psa_billing.domain.errors import BillingError


class NotFound(BillingError):
    """Unknown, or another organisation's."""


class NotSendable(BillingError):
    """The statement cannot be sent (or re-sent) in its current state."""


class PeriodRunning(BillingError):
    """A run of that period is in progress."""


class CurrencyLocked(BillingError):
    """A customer already billed keeps its currency."""
