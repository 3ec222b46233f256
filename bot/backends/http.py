"""Pure HTTP helpers for the backends port: paths, what a backend said (Retry-After is
`bot.core.retry.parse_retry_after`)."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import httpx

MAX_ERROR_TEXT = 200
_PARAM = re.compile(r"\{([A-Za-z_]\w*)\}")


def clean_text(value: object, limit: int = MAX_ERROR_TEXT) -> str:
    """A backend's words made safe to show: control characters escaped, length capped."""
    text = value if isinstance(value, str) else json.dumps(value)
    text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def fill_path(template: str, params: Mapping[str, str]) -> str:
    """Put percent-encoded params into `template`; raises ValueError saying what is wrong."""
    if not template.startswith("/") or template.startswith("//") or "?" in template:
        raise ValueError(f"path {template!r} must start with one / and have no query")
    missing = set(_PARAM.findall(template)) - set(params)
    if missing:
        raise ValueError(f"no value for {{{sorted(missing)[0]}}} in {template}")

    def one(match: re.Match[str]) -> str:
        value = str(params[match.group(1)])
        if value in ("", ".", ".."):
            raise ValueError(f'{match.group(1)} "{value}" is not a valid name')
        return quote(value, safe="")

    return _PARAM.sub(one, template)


def json_or(content: bytes, default: object) -> Any:
    if not content.strip():
        return None
    try:
        return json.loads(content)
    except ValueError:
        return default


def request_line(request: httpx.Request) -> str:
    return f"{request.method} {raw_path(request.url)}"


def raw_path(url: httpx.URL) -> str:
    return url.raw_path.split(b"?", 1)[0].decode("ascii")


def stays_under(url: httpx.URL, base: httpx.URL) -> bool:
    prefix = raw_path(base).rstrip("/") + "/"
    same_origin = (url.scheme, url.host, url.port) == (base.scheme, base.host, base.port)
    return same_origin and raw_path(url).startswith(prefix)


def location_host(response: httpx.Response) -> str:
    location = response.headers.get("Location")
    if not location:
        return "nowhere (no Location header)"
    try:
        host = response.request.url.join(location).host
    except httpx.InvalidURL:
        return "an invalid address"
    return clean_text(host, 100) or "an address without a host"
