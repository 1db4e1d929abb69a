"""HMAC-SHA256 tokens for unsubscribe and confirm links; the key comes only from PUBLISHER_SECRET.

Format: `<id>.<signature>` (unsubscribe, never expires) and `<id>.<issued_at>.<signature>`
(confirm, expires). The signature covers the purpose, so a token for one cannot serve the other.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import time

from publisher.errors import ConfigError, Problem

SECRET_VARIABLE = "PUBLISHER_SECRET"
MIN_SECRET_BYTES = 16
PURPOSES = ("unsubscribe", "confirm")
_HINT = 'set it to a long random value, e.g. export PUBLISHER_SECRET="$(python3 -c "import secrets; print(secrets.token_urlsafe(32))")"'


def secret_from_env() -> bytes:
    """The signing key, from the environment only; never from a file or a log."""
    value = os.environ.get(SECRET_VARIABLE, "")
    if not value.strip():
        raise ConfigError(Problem(file=SECRET_VARIABLE, message="the environment variable is not set", hint=_HINT))
    secret = value.encode()
    if len(secret) < MIN_SECRET_BYTES:
        raise ConfigError(
            Problem(file=SECRET_VARIABLE, message=f"too short: it needs at least {MIN_SECRET_BYTES} characters", hint=_HINT)
        )
    return secret


def _mac(secret: bytes, message: str) -> str:
    digest = hmac.new(secret, message.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def sign(subscriber_id: int, purpose: str, secret: bytes, issued_at: int | None = None) -> str:
    """A URL-safe token; confirm tokens carry when they were issued (default: now)."""
    if purpose not in PURPOSES:
        raise ValueError(f"unknown token purpose {purpose!r}")
    if purpose == "confirm":
        issued = int(time.time()) if issued_at is None else issued_at
        return f"{subscriber_id}.{issued}.{_mac(secret, f'{purpose}:{subscriber_id}:{issued}')}"
    return f"{subscriber_id}.{_mac(secret, f'{purpose}:{subscriber_id}')}"


def verify(
    token: str, purpose: str, secret: bytes, max_age: int | None = None, now: int | None = None
) -> int | None:
    """The subscriber id the token was made for, or None (forged, truncated, wrong purpose, expired)."""
    parts = token.split(".")
    if purpose not in PURPOSES or len(parts) != (3 if purpose == "confirm" else 2):
        return None
    if not all(p.isascii() and p.isdigit() and len(p) <= 18 for p in parts[:-1]):
        return None
    subscriber_id, issued = int(parts[0]), (int(parts[1]) if len(parts) == 3 else None)
    message = f"{purpose}:{subscriber_id}" + (f":{issued}" if issued is not None else "")
    if not hmac.compare_digest(_mac(secret, message).encode(), parts[-1].encode("ascii", "replace")):
        return None
    if issued is not None and max_age is not None:
        current = int(time.time()) if now is None else now
        if current - issued > max_age or issued > current + 300:
            return None
    return subscriber_id


def unsubscribe_url(endpoint: str, subscriber_id: int, secret: bytes) -> str:
    """The one-click unsubscribe URL of a subscriber (endpoint ends in '/')."""
    return f"{endpoint}unsubscribe/{sign(subscriber_id, 'unsubscribe', secret)}"


def confirm_url(endpoint: str, subscriber_id: int, secret: bytes, issued_at: int | None = None) -> str:
    return f"{endpoint}confirm/{sign(subscriber_id, 'confirm', secret, issued_at)}"
