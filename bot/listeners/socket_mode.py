"""Socket Mode: events over a WebSocket when SLACK_APP_TOKEN is set (no public URL needed)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

log = logging.getLogger(__name__)


@asynccontextmanager
async def socket_mode(bolt: AsyncApp, app_token: str, api_url: str) -> AsyncIterator[None]:
    """Connected while inside: Slack's events reach `bolt` over the WebSocket."""
    # apps.connections.open goes to the same Web API as every other call (SLACK_API_URL).
    web_client = AsyncWebClient(token=app_token, base_url=api_url)
    handler = AsyncSocketModeHandler(bolt, app_token, web_client=web_client)
    try:
        # The first URL is asked for here: a refused app token fails start-up with Slack's
        # error instead of the client retrying in the background forever.
        handler.client.wss_uri = await handler.client.issue_new_wss_url()
        await handler.connect_async()
    except BaseException:
        await handler.close_async()
        raise
    log.info("socket mode connected")
    yield
    await handler.close_async()
