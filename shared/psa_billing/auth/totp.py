"""RFC 6238 time-based one-time codes with the standard library.

Not pyotp: moto's Cognito hands every user the 12-character secret "asdfasdfasdf"
(60 bits), which pyotp 2.9+ refuses; real Cognito's secrets work here too.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import struct
import time
from urllib.parse import quote, urlencode

STEP_SECONDS = 30
DIGITS = 6


def _key(secret: str) -> bytes:
    clean = secret.strip().replace(" ", "").upper()
    return base64.b32decode(clean + "=" * (-len(clean) % 8))


def code_at(secret: str, at: float, *, step: int = STEP_SECONDS, digits: int = DIGITS) -> str:
    counter = int(at // step)
    digest = hmac.new(_key(secret), struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    value = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return str(value % 10**digits).zfill(digits)


def current_code(secret: str) -> str:
    return code_at(secret, time.time())


def seconds_left(step: int = STEP_SECONDS) -> int:
    return step - int(time.time()) % step


def otpauth_uri(secret: str, account: str, issuer: str = "psa-billing") -> str:
    """The URI an authenticator app reads (as a QR code or pasted)."""
    label = quote(f"{issuer}:{account}")
    query = urlencode(
        {"secret": secret, "issuer": issuer, "digits": DIGITS, "period": STEP_SECONDS}
    )
    return f"otpauth://totp/{label}?{query}"
