"""Socket Mode: events over a WebSocket when SLACK_APP_TOKEN is set (no public URL needed)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

from aiohttp import web
from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
from slack_sdk.web.async_client import AsyncWebClient

log = logging.getLogger(__name__)


async def socket_mode_ctx(app: web.Application) -> AsyncIterator[None]:
    from bot.server.app import BOLT, RUNTIME

    runtime = app[RUNTIME]
    # apps.connections.open goes to the same Web API as every other call (SLACK_API_URL).
    web_client = AsyncWebClient(
        token=runtime.secrets.slack_app_token, base_url=runtime.slack_api_url
    )
    handler = AsyncSocketModeHandler(
        app[BOLT], runtime.secrets.slack_app_token, web_client=web_client
    )
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
