"""Typed InvoiceNinja errors. Callers match on the class and its ``problem``, never on text.

Every message is written for a person and never contains the API token.
"""

from __future__ import annotations

from enum import StrEnum

from psa_billing.domain.errors import BillingError


class Problem(StrEnum):
    """Why a call to InvoiceNinja did not give an answer the sync can use."""

    CONFIG = "config"  # the settings themselves are wrong (URL, token parameter)
    BAD_TOKEN = "bad_token"  # noqa: S105 (a problem name, not a secret)
    FORBIDDEN = "forbidden"  # the token works but its user may not do this
    DNS = "dns"
    NO_ROUTE = "no_route"
    REFUSED = "connection_refused"
    TLS = "tls"
    TIMEOUT = "timeout"
    DEADLINE = "deadline"
    NOT_INVOICENINJA = "not_invoiceninja"
    SERVER_ERROR = "server_error"
    RATE_LIMITED = "rate_limited"
    REJECTED = "rejected"  # InvoiceNinja refused what we sent (400/422)


class InvoiceNinjaError(BillingError):
    def __init__(self, problem: Problem, message: str) -> None:
        super().__init__(message)
        self.problem = problem
        self.message = message


class RejectedError(InvoiceNinjaError):
    """A 400/422 answer; ``fields`` holds InvoiceNinja's per-field validation messages."""

    def __init__(self, message: str, fields: dict[str, list[str]] | None = None) -> None:
        super().__init__(Problem.REJECTED, message)
        self.fields = fields or {}


class NotConfiguredError(BillingError):
    """INVOICENINJA_URL or the token is not set: the portal shows its Connect prompt."""

    def __init__(self) -> None:
        super().__init__(
            "InvoiceNinja is not configured: set INVOICENINJA_URL and INVOICENINJA_TOKEN "
            "(or INVOICENINJA_TOKEN_PARAMETER)"
        )


class PushError(BillingError):
    """Base of the reasons a push is refused before anything is sent."""


class UnknownSourceError(PushError):
    """The project, ticket or customer to push does not exist in the organisation."""


class NotBillableError(PushError):
    """The project is not billable."""


class NothingToPushError(PushError):
    """No billable time that has not been pushed already."""


class PushInProgressError(PushError):
    """Another push of the same project or ticket (or the same customer's first push) is
    running; try again in a moment."""


class PushOutcomeUnknownError(PushError):
    """InvoiceNinja did not confirm a create; the push is held until it is safe to retry."""
