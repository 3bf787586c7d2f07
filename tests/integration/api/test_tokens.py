"""Every request is verified in the app: only a correctly signed, current Cognito
access token of our client (or a registered machine client) gets in."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.integration.api import tokens
from tests.integration.api.conftest import bearer

UNAUTHENTICATED = {
    "error": {
        "code": "unauthenticated",
        "message": "the access token is missing, invalid or expired",
    }
}


@pytest.fixture
def admin(make_user: Any, org_id: str) -> Any:
    return make_user({org_id: "ADMIN"})


def _list(http: Any, token: str) -> Any:
    return http.get("/api/billing/statements", headers=bearer(token))


def test_a_token_signed_like_cognitos_is_accepted(http: Any, pool: Any, admin: Any) -> None:
    # The positive control for the forgeries below: the same helper, right claims.
    assert _list(http, tokens.sign(tokens.claims(pool, admin.sub))).status_code == 200


def test_a_real_sign_in_token_is_accepted(http: Any, admin: Any, sign_in: Any) -> None:
    assert http.get("/api/billing/statements", headers=bearer(sign_in(admin))).status_code == 200


@pytest.mark.parametrize(
    "forge",
    [
        pytest.param(lambda p, s: tokens.claims(p, s, exp=int(time.time()) - 120), id="expired"),
        pytest.param(
            lambda p, s: tokens.claims(
                p, s, iat=int(time.time()) + 600, exp=int(time.time()) + 900
            ),
            id="not-yet-valid-iat",
        ),
        pytest.param(
            lambda p, s: tokens.claims(p, s, nbf=int(time.time()) + 600), id="not-yet-valid-nbf"
        ),
        pytest.param(
            lambda p, s: tokens.claims(p, s, iss="https://cognito-idp.us-east-1.amazonaws.com/x"),
            id="wrong-issuer",
        ),
        pytest.param(lambda p, s: tokens.claims(p, s, client_id="someone-else"), id="wrong-client"),
        pytest.param(lambda p, s: tokens.claims(p, s, token_use="id"), id="id-token"),
        pytest.param(lambda p, s: tokens.claims(p, s, exp=None), id="no-expiry"),
        pytest.param(lambda p, s: tokens.claims(p, s, client_id=None), id="no-client"),
    ],
)
def test_tokens_with_wrong_claims_are_refused(http: Any, pool: Any, admin: Any, forge: Any) -> None:
    resp = _list(http, tokens.sign(forge(pool, admin.sub)))
    assert resp.status_code == 401
    assert resp.json() == UNAUTHENTICATED


def test_a_token_signed_by_another_key_is_refused(http: Any, pool: Any, admin: Any) -> None:
    resp = _list(http, tokens.sign(tokens.claims(pool, admin.sub), key=tokens.other_key()))
    assert resp.status_code == 401 and resp.json() == UNAUTHENTICATED


def test_a_token_naming_an_unknown_key_is_refused(http: Any, pool: Any, admin: Any) -> None:
    token = tokens.sign(tokens.claims(pool, admin.sub), key=tokens.other_key(), kid="rotated")
    assert _list(http, token).status_code == 401


def test_alg_none_is_refused(http: Any, pool: Any, admin: Any) -> None:
    resp = _list(http, tokens.unsigned(tokens.claims(pool, admin.sub)))
    assert resp.status_code == 401 and resp.json() == UNAUTHENTICATED


def test_hs256_keyed_with_the_public_key_is_refused(http: Any, pool: Any, admin: Any) -> None:
    resp = _list(http, tokens.hs256_with_public_key(tokens.claims(pool, admin.sub)))
    assert resp.status_code == 401 and resp.json() == UNAUTHENTICATED


@pytest.mark.parametrize(
    "header",
    [
        {},
        {"authorization": "Bearer garbage"},
        {"authorization": "Bearer a.b.c"},
        {"authorization": "Basic dXNlcjpwYXNz"},
        {"authorization": "Bearer"},
    ],
    ids=["none", "garbage", "three-parts", "basic", "empty"],
)
def test_missing_or_garbage_tokens_are_refused(http: Any, header: dict[str, str]) -> None:
    resp = http.get("/api/billing/statements", headers=header)
    assert resp.status_code == 401
    assert resp.json()["error"]["code"] == "unauthenticated"


def test_identity_comes_from_the_token_not_from_api_gateway_context(
    http: Any, pool: Any, make_user: Any, org_id: str
) -> None:
    """A signed token of a user with no membership sees nothing, whatever else is sent."""
    stranger = make_user({})
    resp = http.get(
        "/api/billing/statements",
        headers={
            **bearer(tokens.sign(tokens.claims(pool, stranger.sub))),
            "x-amzn-oidc-identity": "admin",
            "x-forwarded-user": org_id,
        },
    )
    assert resp.status_code == 403
