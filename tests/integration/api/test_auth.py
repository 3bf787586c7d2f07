"""Sign-in with MFA through Cognito on moto (TOTP checked), refresh, sign-out, lockout."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from tests.integration.api.conftest import bearer, fresh_code

REFUSED = {
    "error": {
        "code": "invalid_credentials",
        "message": "email, password or MFA code is not correct",
    }
}


def _login(http: Any, email: str, password: str, code: str | None) -> Any:
    body: dict[str, Any] = {"email": email, "password": password}
    if code is not None:
        body["mfaCode"] = code
    return http.post("/api/auth/login", json=body)


def _wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def test_sign_in_with_password_and_code_returns_tokens(
    http: Any, make_user: Any, org_id: str
) -> None:
    user = make_user({org_id: "ADMIN"})
    resp = _login(http, user.email, user.password, fresh_code())
    assert resp.status_code == 200
    body = resp.json()
    assert set(body) == {"accessToken", "idToken", "refreshToken", "expiresIn"}
    assert body["expiresIn"] > 0
    assert http.get("/api/billing/statements", headers=bearer(body)).status_code == 200


def test_every_wrong_part_gets_the_same_401(http: Any, make_user: Any) -> None:
    user = make_user({})
    code = fresh_code()
    answers = [
        _login(http, user.email, user.password + "x", code),  # wrong password
        _login(http, user.email, user.password, _wrong(code)),  # wrong code
        _login(http, user.email, user.password, None),  # no code
        _login(http, user.email, user.password, ""),  # empty code
        _login(http, "nobody-" + user.email, user.password, code),  # unknown user
    ]
    assert [a.status_code for a in answers] == [401] * 5
    assert all(a.json() == REFUSED for a in answers)


def test_refresh_gives_a_working_access_token(
    http: Any, make_user: Any, sign_in: Any, org_id: str
) -> None:
    tokens = sign_in(make_user({org_id: "ADMIN"}))
    resp = http.post("/api/auth/refresh", json={"refreshToken": tokens["refreshToken"]})
    assert resp.status_code == 200
    fresh = resp.json()
    assert fresh["accessToken"]
    assert http.get("/api/billing/statements", headers=bearer(fresh)).status_code == 200


def test_refresh_with_a_bad_token_is_401(http: Any) -> None:
    resp = http.post("/api/auth/refresh", json={"refreshToken": "not-a-refresh-token"})
    assert resp.status_code == 401
    assert resp.json()["error"]["code"] == "invalid_credentials"


def test_logout_signs_out_everywhere(http: Any, make_user: Any, sign_in: Any, org_id: str) -> None:
    tokens = sign_in(make_user({org_id: "ADMIN"}))
    resp = http.post("/api/auth/logout", headers=bearer(tokens))
    assert resp.status_code == 200 and resp.json() == {"signedOut": True}
    # The refresh token no longer works (Cognito), nor does the access token (the API).
    refreshed = http.post("/api/auth/refresh", json={"refreshToken": tokens["refreshToken"]})
    assert refreshed.status_code == 401
    assert http.get("/api/billing/statements", headers=bearer(tokens)).status_code == 401


def test_repeated_failures_lock_the_account(http: Any, make_user: Any) -> None:
    user = make_user({})
    for _ in range(4):
        assert _login(http, user.email, "wrong-password", fresh_code()).status_code == 401
    fifth = _login(http, user.email, "wrong-password", fresh_code())
    assert fifth.status_code == 429
    assert fifth.json()["error"]["code"] == "too_many_attempts"
    assert int(fifth.headers["retry-after"]) > 0
    # Locked: even the right password and code are refused until the lock expires.
    locked = _login(http, user.email, user.password, fresh_code())
    assert locked.status_code == 429


def test_unknown_accounts_lock_the_same_way(http: Any) -> None:
    answers = [_login(http, "ghost@example.test", "pw", "123456") for _ in range(6)]
    assert [a.status_code for a in answers] == [401, 401, 401, 401, 429, 429]


def test_no_password_code_or_token_reaches_a_log_line(
    http: Any, make_user: Any, org_id: str, capfd: pytest.CaptureFixture[str], caplog: Any
) -> None:
    caplog.set_level(logging.INFO)  # what the functions log at (LogLevel); DEBUG is for people
    user = make_user({org_id: "ADMIN"})
    code = fresh_code()
    _login(http, user.email, user.password + "Wrong", code)
    good = _login(http, user.email, user.password, fresh_code()).json()
    http.get("/api/billing/statements", headers=bearer(good["accessToken"] + "tampered"))
    http.get("/api/billing/statements/nope", headers=bearer(good))
    out, err = capfd.readouterr()
    logged = out + err + "\n".join(r.getMessage() + str(r.__dict__) for r in caplog.records)
    for secret in (
        user.password,
        good["accessToken"],
        good["refreshToken"],
        good["idToken"],
        good["accessToken"].split(".")[2],
    ):
        assert secret not in logged
    assert "Traceback" not in logged
    assert "sign-in refused" in logged  # the server's own log lines were captured
