"""Slack request signatures (v0, HMAC-SHA256), checked on raw bytes with `now` passed in."""

from __future__ import annotations

import hashlib
import hmac

WINDOW_SECONDS = 5 * 60


def is_valid_slack_request(
    body: bytes, timestamp: str | None, signature: str | None, secret: str, now: float
) -> bool:
    """True when `signature` signs `body` with `secret` and `timestamp` is within 5 minutes."""
    if not secret or not timestamp or not signature or not timestamp.isdigit():
        return False
    if abs(now - int(timestamp)) > WINDOW_SECONDS:
        return False
    base = b"v0:" + timestamp.encode() + b":" + body
    expected = "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature)
