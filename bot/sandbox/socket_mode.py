"""Socket Mode in the sandbox: apps.connections.open, the WebSocket, envelopes and acks.

Slack's protocol, as the sandbox speaks it:

- the app calls ``apps.connections.open`` with its app-level (``xapp-``) token and gets a
  one-time WebSocket URL (``ws://<host>/…/socket/<ticket>``);
- on connect the sandbox sends ``{"type": "hello", ...}`` and answers pings;
- every request Slack would otherwise POST to the app's request URL arrives as an envelope
  ``{"envelope_id", "type": "slash_commands"|"interactive"|"events_api", "payload",
  "accepts_response_payload"}``; the app acks with ``{"envelope_id", "payload"?}`` within
  3 s, and the ack's payload is what an HTTP response body would have been;
- before closing a connection (refresh) the sandbox sends ``{"type": "disconnect"}`` so the
  app opens another one; envelopes go round-robin over the live connections.

The pure parts (tickets, envelope shapes) are functions; :class:`SocketHub` holds the IO.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

from aiohttp import WSMsgType, web

from bot.sandbox.methods_common import Args, Ctx, SlackError
from bot.sandbox.workspace import JSON, Workspace

log = logging.getLogger(__name__)

ACK_TIMEOUT = 3.0  # Slack's: no ack within 3 s and the person sees operation_timeout
TICKET_TTL = 60.0  # an unused URL from apps.connections.open expires
REFRESH_GRACE = 10.0  # after `disconnect`, the old connection stays open this long
SOCKET_ROUTE = "sandbox_socket"
APP_TOKEN_METHODS = frozenset({"apps.connections.open"})
TIMEOUT_ERROR = "operation_timeout"

Clock = Callable[[], float]


class AckTimeout(Exception):
    """The app did not ack an envelope in time (Slack's ``operation_timeout``)."""


class NotConnected(Exception):
    """No live Socket Mode connection to deliver an envelope over."""


# ------------------------------------------------------------ pure: tickets and shapes


def issue_ticket(ws: Workspace, now: float) -> str:
    """A new one-time ticket for the WebSocket URL."""
    for ticket, issued in list(ws.socket_tickets.items()):
        if now - issued > TICKET_TTL:
            del ws.socket_tickets[ticket]
    ticket = secrets.token_urlsafe(24)
    ws.socket_tickets[ticket] = now
    return ticket


def take_ticket(ws: Workspace, ticket: str, now: float) -> bool:
    """Accept `ticket` once, if it is fresh."""
    issued = ws.socket_tickets.pop(ticket, None)
    return issued is not None and now - issued <= TICKET_TTL


def token_error(ws: Workspace, method: str, token: str) -> str | None:
    """Slack's auth error for `token` on `method` (None: allowed). App-level methods take the
    app token only; every other method takes the bot token only."""
    wanted = ws.app_token if method in APP_TOKEN_METHODS else ws.bot_token
    if token == wanted:
        return None
    if token in (ws.app_token, ws.bot_token):
        return "not_allowed_token_type"
    return "invalid_auth"


def apps_connections_open(ws: Workspace, args: Args, ctx: Ctx) -> JSON:
    """apps.connections.open: a one-time WebSocket URL for this app."""
    if ctx.socket_url is None:
        raise SlackError("not_allowed", detail="Socket Mode is not served here")
    return {"ok": True, "url": ctx.socket_url(issue_ticket(ws, ctx.now))}


METHODS = {"apps.connections.open": apps_connections_open}


def envelope_of(body: bytes, content_type: str) -> tuple[str, JSON, bool]:
    """The Socket Mode (type, payload, accepts_response_payload) for a request body Slack
    would POST over HTTP (as built by ``slack_requests``): a slash command's form fields as
    an object, an interaction's ``payload`` JSON, an Events API callback as is."""
    if content_type.startswith("application/json"):
        return "events_api", json.loads(body), False
    fields = dict(parse_qsl(body.decode(), keep_blank_values=True))
    if "payload" in fields and "command" not in fields:
        payload = json.loads(fields["payload"])
        accepts = payload.get("type") in ("view_submission", "block_suggestion")
        return "interactive", payload, accepts
    return "slash_commands", dict(fields), True


def envelope(kind: str, payload: JSON, accepts: bool, envelope_id: str) -> JSON:
    out: JSON = {
        "envelope_id": envelope_id,
        "type": kind,
        "payload": payload,
        "accepts_response_payload": accepts,
    }
    if kind == "events_api":
        out.update(retry_attempt=0, retry_reason="")
    return out


def hello(ws: Workspace, num_connections: int) -> JSON:
    return {
        "type": "hello",
        "num_connections": num_connections,
        "debug_info": {
            "host": "applink-sandbox",
            "build_number": 1,
            "approximate_connection_time": 3600,
        },
        "connection_info": {"app_id": ws.app_id},
    }


def disconnect(reason: str) -> JSON:
    return {"type": "disconnect", "reason": reason, "debug_info": {"host": "applink-sandbox"}}


def ack_text(payload: JSON | None) -> str:
    """An ack's payload as the HTTP response body it stands for ("" for a bare ack)."""
    return json.dumps(payload) if payload else ""


# ------------------------------------------------------------ IO: connections


@dataclass
class Connection:
    socket: web.WebSocketResponse
    id: str
    refreshing: bool = False  # sent `disconnect`: no new envelopes
    envelopes: int = 0  # envelopes sent over this connection


@dataclass
class SocketHub:
    """The sandbox's Socket Mode connections and the envelopes waiting for their acks."""

    ws: Workspace
    clock: Clock
    ack_timeout: float = ACK_TIMEOUT
    refresh_grace: float = REFRESH_GRACE
    connections: list[Connection] = field(default_factory=list)
    delivered: list[JSON] = field(default_factory=list)  # every envelope sent
    timeouts: list[JSON] = field(default_factory=list)  # envelopes never acked in time
    accepted: int = 0  # connections accepted so far
    _pending: dict[str, asyncio.Future[JSON | None]] = field(default_factory=dict)
    _turn: int = 0
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    def live(self) -> list[Connection]:
        return [c for c in self.connections if not c.refreshing and not c.socket.closed]

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """``GET /socket/{ticket}``: the WebSocket the app opened with its one-time URL."""
        if not take_ticket(self.ws, request.match_info["ticket"], self.clock()):
            return web.json_response({"ok": False, "error": "invalid_ticket"}, status=401)
        sock = web.WebSocketResponse(autoping=True)
        await sock.prepare(request)
        conn = Connection(sock, uuid.uuid4().hex[:8])
        self.connections.append(conn)
        self.accepted += 1
        try:
            await sock.send_json(hello(self.ws, len(self.live())))
            async for message in sock:
                if message.type == WSMsgType.TEXT:
                    self._on_text(message.data)
        except ConnectionError:
            pass  # the app went away mid-message: as good as a close
        finally:
            self.connections.remove(conn)
        return sock

    def _on_text(self, data: str) -> None:
        try:
            message = json.loads(data)
        except ValueError:
            return
        if not isinstance(message, dict):
            return
        waiting = self._pending.get(str(message.get("envelope_id", "")))
        if waiting is not None and not waiting.done():
            payload = message.get("payload")
            waiting.set_result(payload if isinstance(payload, dict) else None)

    def _next_connection(self) -> Connection:
        live = self.live()
        if not live:
            raise NotConnected("no live Socket Mode connection")
        self._turn += 1
        return live[(self._turn - 1) % len(live)]

    async def deliver(self, kind: str, payload: JSON, *, accepts: bool) -> JSON | None:
        """Send an envelope to one live connection (round-robin) and wait for its ack;
        returns the ack's payload. Raises AckTimeout (recorded in `timeouts`)."""
        conn = self._next_connection()
        conn.envelopes += 1
        message = envelope(kind, payload, accepts, str(uuid.uuid4()))
        waiting: asyncio.Future[JSON | None] = asyncio.get_running_loop().create_future()
        self._pending[message["envelope_id"]] = waiting
        self.delivered.append(message)
        try:
            try:
                await conn.socket.send_json(message)
            except ConnectionError as exc:
                raise NotConnected(f"connection {conn.id} is gone: {exc}") from exc
            return await asyncio.wait_for(waiting, self.ack_timeout)
        except TimeoutError as exc:
            self.timeouts.append(message)
            log.warning("socket mode envelope not acked", extra={"envelope_type": kind})
            raise AckTimeout(
                f"{TIMEOUT_ERROR}: no ack for the {kind} envelope within {self.ack_timeout:g} s"
            ) from exc
        finally:
            self._pending.pop(message["envelope_id"], None)

    async def refresh(self, reason: str = "refresh_requested") -> None:
        """Ask every connection to reconnect (``disconnect``), closing each after the grace."""
        for conn in list(self.connections):
            conn.refreshing = True
            with contextlib.suppress(ConnectionError):
                await conn.socket.send_json(disconnect(reason))
            task = asyncio.create_task(self._close_later(conn))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _close_later(self, conn: Connection) -> None:
        await asyncio.sleep(self.refresh_grace)
        await conn.socket.close()

    async def close_all(self) -> None:
        """Close every connection now, without a `disconnect` first (Slack going away)."""
        for conn in list(self.connections):
            conn.refreshing = True
            await conn.socket.close()

    async def shutdown(self, _app: web.Application) -> None:
        for task in list(self._tasks):
            task.cancel()
        await self.close_all()


SOCKETS = web.AppKey("sandbox_sockets", SocketHub)


async def deliver_body(
    hub: SocketHub, body: bytes, content_type: str
) -> tuple[int | None, str, str | None]:
    """Deliver a request body over Socket Mode; answered like an HTTP POST would be:
    (200, the ack's payload as a JSON text or "", None), or (None, "", readable error)."""
    kind, payload, accepts = envelope_of(body, content_type)
    try:
        answer = await hub.deliver(kind, payload, accepts=accepts)
    except (AckTimeout, NotConnected) as exc:
        return None, "", str(exc)
    return 200, ack_text(answer), None


def add_socket_routes(app: web.Application, ws: Workspace, clock: Clock) -> SocketHub:
    """Serve Socket Mode for `ws` on `app`; the hub is also `app[SOCKETS]`."""
    hub = SocketHub(ws, clock)
    app[SOCKETS] = hub
    app.router.add_get("/socket/{ticket}", hub.handle, name=SOCKET_ROUTE)
    app.on_shutdown.append(hub.shutdown)
    return hub
