"""Tokens for the tests: signed as moto's Cognito signs them (its key ships with moto),
or deliberately wrong."""

from __future__ import annotations

import base64
import gzip
import hashlib
import hmac
import json
import time
import uuid
from pathlib import Path
from typing import Any

import jwt
import moto.cognitoidp
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

_RESOURCES = Path(moto.cognitoidp.__file__).parent / "resources"


def _jwk(name: str) -> dict[str, Any]:
    with gzip.open(_RESOURCES / name, "rt") as fh:
        doc: dict[str, Any] = json.load(fh)
    return doc["keys"][0] if "keys" in doc else doc


def moto_private_key() -> Any:
    return jwt.PyJWK(_jwk("jwks-private.json.gz")).key


def moto_public_pem() -> bytes:
    key = jwt.PyJWK(_jwk("jwks-public.json.gz")).key
    pem: bytes = key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return pem


def claims(pool: Any, sub: str, **changes: Any) -> dict[str, Any]:
    now = int(time.time())
    doc = {
        "iss": pool.issuer,
        "sub": sub,
        "username": sub,
        "client_id": pool.client_id,
        "token_use": "access",
        "scope": "aws.cognito.signin.user.admin",
        "iat": now,
        "auth_time": now,
        "exp": now + 600,
        "jti": str(uuid.uuid4()),
    }
    doc.update(changes)
    return {k: v for k, v in doc.items() if v is not None}


def sign(doc: dict[str, Any], key: Any = None, kid: str = "dummy") -> str:
    return jwt.encode(doc, key or moto_private_key(), algorithm="RS256", headers={"kid": kid})


def other_key() -> Any:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def unsigned(doc: dict[str, Any]) -> str:
    return jwt.encode(doc, None, algorithm="none", headers={"kid": "dummy"})


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hs256_with_public_key(doc: dict[str, Any]) -> str:
    """The classic confusion attack: HMAC keyed with the RSA public key's PEM."""
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": "dummy"}).encode())
    body = _b64(json.dumps(doc).encode())
    mac = hmac.new(moto_public_pem(), f"{header}.{body}".encode(), hashlib.sha256).digest()
    return f"{header}.{body}.{_b64(mac)}"
