"""Bearer tokens on Warroom's own HTTP endpoints, compared in constant time."""

from __future__ import annotations

import hmac

from aiohttp import web


def bearer_matches(request: web.Request, expected: str | None) -> bool:
    if not expected:
        return False
    header = request.headers.get("Authorization", "")
    scheme, _, given = header.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        given.strip().encode(), expected.encode()
    )
