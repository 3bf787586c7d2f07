"""Typed authentication and authorisation errors (api/errors.py maps them to HTTP)."""

from __future__ import annotations


class AuthError(Exception):
    """Base class of the errors that end a request before any data is read."""


class InvalidTokenError(AuthError):
    """A bearer token that is missing, malformed, unsigned, expired or not ours.

    The message is deliberately the same for every cause: a caller learns nothing
    about which check failed (the reason is logged, without the token)."""

    def __init__(self, reason: str) -> None:
        super().__init__("the access token is missing, invalid or expired")
        self.reason = reason


class LoginFailedError(AuthError):
    """Wrong password, wrong or missing MFA code, or unknown user: one message for all."""

    def __init__(
        self, reason: str, message: str = "email, password or MFA code is not correct"
    ) -> None:
        super().__init__(message)
        self.reason = reason


class TooManyAttemptsError(AuthError):
    def __init__(self, retry_after_seconds: int) -> None:
        super().__init__(
            f"too many failed sign-ins for this account; try again in {retry_after_seconds} s"
        )
        self.retry_after_seconds = retry_after_seconds


class ForbiddenError(AuthError):
    """Signed in, a member of the organisation, but the role does not allow this."""


class AuthUnavailableError(AuthError):
    """The identity provider could not be reached or throttled us."""
