"""Opaque list cursors, signed (HMAC-SHA256) and bound to the caller and the filters.

A cursor holds only a position in the caller's own listing; the organisations listed
always come from the caller's memberships, so even a forged position could not reach
another organisation. The signature makes tampering visible (400 invalid_cursor)
instead of silently listing from somewhere else.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

from psa_billing.api.errors import InvalidCursorError


class CursorCodec:
    def __init__(self, secret: bytes) -> None:
        if len(secret) < 16:
            raise ValueError("the cursor secret must be at least 16 bytes")
        self._secret = secret

    def _mac(self, body: bytes) -> bytes:
        return hmac.new(self._secret, body, hashlib.sha256).digest()[:16]

    def encode(self, position: dict[str, Any], *, bound_to: dict[str, Any]) -> str:
        body = json.dumps({"p": position, "b": bound_to}, sort_keys=True, separators=(",", ":"))
        raw = body.encode()
        return _b64(raw) + "." + _b64(self._mac(raw))

    def decode(self, cursor: str, *, bound_to: dict[str, Any]) -> dict[str, Any]:
        try:
            body_text, mac_text = cursor.split(".", 1)
            raw = _unb64(body_text)
            mac = _unb64(mac_text)
        except ValueError:
            raise InvalidCursorError("the cursor is not one this API issued") from None
        if not hmac.compare_digest(mac, self._mac(raw)):
            raise InvalidCursorError("the cursor is not one this API issued")
        doc = json.loads(raw)
        if doc.get("b") != json.loads(json.dumps(bound_to, sort_keys=True)):
            raise InvalidCursorError(
                "the cursor belongs to another listing (other caller or filters)"
            )
        position: dict[str, Any] = doc["p"]
        return position


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, TypeError) as exc:
        raise ValueError("bad base64") from exc
