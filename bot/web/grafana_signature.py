"""Grafana unified alerting's optional HMAC signature on webhook requests.

A Grafana webhook contact point with an HMAC secret puts the lowercase hex HMAC-SHA256 of
the raw body in a header (default `X-Grafana-Alerting-Signature`). With a timestamp header
configured it also sends the Unix time in seconds there, and signs `<timestamp>:<body>`
instead, so a captured request cannot be replayed outside the allowed window.

Pure: the caller passes the time. A reason for refusal names the header at fault and never
contains the secret or the expected digest.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping

from bot.config.settings import GrafanaHmacSettings

_HEX_DIGEST = re.compile(r"[0-9a-f]{64}")
_UNIX_SECONDS = re.compile(r"[0-9]{1,12}")
_PREFIX = "sha256="


def verify_grafana_signature(
    settings: GrafanaHmacSettings,
    secret: str,
    body: bytes,
    headers: Mapping[str, str],
    now: float,
) -> str | None:
    """None when the request carries a valid signature, else a short reason for a 401."""
    given = _header(headers, settings.header)
    if not given:
        return f"missing {settings.header} header"
    signed = body
    if settings.timestamp_header:
        stamp = _header(headers, settings.timestamp_header)
        problem = _timestamp_problem(settings, stamp, now)
        if problem:
            return problem
        signed = stamp.encode("ascii") + b":" + body
    digest = _normalised(given)
    if not _HEX_DIGEST.fullmatch(digest):
        return f"{settings.header} is not a hex HMAC-SHA256 digest"
    expected = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(digest, expected):
        return f"wrong signature in {settings.header}"
    return None


def _header(headers: Mapping[str, str], name: str) -> str:
    """The header's value, stripped; found case-insensitively in a plain dict too."""
    value = headers.get(name)
    if value is None:
        wanted = name.lower()
        value = next((v for k, v in headers.items() if k.lower() == wanted), "")
    return value.strip()


def _normalised(given: str) -> str:
    digest = given.lower()
    return digest.removeprefix(_PREFIX).strip()


def _timestamp_problem(settings: GrafanaHmacSettings, stamp: str, now: float) -> str | None:
    name = settings.timestamp_header
    if not stamp:
        return f"missing {name} header"
    if not _UNIX_SECONDS.fullmatch(stamp):
        return f"{name} is not a Unix timestamp in seconds"
    skew = int(stamp) - now
    window = settings.max_age.total_seconds()
    if skew < -window:
        return f"{name} is too old (more than {window:g}s ago)"
    if skew > window:
        return f"{name} is in the future (more than {window:g}s ahead)"
    return None
