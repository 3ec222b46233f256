"""The sandbox as one aiohttp app: Slack's Web API, response URLs, Socket Mode and the page."""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web

from bot.sandbox.page import PageConfig, add_page_routes
from bot.sandbox.socket_mode import add_socket_routes
from bot.sandbox.web_api import add_web_api_routes
from bot.sandbox.workspace import Workspace


def create_sandbox_app(
    ws: Workspace, clock: Callable[[], float], page: PageConfig
) -> web.Application:
    """Mount it at `/sandbox` (as `warroom serve` does) or serve it alone (as the tests do).
    Its Socket Mode connections are `app[SOCKETS]` (bot.sandbox.socket_mode)."""
    app = web.Application(client_max_size=64 * 1024 * 1024)
    add_web_api_routes(app, ws, clock)
    sockets = add_socket_routes(app, ws, clock)
    add_page_routes(app, ws, clock, page, sockets=sockets)
    return app
