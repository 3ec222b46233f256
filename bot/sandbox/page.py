"""The sandbox's web page: a small Slack look-alike that shows the Workspace and acts in it.

A person picks who they are acting as, reads channels, types slash commands, presses
buttons, submits modals and adds reactions. Each act becomes the signed request Slack
would send to the bot's ``/slack/events`` (see ``slack_requests``), or, while the bot holds
a Socket Mode connection, the same payload as an envelope over it (``socket_mode``: the
ack's payload is read as the HTTP response body would be). Server-rendered with
Jinja2 (autoescape on); forms work without JavaScript. Call :func:`add_page_routes` before
the app is mounted as a sub-application (aiohttp prefixes routes at mount time).
"""

from __future__ import annotations

import json
import re
import secrets
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import aiohttp
from aiohttp import web

from bot.sandbox import slack_requests as sr
from bot.sandbox.page_filters import environment
from bot.sandbox.socket_mode import TIMEOUT_ERROR, SocketHub, deliver_body
from bot.sandbox.workspace import DEFAULT_CHANNELS, JSON, Channel, Message, ResponseUrl, Workspace

TIMEOUT = aiohttp.ClientTimeout(total=5)
SAMPLE_ALERTS: dict[str, JSON] = {
    "critical": {
        "queue": "whatsapp-outbound",
        "severity": "critical",
        "backlog": 1840,
        "retry_age_ms": 420000,
        "dead_letters": 12,
        "message": "WhatsApp sends failing: backlog 1840",
    },
    "warning": {
        "queue": "rentguy",
        "severity": "warning",
        "backlog": 420,
        "retry_age_ms": 95000,
        "dead_letters": 0,
        "message": "queue thresholds exceeded: rentguy backlog 420",
    },
}
REACTIONS = ("eyes", "white_check_mark", "+1", "fire", "rotating_light", "pray")
_WAR_ROOM = re.compile(r"^(inc|incident|dr|war|wr)[-_]")
_NAME = "sandbox-page-"
ACTION_WORDS = {
    "open_incident": "opened (or joined) incident #{incident_id}: see its war room",
    "update_room": "added to incident #{incident_id}'s war room",
    "post": "posted in the alerts channel",
    "update_post": "its post in the alerts channel was updated",
    "record": "recorded, not posted ({reason})",
}
_PAGES = ("index", "version", "command", "action", "view", "view_close", "react", "alert")


@dataclass(frozen=True)
class PageConfig:
    public_url: str  # absolute URL of this sandbox app's root, for response_url and links
    events_url: str  # the bot's POST /slack/events
    signing_secret: str
    alerts_url: str  # the bot's POST /alerts/generic
    alert_token: str  # bearer token for it
    timezone: str = "UTC"  # message times on the page: `warroom serve` passes settings.timezone


@dataclass
class Flash:
    level: str  # "info" | "error" | "ephemeral"
    text: str
    blocks: list[JSON] = field(default_factory=list)


def channel_kind(ws: Workspace, channel: Channel) -> str:
    """``dm``, ``archived``, ``war-room`` or ``channel``: the marker shown in the sidebar."""
    if channel.is_im:
        return "dm"
    if channel.is_archived:
        return "archived"
    if channel.name not in DEFAULT_CHANNELS and (
        channel.creator == ws.bot_user_id or _WAR_ROOM.match(channel.name)
    ):
        return "war-room"
    return "channel"


def _display_name(ws: Workspace, channel: Channel, me: str) -> str:
    if not channel.is_im:
        return channel.name
    other = next((m for m in channel.members if m != me), me)
    user = ws.users.get(other)
    return user.real_name if user else other


def _find_element(message: Message, block_id: str, action_id: str) -> JSON | None:
    for block in message.blocks:
        if block.get("block_id", "") != block_id:
            continue
        candidates = [*block.get("elements", []), block.get("accessory") or {}]
        for element in candidates:
            if isinstance(element, dict) and element.get("action_id") == action_id:
                return {**element, "block_id": block_id}
    return None


