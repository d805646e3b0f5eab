"""Webhook signatures, Stripe's scheme: standard library only, so an integrator can copy this file as it is.

Every request carries the header

    Lending-Signature: t=1767225600,v1=5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff536d0ce8e108d8bd

where `t` is when it was sent (Unix seconds) and `v1` is the hex HMAC-SHA256, keyed with the endpoint's
secret (`whsec_...`), of the string `"<t>.<raw request body>"`. During a secret rotation there is one `v1`
per valid secret. To check a request: take the raw body bytes (before any JSON parsing), compute the HMAC
with your secret, compare it in constant time with each `v1`, and refuse a `t` older than a few minutes
(a replayed request). `verify_signature` below does exactly that.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Iterable

HEADER = "Lending-Signature"
SCHEME = "v1"


def compute_signature(secret: str, timestamp: int, body: bytes) -> str:
    """The hex HMAC-SHA256 of `"<timestamp>.<body>"` keyed with `secret`."""
    message = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signature_header(secrets: Iterable[str], body: bytes, timestamp: int | None = None) -> str:
    """The header value: `t=<unix seconds>,v1=<hex>` with one `v1` per secret."""
    t = int(time.time()) if timestamp is None else timestamp
    signatures = ",".join(f"{SCHEME}={compute_signature(s, t, body)}" for s in secrets)
    return f"t={t},{signatures}"


def _parse(header: str) -> tuple[int | None, list[str]]:
    timestamp, signatures = None, []
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        if name == "t" and value.isdigit():
            timestamp = int(value)
        elif name == SCHEME and value:
            signatures.append(value)
    return timestamp, signatures


def verify_signature(
    secret: str, header: str, body: bytes, tolerance_seconds: int = 300, now: float | None = None
) -> bool:
    """True if `header` signs exactly `body` with `secret`, and was made within `tolerance_seconds` of now."""
    timestamp, signatures = _parse(header or "")
    if timestamp is None or not signatures:
        return False
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance_seconds:
        return False
    expected = compute_signature(secret, timestamp, body)
    return any(hmac.compare_digest(expected, candidate) for candidate in signatures)
