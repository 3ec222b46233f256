"""The sandbox's Slack Web API over HTTP: routing, body parsing, auth, faults.

`add_web_api_routes(app, ws, clock)` serves, relative to wherever `app` is mounted:

- `GET|POST /api/{method}`  the Web API methods (`slack_sdk` works against it unchanged)
- `POST /upload/{file_id}`  the upload URL handed out by files.getUploadURLExternal
- `POST /response/{token}`  interaction `response_url`s (see `new_response_url`)
- `apps.connections.open` takes the app-level token (Socket Mode, see `socket_mode`)
- `/_sandbox/faults` (POST adds, DELETE clears), `GET /_sandbox/state`, `POST /_sandbox/reset`
"""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import Callable
from dataclasses import asdict
from functools import partial
from typing import Any

from aiohttp import BodyPartReader, web

from bot.sandbox import methods_chat, methods_conversations, methods_misc, socket_mode
from bot.sandbox.methods_blocks import check_blocks
from bot.sandbox.methods_common import (
    Args,
    Ctx,
    Method,
    SlackError,
    append_message,
    find_message,
)
from bot.sandbox.workspace import JSON, Fault, ResponseUrl, Workspace, default_workspace

METHODS: dict[str, Method] = {
    **methods_conversations.METHODS,
    **methods_chat.METHODS,
    **methods_misc.METHODS,
    **socket_mode.METHODS,
}

UPLOAD_ROUTE = "sandbox_file_upload"
RESPONSE_URL_USES = 5
RESPONSE_URL_TTL = 30 * 60.0
SCOPES = (
    "app_mentions:read,bookmarks:read,bookmarks:write,channels:history,channels:join,"
    "channels:manage,channels:read,chat:write,commands,files:write,groups:history,"
    "groups:read,groups:write,im:history,im:read,im:write,pins:read,pins:write,"
    "reactions:read,reactions:write,usergroups:read,users:read,users:read.email"
)

Clock = Callable[[], float]


def _dumps(value: Any) -> str:
    return json.dumps(value, default=_json_default)


def _json_default(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, set):
        return sorted(value)
    return str(value)