def _ack_flash(what: str, status: int | None, body: str, error: str | None) -> Flash | None:
    """Turn the bot's answer into a line on the page (None: nothing worth showing)."""
    if error is not None and error.startswith(TIMEOUT_ERROR):
        return Flash("error", f'{what} failed with the error "{TIMEOUT_ERROR}" ({error})')
    if error is not None:
        return Flash("error", f"{what}: bot unreachable ({error})")
    if status != 200:
        return Flash("error", f"{what}: bot answered {status} {body[:200]}".rstrip())
    try:
        data = json.loads(body) if body.strip() else None
    except ValueError:
        return Flash("ephemeral", body[:2000]) if body.strip() else None
    if isinstance(data, dict) and (data.get("text") or data.get("blocks")):
        return Flash("ephemeral", str(data.get("text", "")), list(data.get("blocks") or []))
    return None


async def _post(
    url: str, body: bytes, headers: Mapping[str, str]
) -> tuple[int | None, str, str | None]:
    """POST with a 5 s timeout; (status, body, None) or (None, "", readable error)."""
    try:
        async with (
            aiohttp.ClientSession(timeout=TIMEOUT) as session,
            session.post(url, data=body, headers=dict(headers)) as resp,
        ):
            return resp.status, await resp.text(errors="replace"), None
    except TimeoutError:
        return None, "", f"no answer within {TIMEOUT.total:g} s from {url}"
    except aiohttp.ClientError as exc:
        return None, "", f"{type(exc).__name__} talking to {url}: {exc}"


