"""The Slack port: the one module that talks to Slack's Web API (through slack_sdk)."""

from __future__ import annotations

import logging
import time
from typing import Any, Protocol

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from bot.core.errors import CallFailure
from bot.core.retry import parse_retry_after

log = logging.getLogger(__name__)


class SlackFailure(CallFailure):
    """A Slack call failed; `code` is Slack's error code (or `timeout`, `connection_error`,
    `http_error`), `status` the HTTP status and `retry_after` Slack's Retry-After, if any."""

    def __init__(
        self,
        method: str,
        code: str,
        *,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(
            method,
            code,
            f"Slack {method} failed: {code}",
            status=status,
            retry_after=retry_after,
        )


def _retry_after(headers: Any) -> float | None:
    try:
        value = headers.get("Retry-After") or headers.get("retry-after")
    except AttributeError:
        return None
    return parse_retry_after(str(value) if value is not None else None, time.time())


def _failure_from_api_error(method: str, exc: SlackApiError) -> SlackFailure:
    response = exc.response
    status = getattr(response, "status_code", None)
    data = response.data if isinstance(response.data, dict) else {}
    code = str(data.get("error") or ("ratelimited" if status == 429 else "http_error"))
    return SlackFailure(
        method, code, status=status, retry_after=_retry_after(getattr(response, "headers", {}))
    )


def make_web_client(
    token: str, base_url: str, session: Any = None, *, retries: bool = True
) -> AsyncWebClient:
    """A Web API client. Interactive replies retry inside slack_sdk; the outbox worker
    uses `retries=False` and schedules its own retries from Retry-After and backoff."""
    handlers = (
        [
            AsyncRateLimitErrorRetryHandler(max_retry_count=3),
            AsyncServerErrorRetryHandler(max_retry_count=3),
            AsyncConnectionErrorRetryHandler(max_retry_count=3),
        ]
        if retries
        else []
    )
    return AsyncWebClient(
        token=token, base_url=base_url, session=session, timeout=10, retry_handlers=handlers
    )


class SlackCalls(Protocol):
    """Anything that makes Slack Web API calls: the gateway, or the outbox's paced one."""

    async def call(self, method: str, **params: Any) -> dict[str, Any]: ...


class SlackGateway:
    def __init__(self, client: AsyncWebClient) -> None:
        self.client = client

    async def call(self, method: str, **params: Any) -> dict[str, Any]:
        """Any Web API method by name; every failure comes out as `SlackFailure`."""
        # slack_sdk's typed methods encode each call the way Slack expects (JSON or form).
        call = getattr(self.client, method.replace(".", "_"))
        try:
            response = await call(**params)
        except SlackApiError as exc:
            raise _failure_from_api_error(method, exc) from exc
        except TimeoutError as exc:
            raise SlackFailure(method, "timeout") from exc
        except (aiohttp.ClientError, OSError) as exc:
            raise SlackFailure(method, "connection_error") from exc
        return dict(response.data) if isinstance(response.data, dict) else {}

    async def auth_test(self) -> dict[str, Any]:
        return await self.call("auth.test")
