"""A local OAuth2 token endpoint for machine clients (client-credentials grant).

moto has no ``/oauth2/token``, so locally this endpoint mints the access token
Cognito would: ``token_use=access``, ``client_id``, ``scope``, ``iat``/``exp``, signed
RS256 by a key made at start-up, whose JWKS it serves. The API's verifier is
configured with this issuer and JWKS as a second trusted issuer, so the same
verification code runs locally and on AWS. The client's secret is checked against
the app client moto stores (``psa-billing clients add`` created it).
"""

from __future__ import annotations

import base64
import hmac
import json
import time
import uuid
from typing import Any, Final
from urllib.parse import parse_qs

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from jwt.algorithms import RSAAlgorithm

from psa_billing_dev.local.cognito import READ_SCOPE, PoolRef

PREFIX: Final = "/local-oauth"
KID: Final = "psa-billing-local-1"
LIFETIME_SECONDS: Final = 3600


class LocalTokenIssuer:
    def __init__(self, base_url: str, pool: PoolRef, idp: Any) -> None:
        self.issuer = f"{base_url}{PREFIX}"
        self.jwks_url = f"{self.issuer}/.well-known/jwks.json"
        self.token_url = f"{self.issuer}/oauth2/token"
        self._pool = pool
        self._idp = idp
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        public = json.loads(RSAAlgorithm.to_jwk(self._key.public_key()))
        self.jwks = {"keys": [{**public, "kid": KID, "alg": "RS256", "use": "sig"}]}

    def mint(self, client_id: str, scopes: list[str], lifetime: int = LIFETIME_SECONDS) -> str:
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "sub": client_id,
            "client_id": client_id,
            "token_use": "access",
            "scope": " ".join(scopes),
            "iat": now,
            "auth_time": now,
            "exp": now + lifetime,
            "jti": str(uuid.uuid4()),
            "version": 2,
        }
        return jwt.encode(claims, self._key, algorithm="RS256", headers={"kid": KID})

    def _client_scopes(self, client_id: str, secret: str) -> list[str] | None:
        try:
            client = self._idp.describe_user_pool_client(
                UserPoolId=self._pool.user_pool_id, ClientId=client_id
            )["UserPoolClient"]
        except Exception:
            return None
        stored = str(client.get("ClientSecret", ""))
        if not stored or not hmac.compare_digest(stored.encode(), secret.encode()):
            return None
        if "client_credentials" not in client.get("AllowedOAuthFlows", []):
            return None
        return [str(s) for s in client.get("AllowedOAuthScopes", [])]

    def router(self) -> APIRouter:
        router = APIRouter(prefix=PREFIX, include_in_schema=False)

        @router.get("/.well-known/jwks.json")
        def jwks() -> dict[str, Any]:
            return self.jwks

        @router.post("/oauth2/token")
        async def token(request: Request) -> JSONResponse:
            form = {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}
            client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
            auth = request.headers.get("authorization", "")
            if auth.lower().startswith("basic "):
                try:
                    client_id, _, secret = base64.b64decode(auth[6:]).decode().partition(":")
                except ValueError:
                    return _oauth_error("invalid_client", 401)
            if form.get("grant_type") != "client_credentials":
                return _oauth_error("unsupported_grant_type", 400)
            allowed = self._client_scopes(client_id, secret)
            if allowed is None:
                return _oauth_error("invalid_client", 401)
            wanted = form.get("scope", "").split() or allowed
            if not set(wanted) <= set(allowed) or READ_SCOPE not in allowed:
                return _oauth_error("invalid_scope", 400)
            return JSONResponse(
                {
                    "access_token": self.mint(client_id, wanted),
                    "token_type": "Bearer",
                    "expires_in": LIFETIME_SECONDS,
                }
            )

        return router


def _oauth_error(code: str, status: int) -> JSONResponse:
    return JSONResponse({"error": code}, status_code=status)
