"""What the emulated Web API methods share: errors, argument parsing, Slack's object shapes.

Every method is a plain function `(ws, args, ctx) -> JSON` over the Workspace. It raises
`SlackError` for the `{"ok": false, "error": ...}` answers Slack gives.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.sandbox.workspace import JSON, Channel, Message, User, Workspace


class SlackError(Exception):
    """A Slack method error: answered as HTTP 200 `{"ok": false, "error": code, **extra}`."""

    def __init__(self, code: str, **extra: Any) -> None:
        super().__init__(code)
        self.code = code
        self.extra = extra

    def body(self) -> JSON:
        return {"ok": False, "error": self.code, **self.extra}


def invalid_arguments(*messages: str) -> SlackError:
    """Slack's answer for malformed arguments, with its `[ERROR] ...` messages."""
    return SlackError(
        "invalid_arguments",
        response_metadata={"messages": [f"[ERROR] {m}" for m in messages]},
    )


@dataclass(frozen=True)
class Ctx:
    """What a method gets besides the workspace and its arguments."""

    now: float
    # absolute URL of this sandbox's file-upload endpoint for a file id
    upload_url: Callable[[str], str]
    # absolute ws:// URL of this sandbox's Socket Mode endpoint for a ticket (None: not served)
    socket_url: Callable[[str], str] | None = None


_TRUE = {"1", "true", "yes", "on"}


class Args:
    """A method's arguments as Slack reads them: form strings or JSON values alike."""

    def __init__(self, values: JSON) -> None:
        self.values = values

    def __contains__(self, name: str) -> bool:
        return self.get(name) is not None

    def get(self, name: str) -> Any:
        value = self.values.get(name)
        return None if value == "" else value

    def text(self, name: str, default: str | None = None) -> str | None:
        value = self.get(name)
        if value is None:
            return default
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, (dict, list)):
            return json.dumps(value)
        return str(value)

    def raw_text(self, name: str) -> str | None:
        """Like `text`, but an empty string stays an empty string."""
        value = self.values.get(name)
        return None if value is None else str(value)

    def flag(self, name: str, default: bool = False) -> bool:
        value = self.get(name)
        if value is None:
            return default
        if isinstance(value, bool):
            return value
        return str(value).strip().lower() in _TRUE

    def number(self, name: str, default: int) -> int:
        value = self.get(name)
        if value is None:
            return default
        try:
            return int(str(value))
        except ValueError as exc:
            raise invalid_arguments(f"{name} must be an integer") from exc

    def parsed(self, name: str) -> Any:
        """A JSON-typed argument: a JSON string in form bodies, a value in JSON bodies."""
        value = self.get(name)
        if isinstance(value, str):
            try:
                return json.loads(value)
            except json.JSONDecodeError as exc:
                raise SlackError("invalid_json", argument=name) from exc
        return value

    def id_list(self, name: str) -> list[str]:
        """A list argument: a comma separated string, a JSON array string, or an array."""
        value = self.get(name)
        if value is None:
            return []
        if isinstance(value, list):
            return [str(v).strip() for v in value if str(v).strip()]
        text = str(value).strip()
        if text.startswith("["):
            try:
                parsed = json.loads(text)
            except json.JSONDecodeError:
                parsed = None
            if isinstance(parsed, list):
                return [str(v).strip() for v in parsed if str(v).strip()]
        return [part.strip() for part in text.split(",") if part.strip()]


Method = Callable[[Workspace, Args, Ctx], JSON]


# ---------------------------------------------------------------- lookups


def visible(ws: Workspace, channel: Channel) -> bool:
    """Whether the bot can see a conversation at all (private ones only as a member)."""
    return not (channel.is_private or channel.is_im) or ws.bot_user_id in channel.members


def get_channel(
    ws: Workspace, channel_id: str | None, *, error: str = "channel_not_found"
) -> Channel:
    """A conversation by id, as the bot sees it; unknown or hidden → `error`."""
    channel = ws.channels.get(channel_id or "")
    if channel is None or not visible(ws, channel):
        raise SlackError(error)
    return channel


def require_member(ws: Workspace, channel: Channel) -> None:
    if ws.bot_user_id not in channel.members:
        raise SlackError("not_in_channel")


def require_not_archived(channel: Channel) -> None:
    if channel.is_archived:
        raise SlackError("is_archived")


def get_user(ws: Workspace, user_id: str | None, *, error: str = "user_not_found") -> User:
    user = ws.users.get(user_id or "")
    if user is None:
        raise SlackError(error)
    return user


