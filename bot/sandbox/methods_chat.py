"""chat.* methods of the emulated Slack Web API."""

from __future__ import annotations

from typing import Any

from bot.sandbox.methods_blocks import check_blocks
from bot.sandbox.methods_common import (
    Args,
    Ctx,
    Method,
    SlackError,
    append_message,
    find_message,
    get_channel,
    get_message,
    get_user,
    message_json,
    open_im,
    permalink,
    require_member,
    require_not_archived,
    visible,
)
from bot.sandbox.workspace import JSON, Channel, Workspace

MAX_TEXT = 40_000
MAX_ATTACHMENTS = 100


def resolve_post_channel(ws: Workspace, value: str | None, now: float) -> Channel:
    """chat.postMessage's `channel`: an id, `#name` / name, or a user id meaning the DM."""
    if not value:
        raise SlackError("channel_not_found")
    if value in ws.channels:
        return get_channel(ws, value)
    if value in ws.users:
        return open_im(ws, value, now)[0]
    name = value.removeprefix("#")
    for channel in ws.channels.values():
        if not channel.is_im and channel.name == name and visible(ws, channel):
            return channel
    raise SlackError("channel_not_found")


def message_content(args: Args, *, required: bool = True) -> tuple[str | None, Any, list[JSON]]:
    """(text, blocks, attachments) of a message, checked as Slack checks them.

    blocks is None when not given (chat.update then keeps the old ones).
    """
    text = args.raw_text("text")
    blocks = check_blocks(args.parsed("blocks")) if "blocks" in args else None
    attachments = args.parsed("attachments") if "attachments" in args else []
    if not isinstance(attachments, list):
        raise SlackError("invalid_attachments")
    if len(attachments) > MAX_ATTACHMENTS:
        raise SlackError("too_many_attachments")
    if required and not text and not blocks and not attachments:
        raise SlackError("no_text")
    if text is not None and len(text) > MAX_TEXT:
        raise SlackError("msg_too_long")
    return text, blocks, attachments


def _thread_root(channel: Channel, thread_ts: str | None) -> str | None:
    """Slack files a reply to a reply under the thread's parent."""
    if not thread_ts:
        return None
    target = find_message(channel, thread_ts)
    if target is not None and target.thread_ts:
        return target.thread_ts
    return thread_ts


def post_message(ws: Workspace, args: Args, ctx: Ctx) -> JSON:
    channel = resolve_post_channel(ws, args.text("channel"), ctx.now)
    text, blocks, attachments = message_content(args)
    require_not_archived(channel)
    require_member(ws, channel)
    thread_ts = _thread_root(channel, args.text("thread_ts"))
    if thread_ts:
        parent = find_message(channel, thread_ts)
        if parent is not None and parent.thread_ts is None:
            parent.thread_ts = parent.ts
    message = append_message(
        ws,
        channel,
        user=ws.bot_user_id,
        text=text or "",
        blocks=blocks,
        thread_ts=thread_ts,
        now=ctx.now,
    )
    message.attachments = attachments
    return {
        "ok": True,
        "channel": channel.id,
        "ts": message.ts,
        "message": message_json(ws, channel, message),
    }


def update(ws: Workspace, args: Args, ctx: Ctx) -> JSON:
    channel = get_channel(ws, args.text("channel"))
    message = get_message(channel, args.text("ts"))
    if message.user != ws.bot_user_id or message.subtype:
        raise SlackError("cant_update_message")
    text, blocks, attachments = message_content(args, required=False)
    if text is None and blocks is None and "attachments" not in args:
        raise SlackError("no_text")
    require_not_archived(channel)
    if text is not None:
        message.text = text
    if blocks is not None:
        message.blocks = blocks
    if "attachments" in args:
        message.attachments = attachments
    message.edited = True
    return {
        "ok": True,
        "channel": channel.id,
        "ts": message.ts,
        "text": message.text,
        "message": message_json(ws, channel, message),
    }


def delete(ws: Workspace, args: Args, ctx: Ctx) -> JSON:
    channel = get_channel(ws, args.text("channel"))
    message = get_message(channel, args.text("ts"))
    if message.user != ws.bot_user_id:
        raise SlackError("cant_delete_message")
    channel.messages.remove(message)
    if message.ts in channel.pins:
        channel.pins.remove(message.ts)
    return {"ok": True, "channel": channel.id, "ts": message.ts}


def post_ephemeral(ws: Workspace, args: Args, ctx: Ctx) -> JSON:
    channel = resolve_post_channel(ws, args.text("channel"), ctx.now)
    user = get_user(ws, args.text("user"))
    text, blocks, attachments = message_content(args)
    require_not_archived(channel)
    require_member(ws, channel)
    if user.id not in channel.members:
        raise SlackError("user_not_in_channel")
    message = append_message(
        ws,
        channel,
        user=ws.bot_user_id,
        text=text or "",
        blocks=blocks,
        thread_ts=_thread_root(channel, args.text("thread_ts")),
        ephemeral_to=user.id,
        now=ctx.now,
    )
    message.attachments = attachments
    return {"ok": True, "message_ts": message.ts}


def get_permalink(ws: Workspace, args: Args, ctx: Ctx) -> JSON:
    channel = get_channel(ws, args.text("channel"))
    message = get_message(channel, args.text("message_ts"))
    return {"ok": True, "channel": channel.id, "permalink": permalink(ws, channel, message)}


METHODS: dict[str, Method] = {
    "chat.postMessage": post_message,
    "chat.update": update,
    "chat.delete": delete,
    "chat.postEphemeral": post_ephemeral,
    "chat.getPermalink": get_permalink,
}