def _json(body: JSON, *, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response(body, status=status, headers=headers, dumps=_dumps)


def new_response_url(
    ws: Workspace, *, channel: str, user: str, now: float, message_ts: str | None = None
) -> str:
    """Register a response_url for an interaction; returns the token for `/response/{token}`.

    `message_ts` is the message the interaction came from (what `replace_original` and
    `delete_original` act on); None for slash commands.
    """
    token = f"{ws.team_id}-{secrets.token_urlsafe(18)}"
    ws.response_urls[token] = ResponseUrl(
        token=token, channel=channel, user=user, created=now, message_ts=message_ts
    )
    return token


async def _read_params(request: web.Request) -> JSON:
    """Query string and body merged, as Slack reads them (form, multipart or JSON)."""
    params: JSON = {key: request.query[key] for key in request.query}
    if request.method != "POST" or not request.body_exists:
        return params
    ctype = request.content_type
    if ctype == "application/json":
        try:
            body = json.loads(await request.text() or "{}")
        except json.JSONDecodeError as exc:
            raise SlackError("invalid_json") from exc
        if not isinstance(body, dict):
            raise SlackError("invalid_json")
        params.update(body)
    elif ctype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        try:
            form = await request.post()
        except ValueError as exc:
            raise SlackError("invalid_form_data") from exc
        for key in form:
            value = form[key]
            if isinstance(value, (str, bytes)):
                params[key] = value
            elif isinstance(value, bytearray):
                params[key] = bytes(value)
            else:
                params[key] = value.file.read()
    elif ctype not in ("", "application/octet-stream", "text/plain"):
        raise SlackError("invalid_post_type")
    return params


async def _multipart_file(request: web.Request) -> bytes:
    """The file part of a multipart upload (the part with a filename, else the first)."""
    first: bytes | None = None
    async for part in await request.multipart():
        if not isinstance(part, BodyPartReader):
            continue
        data = bytes(await part.read())
        if part.filename:
            return data
        if first is None:
            first = data
    return first or b""


def _token(request: web.Request, params: JSON) -> str | None:
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip() or None
    token = params.get("token")
    return str(token) if token else None


class _WebApi:
    def __init__(self, ws: Workspace, clock: Clock) -> None:
        self.ws = ws
        self.clock = clock

    # ------------------------------------------------------------ faults

    async def _fault_response(self, method: str) -> web.Response | None:
        fault = self.ws.faults.get(method)
        if fault is None:
            return None
        if fault.remaining == 0:
            del self.ws.faults[method]
            return None
        if fault.remaining > 0:
            fault.remaining -= 1
            if fault.remaining == 0:
                del self.ws.faults[method]
        if fault.delay_seconds > 0:
            await asyncio.sleep(fault.delay_seconds)
        if fault.status == 429:
            retry_after = str(fault.retry_after if fault.retry_after is not None else 1)
            return _json(
                {"ok": False, "error": "ratelimited"},
                status=429,
                headers={"Retry-After": retry_after},
            )
        if fault.status >= 400:
            headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after else None
            reason = web.Response(status=fault.status).reason or "Error"
            return web.Response(
                status=fault.status, text=f"{fault.status} {reason}", headers=headers
            )
        return None

    # ------------------------------------------------------------ the Web API

    def _upload_url(self, request: web.Request, file_id: str) -> str:
        path = request.app.router[UPLOAD_ROUTE].url_for(file_id=file_id)
        return str(request.url.origin().join(path))

    def _socket_url(self, request: web.Request, ticket: str) -> str:
        path = request.app.router[socket_mode.SOCKET_ROUTE].url_for(ticket=ticket)
        url = request.url.origin().join(path)
        return str(url.with_scheme("wss" if url.scheme == "https" else "ws"))

    async def method(self, request: web.Request) -> web.Response:
        name = request.match_info["method"]
        try:
            params = await _read_params(request)
        except SlackError as err:
            self.ws.calls.append((name, {}))
            return _json(err.body())
        token = _token(request, params)
        params.pop("token", None)
        self.ws.calls.append((name, dict(params)))
        faulted = await self._fault_response(name)
        if faulted is not None:
            return faulted
        handler = METHODS.get(name)
        if handler is None:
            return _json({"ok": False, "error": "unknown_method", "req_method": name})
        if token is None:
            return _json({"ok": False, "error": "not_authed"})
        auth_error = socket_mode.token_error(self.ws, name, token)
        if auth_error is not None:
            return _json({"ok": False, "error": auth_error})
        sockets = socket_mode.SOCKET_ROUTE in request.app.router.named_resources()
        ctx = Ctx(
            now=self.clock(),
            upload_url=partial(self._upload_url, request),
            socket_url=partial(self._socket_url, request) if sockets else None,
        )
        try:
            body = handler(self.ws, Args(params), ctx)
        except SlackError as err:
            body = err.body()
        return _json(body, headers={"X-OAuth-Scopes": SCOPES, "X-Accepted-OAuth-Scopes": ""})

    async def upload(self, request: web.Request) -> web.Response:
        record = self.ws.files.get(request.match_info["file_id"])
        if record is None or record["completed"]:
            return web.Response(status=404, text="file_not_found")
        faulted = await self._fault_response("files.upload_url")
        if faulted is not None:
            return faulted
        if request.content_type == "multipart/form-data":
            data = await _multipart_file(request)
        else:
            data = await request.read()
        record["content"] = data
        record["uploaded"] = True
        return web.Response(text=f"OK - {len(data)}", content_type="text/plain")

    # ------------------------------------------------------------ response_url

    async def response_url(self, request: web.Request) -> web.Response:
        entry = self.ws.response_urls.get(request.match_info["token"])
        if entry is None:
            return _json({"ok": False, "error": "no_service"}, status=404)
        if self.clock() - entry.created > RESPONSE_URL_TTL:
            return _json({"ok": False, "error": "expired_url"}, status=404)
        if entry.uses >= RESPONSE_URL_USES:
            return _json({"ok": False, "error": "used_url"}, status=404)
        try:
            if request.content_type == "application/json":
                body = json.loads(await request.text())
            else:
                body = json.loads(str((await request.post()).get("payload", "")))
        except (json.JSONDecodeError, ValueError):
            return _json({"ok": False, "error": "invalid_payload"}, status=400)
        if not isinstance(body, dict):
            return _json({"ok": False, "error": "invalid_payload"}, status=400)
        entry.uses += 1
        try:
            self._respond(entry, body)
        except SlackError as err:
            return _json(err.body(), status=404 if err.code == "channel_not_found" else 400)
        return _json({"ok": True})

    def _respond(self, entry: ResponseUrl, body: JSON) -> None:
        ws = self.ws
        channel = ws.channels.get(entry.channel)
        if channel is None:
            raise SlackError("channel_not_found")
        original = next((m for m in channel.messages if m.ts == entry.message_ts), None)
        if body.get("delete_original") and original is not None:
            channel.messages.remove(original)
            return
        args = Args(body)
        text = args.raw_text("text")
        blocks = check_blocks(args.parsed("blocks")) if "blocks" in args else None
        if not text and not blocks:
            raise SlackError("no_text")
        if body.get("replace_original") and original is not None:
            if text is not None:
                original.text = text
            original.blocks = blocks or []
            original.edited = True
            return
        in_channel = body.get("response_type") == "in_channel"
        thread_ts = args.text("thread_ts")
        if thread_ts and find_message(channel, thread_ts) is None:
            thread_ts = None
        append_message(
            ws,
            channel,
            user=ws.bot_user_id,
            text=text or "",
            blocks=blocks,
            thread_ts=thread_ts,
            ephemeral_to=None if in_channel else entry.user,
            now=self.clock(),
        )

    # ------------------------------------------------------------ control endpoints

    async def add_fault(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
            method = str(body["method"])
            fault = Fault(
                status=int(body.get("status", 429)),
                retry_after=None if body.get("retry_after") is None else int(body["retry_after"]),
                remaining=int(body.get("remaining", 1)),
                delay_seconds=float(body.get("delay_seconds", 0.0)),
            )
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            return _json({"ok": False, "error": f"bad fault: {exc}"}, status=400)
        self.ws.faults[method] = fault
        return _json({"ok": True, "faults": {k: asdict(v) for k, v in self.ws.faults.items()}})

    async def clear_faults(self, request: web.Request) -> web.Response:
        method = request.query.get("method")
        if method:
            self.ws.faults.pop(method, None)
        else:
            self.ws.faults.clear()
        return _json({"ok": True})

    async def state(self, request: web.Request) -> web.Response:
        return _json(state_dump(self.ws))

    async def reset(self, request: web.Request) -> web.Response:
        fresh = default_workspace(self.clock())
        fresh.bot_token = self.ws.bot_token
        fresh.app_token = self.ws.app_token
        self.ws.replace_with(fresh)
        return _json({"ok": True})


def state_dump(ws: Workspace) -> JSON:
    """The whole workspace as JSON: channels (members, topic, messages, pins, bookmarks),
    users, usergroups, files (content as text), views, faults and the call log."""
    files: JSON = {}
    for fid, record in ws.files.items():
        content = record.get("content")
        files[fid] = {k: v for k, v in record.items() if k != "content"}
        files[fid]["content_text"] = (
            content.decode("utf-8", errors="replace") if isinstance(content, bytes) else None
        )
    return {
        "team": {"id": ws.team_id, "name": ws.team_name, "domain": ws.domain},
        "bot": {"user_id": ws.bot_user_id, "bot_id": ws.bot_id, "app_id": ws.app_id},
        "channels": [
            {
                "id": c.id,
                "name": c.name,
                "is_private": c.is_private,
                "is_archived": c.is_archived,
                "is_im": c.is_im,
                "created": c.created,
                "creator": c.creator,
                "topic": c.topic,
                "purpose": c.purpose,
                "members": list(c.members),
                "messages": [asdict(m) for m in c.messages],
                "pins": list(c.pins),
                "bookmarks": list(c.bookmarks),
            }
            for c in ws.channels.values()
        ],
        "users": [asdict(u) for u in ws.users.values()],
        "usergroups": [asdict(g) for g in ws.usergroups.values()],
        "files": files,
        "views": ws.views,
        "faults": {k: asdict(v) for k, v in ws.faults.items()},
        "calls": [{"method": m, "params": p} for m, p in ws.calls],
    }


def add_web_api_routes(app: web.Application, ws: Workspace, clock: Clock) -> None:
    """Serve the emulated Slack Web API for `ws` on `app` (root app or a mounted sub-app)."""
    api = _WebApi(ws, clock)
    app.router.add_route("GET", "/api/{method}", api.method)
    app.router.add_route("POST", "/api/{method}", api.method)
    app.router.add_post("/upload/{file_id}", api.upload, name=UPLOAD_ROUTE)
    app.router.add_post("/response/{token}", api.response_url)
    app.router.add_post("/_sandbox/faults", api.add_fault)
    app.router.add_delete("/_sandbox/faults", api.clear_faults)
    app.router.add_get("/_sandbox/state", api.state)
    app.router.add_post("/_sandbox/reset", api.reset)
