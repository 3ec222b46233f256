"""A call outside Warroom that failed, as the outbox worker sees it: retry later, or not.

The Slack gateway's `SlackFailure` and the ticket webhook's `TicketError` are both one: the
worker retries a transient one after `retry_delay` and hands a refusal to the job's failure
hook. Pure: no Slack, HTTP or SQL here.
"""

from __future__ import annotations

from bot.core.retry import Failure, is_transient
from bot.errors import WarroomError


class CallFailure(WarroomError):
    """`method` is what was called (a Slack method, `ticket.create`…), `code` why it failed
    (Slack's error code, `timeout`, `connection_error`…), `status` the HTTP status and
    `retry_after` the seconds the far side asked to wait, if any."""

    def __init__(
        self,
        method: str,
        code: str,
        message: str,
        *,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.method = method
        self.code = code
        self.status = status
        self.retry_after = retry_after
        super().__init__(message)

    @property
    def failure(self) -> Failure:
        return Failure(self.code, self.status, self.retry_after)

    @property
    def transient(self) -> bool:
        """Worth trying again later (rate limit, 5xx, timeout, connection error)."""
        return is_transient(self.failure)