def add_page_routes(
    app: web.Application,
    ws: Workspace,
    clock: Callable[[], float],
    config: PageConfig,
    *,
    sockets: SocketHub | None = None,
) -> None:
    """Add the page (``GET /``) and its form handlers to ``app``. With `sockets`, acts go
    over Socket Mode whenever the bot has a live connection there (as Slack does)."""
    env = environment(ws, config.timezone)
    flashes: OrderedDict[str, Flash] = OrderedDict()
    changes = [0]

    def url(request: web.Request, name: str) -> str:
        return str(request.app.router[_NAME + name].url_for())

    def remember(flash: Flash | None) -> str | None:
        if flash is None:
            return None
        key = secrets.token_urlsafe(8)
        flashes[key] = flash
        while len(flashes) > 100:
            flashes.popitem(last=False)
        return key

    def back(
        request: web.Request, form: Mapping[str, str], flash: Flash | None
    ) -> web.HTTPSeeOther:
        """The redirect back to the page, carrying the flash line (raise it)."""
        changes[0] += 1
        query = {k: form[k] for k in ("user", "channel") if form.get(k)}
        key = remember(flash)
        if key:
            query["flash"] = key
        target = request.app.router[_NAME + "index"].url_for().with_query(query)
        return web.HTTPSeeOther(str(target))

    async def send(body: bytes, content_type: str) -> tuple[int | None, str, str | None]:
        """Deliver an act: over Socket Mode when connected (Slack then posts nothing over
        HTTP), else as a signed POST to the bot's request URL."""
        if sockets is not None and sockets.live():
            return await deliver_body(sockets, body, content_type)
        headers = sr.signed_headers(body, int(clock()), config.signing_secret, content_type)
        return await _post(config.events_url, body, headers)

    def new_response_url(channel: str, user: str, message_ts: str | None = None) -> str:
        token = secrets.token_urlsafe(18)
        ws.response_urls[token] = ResponseUrl(token, channel, user, clock(), message_ts=message_ts)
        return f"{config.public_url.rstrip('/')}/response/{token}"

    def new_trigger() -> str:
        trigger_id = sr.new_trigger_id()
        ws.triggers[trigger_id] = clock()
        return trigger_id

    def version() -> str:
        count = sum(len(c.messages) for c in ws.channels.values())
        return f"{len(ws.calls)}.{count}.{len(ws.channels)}.{len(ws.views)}.{changes[0]}"

    async def form_of(request: web.Request) -> dict[str, str]:
        """The posted form as plain strings; repeated fields (checkboxes) comma-joined."""
        form: dict[str, str] = {}
        for key, value in (await request.post()).items():
            if isinstance(value, str):
                form[key] = f"{form[key]},{value}" if key in form else value
        return form

    def message_in(form: Mapping[str, str]) -> tuple[Channel | None, Message | None]:
        channel = ws.channels.get(form.get("channel", ""))
        if channel is None:
            return None, None
        ts = form.get("message_ts", "")
        return channel, next((m for m in channel.messages if m.ts == ts), None)

    async def index(request: web.Request) -> web.Response:
        q = request.query
        me = q.get("user") if q.get("user") in ws.users else None
        me = me or next((u.id for u in ws.users.values() if not u.is_bot), ws.bot_user_id)
        channels = sorted(ws.channels.values(), key=lambda c: (c.is_im, c.is_archived, c.name))
        channel = ws.channels.get(q.get("channel", "")) or ws.channel_by_name("general")
        if channel is None and channels:
            channel = channels[0]
        visible = [m for m in (channel.messages if channel else []) if m.ephemeral_to in (None, me)]
        top = [m for m in visible if m.thread_ts in (None, m.ts)]
        replies: dict[str, list[Message]] = {}
        for m in (m for m in visible if m.thread_ts not in (None, m.ts)):
            replies.setdefault(str(m.thread_ts), []).append(m)
        pinned = [m for m in visible if channel and m.ts in channel.pins]
        html = env.get_template("page.html").render(
            ws=ws,
            me=me,
            users=[u for u in ws.users.values() if not u.is_bot],
            channels=[(c, channel_kind(ws, c), _display_name(ws, c, me)) for c in channels],
            channel=channel,
            channel_title=_display_name(ws, channel, me) if channel else "",
            kind=channel_kind(ws, channel) if channel else "",
            messages=top,
            replies=replies,
            pinned=pinned,
            views=list(ws.views.items()),
            flash=flashes.get(q.get("flash", "")),
            reactions=REACTIONS,
            version=version(),
            url={n: url(request, n) for n in _PAGES},
        )
        return web.Response(text=html, content_type="text/html")

    async def version_handler(request: web.Request) -> web.Response:
        return web.Response(text=version())

    async def command(request: web.Request) -> web.Response:
        form = await form_of(request)
        user, channel_id = form.get("user", ""), form.get("channel", "")
        text = form.get("text", "").strip()
        if not text.startswith("/") or len(text) < 2:
            raise back(request, form, Flash("error", "Type a slash command, e.g. /incident help"))
        if user not in ws.users or channel_id not in ws.channels:
            raise back(request, form, Flash("error", "Pick a user and a channel first"))
        command_name, _, rest = text.partition(" ")
        body = sr.slash_command_body(
            ws,
            command=command_name,
            text=rest.strip(),
            user_id=user,
            channel_id=channel_id,
            response_url=new_response_url(channel_id, user),
            trigger_id=new_trigger(),
        )
        status, answer, error = await send(body, sr.FORM)
        flash = _ack_flash(command_name, status, answer, error)
        raise back(request, form, flash or Flash("info", f"{text} sent"))

    async def action(request: web.Request) -> web.Response:
        form = await form_of(request)
        user = form.get("user", "")
        channel, message = message_in(form)
        if channel is None or message is None or user not in ws.users:
            raise back(request, form, Flash("error", "That message is gone"))
        element = _find_element(message, form.get("block_id", ""), form.get("action_id", ""))
        if element is None:
            raise back(request, form, Flash("error", "That button is no longer on the message"))
        if "options" in element or element.get("type") == "overflow":
            chosen = form.get("value", "")
            options = element.get("options", [])
            element["selected_option"] = next(
                (o for o in options if o.get("value") == chosen), None
            )
        elif element.get("type") == "users_select":
            element["selected_user"] = form.get("value", "")
        body = sr.block_actions_body(
            ws,
            user_id=user,
            channel_id=channel.id,
            message=message,
            action=element,
            response_url=new_response_url(channel.id, user, message.ts),
            trigger_id=new_trigger(),
            action_ts=f"{clock():.6f}",
        )
        status, answer, error = await send(body, sr.FORM)
        raise back(request, form, _ack_flash("button", status, answer, error))

    async def view(request: web.Request) -> web.Response:
        form = await form_of(request)
        view_id, user = form.get("view_id", ""), form.get("user", "")
        current = ws.views.get(view_id)
        if current is None or user not in ws.users:
            raise back(request, form, Flash("error", "That modal is closed"))
        values = sr.state_values(current, form)
        body = sr.view_submission_body(
            ws, user_id=user, view=current, values=values, trigger_id=new_trigger()
        )
        status, answer, error = await send(body, sr.FORM)
        if error is not None or status != 200:
            raise back(request, form, _ack_flash("modal", status, answer, error))
        try:
            reply = json.loads(answer) if answer.strip() else {}
        except ValueError:
            reply = {}
        kind = reply.get("response_action") if isinstance(reply, dict) else None
        flash: Flash | None = None
        if kind == "errors":
            errors = reply.get("errors") or {}
            flash = Flash("error", "; ".join(f"{k}: {v}" for k, v in errors.items()))
        elif kind == "update" and isinstance(reply.get("view"), dict):
            ws.views[view_id] = {**current, **reply["view"], "id": view_id}
        elif kind == "push" and isinstance(reply.get("view"), dict):
            new_id = ws.next_id("V")
            ws.views[new_id] = {**reply["view"], "id": new_id, "root_view_id": view_id}
        elif kind == "clear":
            ws.views.clear()
        else:  # an empty 200 closes the modal, as in Slack
            ws.views.pop(view_id, None)
        raise back(request, form, flash)

    async def view_close(request: web.Request) -> web.Response:
        form = await form_of(request)
        current = ws.views.pop(form.get("view_id", ""), None)
        flash = None
        if current is not None and current.get("notify_on_close"):
            body = sr.view_closed_body(ws, user_id=form.get("user", ""), view=current)
            status, answer, error = await send(body, sr.FORM)
            flash = _ack_flash("modal closed", status, answer, error)
        raise back(request, form, flash)

    async def react(request: web.Request) -> web.Response:
        form = await form_of(request)
        user = form.get("user", "")
        name = form.get("name", "").strip().strip(":")
        channel, message = message_in(form)
        if channel is None or message is None or user not in ws.users or not name:
            raise back(request, form, Flash("error", "Nothing to react to"))
        removed = form.get("remove", "") not in ("", "0", "false")
        who = message.reactions.setdefault(name, [])
        if removed and user in who:
            who.remove(user)
        elif not removed and user not in who:
            who.append(user)
        if not who:
            del message.reactions[name]
        event = sr.reaction_event(
            ws, user_id=user, message=message, name=name, removed=removed, event_ts=f"{clock():.6f}"
        )
        body = sr.event_callback_body(ws, event, clock())
        status, answer, error = await send(body, sr.JSON_CONTENT)
        raise back(request, form, _ack_flash("reaction", status, answer, error))

    async def alert(request: web.Request) -> web.Response:
        form = await form_of(request)
        severity = form.get("severity", "critical")
        payload = SAMPLE_ALERTS.get(severity, SAMPLE_ALERTS["critical"])
        headers = {"Content-Type": sr.JSON_CONTENT, "Authorization": f"Bearer {config.alert_token}"}
        status, answer, error = await _post(
            config.alerts_url, json.dumps(payload).encode(), headers
        )
        if error is not None:
            flash = Flash("error", f"{severity} alert: alert intake unreachable ({error})")
        else:
            level = "info" if status is not None and status < 300 else "error"
            flash = Flash(level, f"{severity} alert: {alert_outcome(status, answer)}")
        raise back(request, form, flash)

    app.router.add_get("/", index, name=_NAME + "index")
    app.router.add_get("/version", version_handler, name=_NAME + "version")
    for handler in (command, action, view, react, alert):
        app.router.add_post(f"/{handler.__name__}", handler, name=_NAME + handler.__name__)
    app.router.add_post("/view/close", view_close, name=_NAME + "view_close")


def alert_outcome(status: int | None, answer: str) -> str:
    """What the intake did, in words: `opened incident #3`, `posted in the alerts channel`."""
    try:
        groups = json.loads(answer).get("groups") or []
    except (ValueError, AttributeError):
        groups = []
    if status != 202 or not groups:
        return f"intake answered {status} {answer[:200]}"
    said = [ACTION_WORDS.get(g.get("action"), "{reason}").format(**g) for g in groups]
    return "accepted — " + "; ".join(dict.fromkeys(said))
