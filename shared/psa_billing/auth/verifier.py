"""Bearer-token verification: one verifier, shared by every route.

Checks, in order: the header says RS256 and names a key (``alg: none``, HS256 and
anything else are refused before a key is looked at); the issuer is one we trust
(each trusted issuer has its own JWKS URL, because moto's tokens carry the real
looking Cognito issuer while its keys are served by the local endpoint); the key is
in that issuer's JWKS (fetched once and cached; fetched again, at most every 30 s,
when a token names a key id we have not seen, e.g. after a rotation); the signature;
expiry, not-before and issued-at with a small leeway; ``token_use`` is ``access``;
``client_id`` is present. Which client ids are acceptable is the principal
resolver's decision (deps.py), because machine clients are registered at run time.

API Gateway's JWT authorizer checks tokens as well in AWS; the app never relies on it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import jwt

from psa_billing.auth.errors import AuthUnavailableError, InvalidTokenError

ALGORITHM = "RS256"
REQUIRED_CLAIMS = ("exp", "iat", "iss", "sub", "token_use", "client_id")


class KeySource(Protocol):
    def get_signing_key(self, kid: str) -> jwt.PyJWK: ...


@dataclass(frozen=True)
class TrustedIssuer:
    issuer: str
    keys: KeySource


@dataclass(frozen=True, slots=True)
class VerifiedToken:
    subject: str
    client_id: str
    issuer: str
    scopes: frozenset[str]
    username: str | None
    issued_at: int
    expires_at: int
    claims: Mapping[str, Any]


def jwks_client(url: str, *, lifespan_seconds: float = 6 * 3600) -> jwt.PyJWKClient:
    """A JWKS fetched once per warm function and kept for hours; an unknown ``kid``
    forces one refetch (PyJWKClient's own rule, with a 30 s cooldown)."""
    return jwt.PyJWKClient(url, cache_jwk_set=True, lifespan=lifespan_seconds, timeout=5)


class TokenVerifier:
    def __init__(self, issuers: Sequence[TrustedIssuer], *, leeway_seconds: int = 30) -> None:
        if not issuers:
            raise ValueError("at least one trusted issuer is needed")
        self._issuers = {i.issuer: i for i in issuers}
        self._leeway = leeway_seconds

    def verify(self, token: str) -> VerifiedToken:
        try:
            header = jwt.get_unverified_header(token)
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError as exc:
            raise InvalidTokenError(f"malformed token: {type(exc).__name__}") from None
        if header.get("alg") != ALGORITHM:
            raise InvalidTokenError(f"algorithm {header.get('alg')!r} is not {ALGORITHM}")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise InvalidTokenError("no key id in the token header")
        issuer = self._issuers.get(str(unverified.get("iss", "")))
        if issuer is None:
            raise InvalidTokenError("untrusted issuer")
        try:
            key = issuer.keys.get_signing_key(kid)
        except jwt.PyJWKClientConnectionError as exc:
            raise AuthUnavailableError("the token signing keys could not be fetched") from exc
        except jwt.PyJWTError:
            raise InvalidTokenError("unknown signing key") from None
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key.key,
                algorithms=[ALGORITHM],
                issuer=issuer.issuer,
                leeway=self._leeway,
                options={"require": list(REQUIRED_CLAIMS), "verify_aud": False},
            )
        except jwt.PyJWTError as exc:
            raise InvalidTokenError(f"rejected: {type(exc).__name__}") from None
        # Cognito access tokens have no "aud"; ID tokens do, and are refused here.
        if claims.get("token_use") != "access":
            raise InvalidTokenError(f"token_use {claims.get('token_use')!r} is not access")
        client_id = claims.get("client_id")
        if not isinstance(client_id, str) or not client_id:
            raise InvalidTokenError("no client_id")
        scope = claims.get("scope", "")
        username = claims.get("username")
        return VerifiedToken(
            subject=str(claims["sub"]),
            client_id=client_id,
            issuer=issuer.issuer,
            scopes=frozenset(str(scope).split()) if isinstance(scope, str) else frozenset(),
            username=str(username) if username is not None else None,
            issued_at=int(claims["iat"]),
            expires_at=int(claims["exp"]),
            claims=claims,
        )
