"""The verifier's key handling, with PyJWKClient fetching a real JWKS over loopback:
fetched once and cached; fetched again for a key id it has not seen (a rotation)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from psa_billing.auth.errors import InvalidTokenError
from psa_billing.auth.verifier import TokenVerifier, TrustedIssuer, jwks_client

ISSUER = "https://issuer.example/pool"


def _jwk(key: Any, kid: str) -> dict[str, Any]:
    return {**json.loads(RSAAlgorithm.to_jwk(key.public_key())), "kid": kid, "alg": "RS256"}


class JwksServer:
    def __init__(self) -> None:
        self.keys: list[dict[str, Any]] = []
        self.fetches = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.fetches += 1
                body = json.dumps({"keys": outer.keys}).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/jwks.json"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


@pytest.fixture
def jwks() -> Iterator[JwksServer]:
    server = JwksServer()
    yield server
    server.httpd.shutdown()


def _token(key: Any, kid: str, **claims: Any) -> str:
    now = int(time.time())
    doc = {
        "iss": ISSUER,
        "sub": "u1",
        "client_id": "app",
        "token_use": "access",
        "iat": now,
        "exp": now + 300,
        "username": "u1",
        **claims,
    }
    return jwt.encode(doc, key, algorithm="RS256", headers={"kid": kid})


def test_the_jwks_is_fetched_once_for_many_tokens(jwks: JwksServer) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwks.keys = [_jwk(key, "k1")]
    verifier = TokenVerifier([TrustedIssuer(ISSUER, jwks_client(jwks.url))])
    for _ in range(20):
        assert verifier.verify(_token(key, "k1")).subject == "u1"
    assert jwks.fetches == 1


def test_an_unknown_key_id_fetches_the_jwks_again(jwks: JwksServer) -> None:
    old = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    new = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwks.keys = [_jwk(old, "k1")]
    client = jwks_client(jwks.url)
    client.cooldown_duration = 0  # PyJWKClient waits 30 s between refetches; not in a test
    verifier = TokenVerifier([TrustedIssuer(ISSUER, client)])
    verifier.verify(_token(old, "k1"))
    jwks.keys = [_jwk(old, "k1"), _jwk(new, "k2")]  # the issuer rotated its keys
    assert verifier.verify(_token(new, "k2")).subject == "u1"
    assert jwks.fetches == 2
    with pytest.raises(InvalidTokenError):
        verifier.verify(_token(new, "k3"))  # still unknown after a refetch
    assert jwks.fetches == 3


def test_claims_come_back_typed(jwks: JwksServer) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwks.keys = [_jwk(key, "k1")]
    verifier = TokenVerifier([TrustedIssuer(ISSUER, jwks_client(jwks.url))])
    got = verifier.verify(_token(key, "k1", scope="a b", client_id="machine"))
    assert got.scopes == frozenset({"a", "b"}) and got.client_id == "machine"
    assert got.issuer == ISSUER and got.expires_at > got.issued_at
