"""JSON log lines carrying the request id and incident id; secrets never reach a line."""

from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

_context: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar(
    "warroom_log_context", default=None
)
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}
# Slack tokens and bearer values, whatever their origin.
_TOKEN_SHAPES = re.compile(r"\b(xox[abposr]-[A-Za-z0-9-]+|xapp-[A-Za-z0-9-]+)|(Bearer\s+)\S+")
REDACTED = "[redacted]"


def bind_context(**values: Any) -> None:
    """Add fields (request_id, incident_id, …) to every line logged in this task from now on."""
    _context.set({**(_context.get() or {}), **values})


def new_context(**values: Any) -> contextvars.Token[dict[str, Any] | None]:
    return _context.set(dict(values))


def reset_context(token: contextvars.Token[dict[str, Any] | None]) -> None:
    _context.reset(token)


class Redactor:
    """Replaces known secret values and anything shaped like a token."""

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        self.secrets = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        return _TOKEN_SHAPES.sub(lambda m: (m.group(2) or "") + REDACTED, text)


class JsonFormatter(logging.Formatter):
    def __init__(self, redact: Redactor) -> None:
        super().__init__()
        self.redact = redact

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            **(_context.get() or {}),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                line[key] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return self.redact(json.dumps(line, default=str, ensure_ascii=False))


def configure_logging(secrets: Iterable[str | None], level: str = "INFO") -> None:
    """Route every logger (ours, aiohttp's, bolt's, SQLAlchemy's) through the JSON formatter."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(Redactor(secrets)))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("aiohttp.access", "alembic", "apscheduler"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
