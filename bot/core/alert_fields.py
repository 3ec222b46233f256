"""Typed accessors for untrusted, JSON-decoded alert payloads.

Every accessor takes the JSON path of what it reads (`alerts[2].labels`) and raises
`AlertPayloadError` naming that path; nothing else escapes, whatever the input. Text is
kept as sent (Slack escaping happens later) except that NUL characters and lone UTF-16
surrogates are removed (PostgreSQL refuses both) and long strings are cut.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from urllib.parse import quote, urlsplit

from bot.core.slack_text import truncate
from bot.errors import WarroomError

MAX_TEXT = 4000
MAX_ALERTS = 1000
MAX_LABELS = 100
MAX_DEPTH = 32
INT64_MAX = 2**63 - 1

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_RFC3339 = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:[.,](\d+))?"
    r"(?:([Zz])|([+-])(\d{2}):?(\d{2}))$",
    re.ASCII,
)
_SURROGATE = re.compile("[\ud800-\udfff]")
# Characters that never belong in a URL we hand to Slack as a link.
_BAD_URL_CHARS = re.compile(r"[\s<>|\x00-\x1f\x7f]")


class AlertPayloadError(WarroomError, ValueError):
    """A payload we cannot accept. `field` is a JSON path like `alerts[2].labels`."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}")


# --- paths and type names -------------------------------------------------------------


def join(path: str, key: str) -> str:
    """`alerts[0]` + `labels` -> `alerts[0].labels`; odd keys are quoted: `labels["a b"]`."""
    if len(key) > 64 or not _IDENTIFIER.match(key):  # an error never echoes a huge key
        shown = _valid_unicode(key if len(key) <= 64 else key[:64] + "…")
        shown = shown.replace("\\", "\\\\").replace('"', '\\"').replace("\x00", "\\u0000")
        return f'{path}["{shown}"]'
    return key if path in ("", "$") else f"{path}.{key}"


def index(path: str, i: int) -> str:
    return f"{path}[{i}]"


def json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list | tuple):
        return "array"
    if isinstance(value, Mapping):
        return "object"
    return type(value).__name__


# --- text -----------------------------------------------------------------------------


