"""What can go wrong calling a backend: one exception, its kind says which."""

from __future__ import annotations

from typing import Literal

from bot.errors import WarroomError

Kind = Literal[
    "not_configured",
    "circuit_open",
    "timeout",
    "refused",
    "server_error",
    "rate_limited",
    "redirect",
    "client_error",
    "bad_response",
    "bad_argument",
]


class BackendError(WarroomError):
    def __init__(
        self,
        backend: str,
        kind: Kind,
        message: str,
        *,
        retry_after: float | None = None,
        status: int | None = None,
        attempts: int = 0,
    ) -> None:
        self.backend = backend
        self.kind = kind
        self.message = message
        self.retry_after = retry_after
        self.status = status
        self.attempts = attempts
        super().__init__(message)