def find_message(channel: Channel, ts: str | None) -> Message | None:
    return next(
        (m for m in channel.messages if m.ts == ts and m.ephemeral_to is None),
        None,
    )


def get_message(channel: Channel, ts: str | None) -> Message:
    message = find_message(channel, ts)
    if message is None:
        raise SlackError("message_not_found")
    return message


def open_im(ws: Workspace, user_id: str, now: float) -> tuple[Channel, bool]:
    """The bot's DM with a user, created if needed; returns (channel, already_open)."""
    for channel in ws.channels.values():
        if channel.is_im and set(channel.members) == {ws.bot_user_id, user_id}:
            return channel, True
    cid = ws.next_id("D")
    channel = Channel(
        id=cid,
        name=user_id,
        created=int(now),
        creator=ws.bot_user_id,
        is_private=True,
        is_im=True,
        members=[ws.bot_user_id, user_id],
    )
    ws.channels[cid] = channel
    return channel, False


def im_user(ws: Workspace, channel: Channel) -> str:
    """The other party of a DM."""
    others = [m for m in channel.members if m != ws.bot_user_id]
    return others[0] if others else ws.bot_user_id


# ---------------------------------------------------------------- messages


def append_message(
    ws: Workspace,
    channel: Channel,
    *,
    user: str,
    text: str,
    now: float,
    blocks: list[JSON] | None = None,
    thread_ts: str | None = None,
    ephemeral_to: str | None = None,
    files: list[JSON] | None = None,
    subtype: str | None = None,
) -> Message:
    """Add a message to a channel with a fresh ts (for methods and the page alike)."""
    message = Message(
        ts=ws.next_ts(now),
        channel=channel.id,
        user=user,
        text=text,
        blocks=list(blocks or []),
        thread_ts=thread_ts,
        ephemeral_to=ephemeral_to,
        files=list(files or []),
        subtype=subtype,
    )
    channel.messages.append(message)
    return message


def bot_profile(ws: Workspace) -> JSON:
    bot = ws.users.get(ws.bot_user_id)
    return {
        "id": ws.bot_id,
        "app_id": ws.app_id,
        "name": bot.real_name if bot else "bot",
        "icons": {"image_36": "", "image_48": "", "image_72": ""},
        "deleted": False,
        "updated": 0,
        "team_id": ws.team_id,
    }


def message_json(ws: Workspace, channel: Channel, message: Message) -> JSON:
    """A message object as Slack's history / postMessage return it."""
    out: JSON = {"type": "message"}
    if message.subtype:
        out["subtype"] = message.subtype
    out.update({"user": message.user, "text": message.text, "ts": message.ts, "team": ws.team_id})
    if message.user == ws.bot_user_id:
        out.update({"bot_id": ws.bot_id, "app_id": ws.app_id, "bot_profile": bot_profile(ws)})
    if message.blocks:
        out["blocks"] = message.blocks
    if message.files:
        out["files"] = message.files
        out["upload"] = False
    if message.edited:
        out["edited"] = {"user": message.user, "ts": message.ts}
    if message.reactions:
        out["reactions"] = [
            {"name": name, "users": list(users), "count": len(users)}
            for name, users in message.reactions.items()
        ]
    if message.ts in channel.pins:
        out["pinned_to"] = [channel.id]
    if message.thread_ts:
        out["thread_ts"] = message.thread_ts
        if message.thread_ts == message.ts:
            replies = thread_replies(channel, message.ts)
            out["reply_count"] = len(replies)
            out["reply_users"] = sorted({r.user for r in replies})
            out["reply_users_count"] = len(out["reply_users"])
            out["latest_reply"] = replies[-1].ts if replies else message.ts
        else:
            parent = find_message(channel, message.thread_ts)
            out["parent_user_id"] = parent.user if parent else message.user
    return out


def thread_replies(channel: Channel, thread_ts: str) -> list[Message]:
    return [
        m
        for m in channel.messages
        if m.thread_ts == thread_ts and m.ts != thread_ts and m.ephemeral_to is None
    ]


def permalink(ws: Workspace, channel: Channel, message: Message) -> str:
    link = f"https://{ws.domain}.slack.com/archives/{channel.id}/p{message.ts.replace('.', '')}"
    if message.thread_ts and message.thread_ts != message.ts:
        link += f"?thread_ts={message.thread_ts}&cid={channel.id}"
    return link


# ---------------------------------------------------------------- objects