def _valid_unicode(text: str) -> str:
    """Lone surrogates (JSON allows `"\\ud800"`, UTF-8 does not) become U+FFFD."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return _SURROGATE.sub("\ufffd", text)
    return text


def clean_text(text: str, limit: int = MAX_TEXT) -> str:
    """No NULs, no lone surrogates, at most `limit` characters (cut text is marked)."""
    return truncate(_valid_unicode(text.replace("\x00", "")), limit)


def clean_id(text: str, limit: int = MAX_TEXT) -> str:
    """Like `clean_text`, but an over-long identifier keeps its identity via a hash."""
    text = _valid_unicode(text.replace("\x00", ""))
    if len(text) <= limit:
        return text
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]
    return text[: limit - len(digest) - 1] + "#" + digest


# --- accessors ------------------------------------------------------------------------


def as_object(value: object, path: str, what: str = "a JSON object") -> Mapping[str, object]:
    if not isinstance(value, Mapping):
        raise AlertPayloadError(path, f"expected {what}, got {json_type(value)}")
    for key in value:
        if not isinstance(key, str):
            raise AlertPayloadError(path, f"object keys must be strings, got {json_type(key)}")
    return value


def as_list(value: object, path: str) -> list[object]:
    if not isinstance(value, list | tuple):
        raise AlertPayloadError(path, f"expected an array, got {json_type(value)}")
    return list(value)


def optional_str(obj: Mapping[str, object], key: str, path: str) -> str | None:
    """The string at `key`, cleaned; None when absent or null."""
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise AlertPayloadError(join(path, key), f"expected a string, got {json_type(value)}")
    return clean_text(value)


def require_str(obj: Mapping[str, object], key: str, path: str, *, nonempty: bool = True) -> str:
    value = obj.get(key)
    where = join(path, key)
    if value is None:
        raise AlertPayloadError(where, "is required (a string)")
    if not isinstance(value, str):
        raise AlertPayloadError(where, f"expected a string, got {json_type(value)}")
    if nonempty and not value.strip():
        raise AlertPayloadError(where, "must not be empty")
    return clean_text(value)


def require_id(obj: Mapping[str, object], key: str, path: str) -> str:
    """A non-empty identifier string (group key, fingerprint, dedup key)."""
    value = obj.get(key)
    where = join(path, key)
    if value is None:
        raise AlertPayloadError(where, "is required (a non-empty string)")
    if not isinstance(value, str):
        raise AlertPayloadError(where, f"expected a string, got {json_type(value)}")
    cleaned = clean_id(value)
    if not cleaned.strip():
        raise AlertPayloadError(where, "must not be empty")
    return cleaned


def _one_of(choices: tuple[str, ...]) -> str:
    return " or ".join(f'"{c}"' for c in choices)


def require_choice(obj: Mapping[str, object], key: str, path: str, choices: tuple[str, ...]) -> str:
    value = obj.get(key)
    if value is None:
        raise AlertPayloadError(join(path, key), f"is required: {_one_of(choices)}")
    if value not in choices:
        shown = repr(clean_text(value, 80)) if isinstance(value, str) else json_type(value)
        raise AlertPayloadError(join(path, key), f"expected {_one_of(choices)}, got {shown}")
    assert isinstance(value, str)
    return value


def _label_value(value: object, path: str) -> str:
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise AlertPayloadError(path, f"expected a string, got {json_type(value)}")
    if isinstance(value, float) and not math.isfinite(value):
        raise AlertPayloadError(path, "expected a string or a finite number")
    if isinstance(value, int) and abs(value) > INT64_MAX:
        raise AlertPayloadError(path, "number out of range; send it as a string")
    return str(value)


def str_map(obj: Mapping[str, object], key: str, path: str, *, required: bool) -> dict[str, str]:
    """An object of strings (numbers are turned into strings), at most MAX_LABELS entries."""
    where = join(path, key)
    value = obj.get(key)
    if value is None:
        if required:
            raise AlertPayloadError(where, "is required (an object of strings)")
        return {}
    mapping = as_object(value, where, "an object of strings")
    if len(mapping) > MAX_LABELS:
        raise AlertPayloadError(where, f"at most {MAX_LABELS} entries, got {len(mapping)}")
    return {clean_text(k): _label_value(v, join(where, k)) for k, v in mapping.items()}


def optional_count(obj: Mapping[str, object], keys: tuple[str, ...], path: str) -> int | None:
    """The first of `keys` present: a whole number from 0 to 2**63-1 (`12.0` is 12)."""
    for key in keys:
        value = obj.get(key)
        if value is None:
            continue
        where = join(path, key)
        if isinstance(value, float) and math.isfinite(value) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise AlertPayloadError(where, f"expected a whole number, got {json_type(value)}")
        if not 0 <= value <= INT64_MAX:
            raise AlertPayloadError(where, f"expected a number from 0 to {INT64_MAX}")
        return value
    return None


# --- time -----------------------------------------------------------------------------


def parse_timestamp(value: object, path: str) -> datetime | None:
    """RFC 3339 (any fraction digits, `Z`, `+02:00` or `+0200`) -> aware UTC.

    None for absent/null/"" and for Go's zero time `0001-01-01T00:00:00Z`.
    """
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise AlertPayloadError(path, f"expected an RFC 3339 time string, got {json_type(value)}")
    match = _RFC3339.match(value.strip())
    if not match:
        shown = clean_text(value, 60)
        raise AlertPayloadError(
            path, f"expected an RFC 3339 time like 2026-11-22T13:02:03Z, got {shown!r}"
        )
    year, month, day, hour, minute, second, fraction, zulu, sign, off_h, off_m = match.groups()
    micro = int((fraction or "0")[:6].ljust(6, "0"))
    offset = timedelta(0)
    if not zulu:
        if int(off_h) > 23 or int(off_m) > 59:
            raise AlertPayloadError(path, "time zone offset out of range")
        offset = timedelta(hours=int(off_h), minutes=int(off_m))
        if sign == "-":
            offset = -offset
    parts = (int(year), int(month), int(day), int(hour), int(minute), int(second), micro)
    if parts == (1, 1, 1, 0, 0, 0, 0) and not offset:
        return None
    try:
        stamp = datetime(*parts, tzinfo=timezone(offset))
        return stamp.astimezone(UTC)
    except (ValueError, OverflowError):
        raise AlertPayloadError(path, "not a valid date and time") from None


# --- links and free-form JSON ---------------------------------------------------------


def http_url(value: object) -> str | None:
    """The URL when it is an absolute http(s) URL fit to be a link; None otherwise."""
    if not isinstance(value, str) or not value or len(value) > MAX_TEXT:
        return None
    if _BAD_URL_CHARS.search(value):
        return None
    try:
        parts = urlsplit(value)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return _valid_unicode(value)


def clean_json(value: object, path: str, depth: int = 0) -> Any:
    """A copy of free-form JSON that any JSON column will store: clean strings,
    finite numbers, 64-bit integers, bounded depth."""
    if depth > MAX_DEPTH:
        raise AlertPayloadError(path, f"nested more than {MAX_DEPTH} levels deep")
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        if abs(value) <= INT64_MAX:
            return value
        try:
            return clean_text(str(value))  # beyond 64 bits: keep the digits as text
        except ValueError:
            raise AlertPayloadError(path, "number too large") from None
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, list | tuple):
        return [clean_json(v, index(path, i), depth + 1) for i, v in enumerate(value)]
    if isinstance(value, Mapping):
        return {
            clean_text(str(k)): clean_json(v, join(path, str(k)), depth + 1)
            for k, v in value.items()
        }
    raise AlertPayloadError(path, f"unexpected value of type {json_type(value)}")


# --- identity and links --------------------------------------------------------------


def _utf8(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


def labels_fingerprint(labels: Mapping[str, str]) -> str:
    """Alertmanager's fingerprint of a label set: FNV-1a 64 over sorted name/value pairs."""
    digest = 0xCBF29CE484222325
    for name in sorted(labels):
        for part in (_utf8(name), b"\xff", _utf8(labels[name]), b"\xff"):
            for byte in part:
                digest = ((digest ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return f"{digest:016x}"


def silence_url(external_url: str, labels: Mapping[str, str]) -> str:
    """Alertmanager's UI: a new silence pre-filled with the alert's labels."""

    def quoted(value: str) -> str:
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'

    matchers = ",".join(f"{name}={quoted(labels[name])}" for name in sorted(labels))
    return f"{external_url.rstrip('/')}/#/silences/new?filter={quote('{' + matchers + '}')}"


def http_links(candidates: Mapping[str, object]) -> dict[str, str]:
    links: dict[str, str] = {}
    for name, value in candidates.items():
        url = http_url(value)
        if url:
            links[name] = url
    return links
