"""Pure rules of sign-in and listing: the lockout, the membership cache, cursors."""

from __future__ import annotations

from typing import Any

import pytest

from psa_billing.api.cursor import CursorCodec
from psa_billing.api.errors import InvalidCursorError
from psa_billing.auth.cognito import Tokens
from psa_billing.auth.errors import LoginFailedError, TooManyAttemptsError
from psa_billing.logic.signin import LockoutRule, TtlCache, account_hash, sign_in

TOKENS = Tokens("a", "i", "r", 3600)


class Failures:
    def __init__(self) -> None:
        self.rows: dict[str, tuple[int, int, int | None]] = {}

    def login_failures(self, h: str) -> tuple[int, int, int | None]:
        return self.rows.get(h, (0, 0, None))

    def put_login_failures(self, h: str, n: int, first: int, locked: int | None) -> None:
        self.rows[h] = (n, first, locked)


class Idp:
    def __init__(self, password: str) -> None:
        self.password = password
        self.calls = 0

    def login(self, email: str, password: str, code: str | None) -> Tokens:
        self.calls += 1
        if password != self.password:
            raise LoginFailedError("wrong password")
        return TOKENS


def _try(idp: Idp, store: Failures, password: str, now: float) -> Any:
    rule = LockoutRule(max_failures=5, window_seconds=900, lock_seconds=900)
    return sign_in(
        "A@x.test ", password, "123456", idp=idp, failures=store, rule=rule, clock=lambda: now
    )


def test_five_failures_in_the_window_lock_the_account() -> None:
    idp, store = Idp("right"), Failures()
    for n in range(4):
        with pytest.raises(LoginFailedError):
            _try(idp, store, "wrong", 1000 + n)
    with pytest.raises(TooManyAttemptsError) as locked:
        _try(idp, store, "wrong", 1004)
    assert locked.value.retry_after_seconds == 900
    calls = idp.calls
    with pytest.raises(TooManyAttemptsError):
        _try(idp, store, "right", 1500)  # locked: Cognito is not even asked
    assert idp.calls == calls
    assert _try(idp, store, "right", 1004 + 901) == TOKENS  # the lock has expired


def test_failures_outside_the_window_start_a_new_count() -> None:
    idp, store = Idp("right"), Failures()
    for n in range(4):
        with pytest.raises(LoginFailedError):
            _try(idp, store, "wrong", 1000 + n)
    with pytest.raises(LoginFailedError):  # 1000 s later: failure 1 of a new window
        _try(idp, store, "wrong", 2000)
    assert store.login_failures(account_hash("a@x.test"))[0] == 1


def test_a_success_clears_the_counter_and_emails_are_one_account() -> None:
    idp, store = Idp("right"), Failures()
    with pytest.raises(LoginFailedError):
        _try(idp, store, "wrong", 1000)
    _try(idp, store, "right", 1001)
    assert store.login_failures(account_hash("a@X.TEST"))[0] == 0


def test_the_cache_reloads_after_its_ttl() -> None:
    now = [0.0]
    loads: list[str] = []
    cache: TtlCache[str, str] = TtlCache(30, clock=lambda: now[0])

    def load(k: str) -> str:
        loads.append(k)
        return k.upper()

    assert cache.get("a", load) == "A" and cache.get("a", load) == "A"
    now[0] = 31
    cache.get("a", load)
    assert loads == ["a", "a"]


def test_cursors_are_signed_and_bound() -> None:
    codec = CursorCodec(b"0123456789abcdef0123")
    bound = {"sub": "u1", "orgs": ["o1"]}
    cursor = codec.encode({"p": "2026-10"}, bound_to=bound)
    assert codec.decode(cursor, bound_to=bound) == {"p": "2026-10"}
    with pytest.raises(InvalidCursorError):
        codec.decode(cursor, bound_to={"sub": "u2", "orgs": ["o1"]})
    with pytest.raises(InvalidCursorError):
        CursorCodec(b"another-secret-key-xx").decode(cursor, bound_to=bound)
    with pytest.raises(InvalidCursorError):
        codec.decode("garbage", bound_to=bound)