def channel_json(ws: Workspace, channel: Channel, *, num_members: bool = False) -> JSON:
    """A conversation object as conversations.info / create / list return it."""
    if channel.is_im:
        return {
            "id": channel.id,
            "created": channel.created,
            "is_archived": channel.is_archived,
            "is_im": True,
            "is_org_shared": False,
            "context_team_id": ws.team_id,
            "updated": channel.created * 1000,
            "user": im_user(ws, channel),
            "is_user_deleted": False,
            "priority": 0,
        }
    last = channel.messages[-1].ts if channel.messages else "0000000000.000000"
    out: JSON = {
        "id": channel.id,
        "name": channel.name,
        "is_channel": not channel.is_private,
        "is_group": channel.is_private,
        "is_im": False,
        "is_mpim": False,
        "is_private": channel.is_private,
        "created": channel.created,
        "is_archived": channel.is_archived,
        "is_general": channel.name == "general",
        "unlinked": 0,
        "name_normalized": channel.name,
        "is_shared": False,
        "is_org_shared": False,
        "is_pending_ext_shared": False,
        "pending_shared": [],
        "context_team_id": ws.team_id,
        "updated": channel.created * 1000,
        "parent_conversation": None,
        "creator": channel.creator,
        "is_ext_shared": False,
        "shared_team_ids": [ws.team_id],
        "pending_connected_team_ids": [],
        "is_member": ws.bot_user_id in channel.members,
        "last_read": last,
        "topic": {"value": channel.topic, "creator": "", "last_set": 0},
        "purpose": {"value": channel.purpose, "creator": "", "last_set": 0},
        "previous_names": [],
    }
    if num_members:
        out["num_members"] = len(channel.members)
    return out


def user_json(ws: Workspace, user: User) -> JSON:
    profile: JSON = {
        "title": "",
        "phone": "",
        "skype": "",
        "real_name": user.real_name,
        "real_name_normalized": user.real_name,
        "display_name": user.name,
        "display_name_normalized": user.name,
        "status_text": "",
        "status_emoji": "",
        "status_expiration": 0,
        "avatar_hash": "",
        "email": user.email,
        "first_name": user.real_name.split(" ")[0],
        "last_name": " ".join(user.real_name.split(" ")[1:]),
        "image_24": "",
        "image_48": "",
        "image_72": "",
        "team": ws.team_id,
    }
    if user.is_bot:
        profile.update({"bot_id": ws.bot_id, "api_app_id": ws.app_id, "always_active": True})
    return {
        "id": user.id,
        "team_id": ws.team_id,
        "name": user.name,
        "deleted": False,
        "color": "9f69e7",
        "real_name": user.real_name,
        "tz": user.tz,
        "tz_label": user.tz,
        "tz_offset": 3600 if user.tz == "Europe/Amsterdam" else 0,
        "profile": profile,
        "is_admin": False,
        "is_owner": False,
        "is_primary_owner": False,
        "is_restricted": False,
        "is_ultra_restricted": False,
        "is_bot": user.is_bot,
        "is_app_user": False,
        "updated": 0,
        "is_email_confirmed": not user.is_bot,
        "who_can_share_contact_card": "EVERYONE",
    }


# ---------------------------------------------------------------- pagination


def _cursor(offset: int) -> str:
    return base64.b64encode(f"next:{offset}".encode()).decode()


def paginate(
    items: list[Any], args: Args, *, default_limit: int, max_limit: int = 1000
) -> tuple[list[Any], str]:
    """Slack's cursor pagination: (page, next_cursor) with "" when there is no more."""
    limit = args.number("limit", default_limit)
    if limit <= 0:
        limit = max_limit
    limit = min(limit, max_limit)
    offset = 0
    cursor = args.text("cursor")
    if cursor:
        try:
            kind, _, number = base64.b64decode(cursor, validate=True).decode().partition(":")
            offset = int(number)
        except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
            raise SlackError("invalid_cursor") from exc
        if kind != "next" or offset < 0:
            raise SlackError("invalid_cursor")
    page = items[offset : offset + limit]
    more = offset + limit < len(items)
    return page, _cursor(offset + limit) if more else ""


_NAME_RE = re.compile(r"^[a-z0-9_\-]+$")


def channel_name_error(name: str | None) -> str | None:
    """Slack's complaint about a channel name, or None when it is fine."""
    if not name:
        return "invalid_name_required"
    if len(name) > 80:
        return "invalid_name_maxlength"
    if not _NAME_RE.match(name):
        return "invalid_name_specials"
    if not re.search(r"[a-z0-9]", name):
        return "invalid_name_punctuation"
    return None
