"""Sign-in with a lockout, and who a verified token belongs to.

Lockout (docs/api.md "Lockout"): failures are counted per account (a hash of the
lower-cased email, whether or not such a user exists, so the counter says nothing
about who has an account). ``max_failures`` failures within ``window`` seconds lock
the account for ``lock`` seconds: every sign-in for it is answered 429 with
Retry-After, without asking Cognito, even with the right password. A successful
sign-in clears the counter.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from psa_billing.auth.cognito import Tokens
from psa_billing.auth.errors import InvalidTokenError, LoginFailedError, TooManyAttemptsError
from psa_billing.auth.roles import Principal, Role
from psa_billing.auth.verifier import VerifiedToken
from psa_billing.dal.access import MachineClient, UserAccess


class FailureStore(Protocol):
    def login_failures(self, account_hash: str) -> tuple[int, int, int | None]: ...
    def put_login_failures(
        self, account_hash: str, failures: int, first_at: int, locked_until: int | None
    ) -> None: ...


class IdentityProvider(Protocol):
    def login(self, email: str, password: str, mfa_code: str | None) -> Tokens: ...


@dataclass(frozen=True)
class LockoutRule:
    max_failures: int = 5
    window_seconds: int = 900
    lock_seconds: int = 900


def account_hash(email: str) -> str:
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()


def sign_in(
    email: str,
    password: str,
    mfa_code: str | None,
    *,
    idp: IdentityProvider,
    failures: FailureStore,
    rule: LockoutRule,
    clock: Callable[[], float] = time.time,
) -> Tokens:
    key = account_hash(email)
    now = int(clock())
    count, first_at, locked_until = failures.login_failures(key)
    if locked_until is not None and locked_until > now:
        raise TooManyAttemptsError(locked_until - now)
    try:
        # Accounts are created lower-cased (`psa-billing users add`).
        tokens = idp.login(email.strip().lower(), password, mfa_code)
    except LoginFailedError:
        if count == 0 or now - first_at > rule.window_seconds or locked_until is not None:
            count, first_at = 0, now  # a new window (also after a lock has expired)
        count += 1
        lock = now + rule.lock_seconds if count >= rule.max_failures else None
        failures.put_login_failures(key, count, first_at, lock)
        if lock is not None:
            raise TooManyAttemptsError(rule.lock_seconds) from None
        raise
    if count:
        failures.put_login_failures(key, 0, now, None)
    return tokens


# --------------------------------------------------------------------------- principals

K = TypeVar("K")
V = TypeVar("V")


class AccessSource(Protocol):
    def user_access(self, user_sub: str) -> UserAccess: ...
    def get_machine_client(self, client_id: str) -> MachineClient | None: ...


class TtlCache(Generic[K, V]):
    """A tiny per-warm-function cache: memberships and machine clients are read by
    key at most once per ``ttl`` seconds per caller."""

    def __init__(self, ttl: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._ttl = ttl
        self._clock = clock
        self._items: dict[K, tuple[float, V]] = {}

    def get(self, key: K, load: Callable[[K], V]) -> V:
        now = self._clock()
        hit = self._items.get(key)
        if hit is not None and now - hit[0] < self._ttl:
            return hit[1]
        value = load(key)
        if len(self._items) > 10_000:
            self._items.clear()
        self._items[key] = (now, value)
        return value

    def forget(self, key: K) -> None:
        self._items.pop(key, None)


def resolve_principal(
    token: VerifiedToken,
    *,
    user_client_id: str,
    machine_scope: str,
    access: AccessSource,
    users: TtlCache[str, UserAccess],
    machines: TtlCache[str, MachineClient | None],
) -> Principal:
    """The caller, from the verified token only: a user signed in through our app
    client, or a registered machine client with the read scope. Anything else is 401."""
    if token.client_id == user_client_id:
        if token.username is None:
            raise InvalidTokenError("a user token without username")
        found = users.get(token.subject, access.user_access)
        if found.signed_out_at is not None and token.issued_at <= found.signed_out_at:
            raise InvalidTokenError("signed out since this token was issued")
        roles = {org: Role(r) for org, r in found.roles.items() if r in Role.__members__}
        return Principal(
            kind="user",
            subject=token.subject,
            actor=found.email or token.subject,
            client_id=token.client_id,
            roles=roles,
            scopes=token.scopes,
        )
    client = machines.get(token.client_id, access.get_machine_client)
    if client is None:
        raise InvalidTokenError("unknown client")
    if machine_scope not in token.scopes:
        raise InvalidTokenError("machine token without the read scope")
    return Principal(
        kind="machine",
        subject=client.client_id,
        actor=f"client:{client.client_id}",
        client_id=client.client_id,
        roles={client.org_id: Role.CLIENT},
        scopes=token.scopes,
    )


class SignOutStore(Protocol):
    def mark_signed_out(self, user_sub: str, email: str, at: int) -> None: ...


class SignOutProvider(Protocol):
    def logout(self, access_token: str) -> None: ...


def sign_out(
    principal: Principal,
    access_token: str,
    *,
    idp: SignOutProvider,
    store: SignOutStore,
    forget: Callable[[str], None],
    clock: Callable[[], float] = time.time,
) -> bool:
    """Global sign-out in Cognito (refresh tokens die), and a sign-out time that makes
    this API refuse the user's access tokens issued before it (Cognito's JWTs stay
    valid by signature until they expire)."""
    if principal.kind != "user":
        return False
    idp.logout(access_token)
    store.mark_signed_out(principal.subject, principal.actor, int(clock()))
    forget(principal.subject)
    return True
