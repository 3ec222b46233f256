"""The Slack port: the one module that talks to Slack's Web API (through slack_sdk)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from bot.core.slack_text import TOPIC_LIMIT, truncate
from bot.core.war_room_names import with_suffix

log = logging.getLogger(__name__)

MAX_NAME_ATTEMPTS = 20


class SlackFailure(Exception):
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
        self.method = method
        self.code = code
        self.status = status
        self.retry_after = retry_after
        super().__init__(f"Slack {method} failed: {code}")


def _retry_after(headers: Any) -> float | None:
    try:
        value = headers.get("Retry-After") or headers.get("retry-after")
        return float(value) if value is not None else None
    except (AttributeError, TypeError, ValueError):
        return None


def _failure_from_api_error(method: str, exc: SlackApiError) -> SlackFailure:
    response = exc.response
    status = getattr(response, "status_code", None)
    data = response.data if isinstance(response.data, dict) else {}
    code = str(data.get("error") or ("ratelimited" if status == 429 else "http_error"))
    return SlackFailure(
        method, code, status=status, retry_after=_retry_after(getattr(response, "headers", {}))
    )


@dataclass(frozen=True)
class PostedMessage:
    channel: str
    ts: str


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

    _call = call

    async def auth_test(self) -> dict[str, Any]:
        return await self._call("auth.test")

    async def create_channel(self, name: str, *, private: bool = False) -> tuple[str, str]:
        """Create a channel, trying `name-2`, `name-3`, … while Slack says `name_taken`."""
        candidate = name
        for attempt in range(2, MAX_NAME_ATTEMPTS + 2):
            try:
                data = await self._call("conversations.create", name=candidate, is_private=private)
            except SlackFailure as exc:
                if exc.code != "name_taken":
                    raise
                candidate = with_suffix(name, attempt)
                continue
            channel = data["channel"]
            return str(channel["id"]), str(channel["name"])
        raise SlackFailure("conversations.create", "name_taken")

    async def invite(self, channel: str, users: list[str]) -> None:
        wanted = [u for u in dict.fromkeys(users) if u]
        if not wanted:
            return
        try:
            await self._call("conversations.invite", channel=channel, users=",".join(wanted))
        except SlackFailure as exc:
            if exc.code not in ("already_in_channel", "cant_invite_self"):
                raise

    async def set_topic(self, channel: str, topic: str) -> None:
        await self._call(
            "conversations.setTopic", channel=channel, topic=truncate(topic, TOPIC_LIMIT)
        )

    async def post_message(
        self, channel: str, text: str, blocks: list[dict[str, Any]] | None = None
    ) -> PostedMessage:
        params: dict[str, Any] = {"channel": channel, "text": text}
        if blocks:
            params["blocks"] = blocks
        data = await self._call("chat.postMessage", **params)
        return PostedMessage(str(data["channel"]), str(data["ts"]))

    async def pin(self, channel: str, ts: str) -> None:
        try:
            await self._call("pins.add", channel=channel, timestamp=ts)
        except SlackFailure as exc:
            if exc.code != "already_pinned":
                raise

    async def add_bookmark(self, channel: str, title: str, link: str) -> None:
        await self._call("bookmarks.add", channel_id=channel, title=title, type="link", link=link)

    async def usergroup_members(self, usergroup: str) -> list[str]:
        data = await self._call("usergroups.users.list", usergroup=usergroup)
        return [str(u) for u in data.get("users", [])]
