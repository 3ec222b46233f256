"""conversations.* methods of the emulated Slack Web API."""

from __future__ import annotations

from bot.sandbox.methods_common import (
    Args,
    Ctx,
    Method,
    SlackError,
    append_message,
    channel_json,
    channel_name_error,
    find_message,
    get_channel,
    get_user,
    message_json,
    open_im,
    paginate,
    require_member,
    require_not_archived,
    thread_replies,
    visible,
)
from bot.sandbox.workspace import JSON, Channel, Workspace

TOPIC_MAX = 250
PURPOSE_MAX = 250


def _not_for_im(channel: Channel) -> None:
    if channel.is_im:
        raise SlackError("method_not_supported_for_channel_type")


def _joined(ws: Workspace, channel: Channel, user_id: str, now: float) -> None:
    channel.members.append(user_id)
    append_message(
        ws,
        channel,
        user=user_id,
        text=f"<@{user_id}> has joined the channel",
        now=now,
        subtype="channel_join",
    )


def create(ws: Workspace, args: Args, ctx: Ctx) -> JSON:
    name = args.raw_text("name")
    problem = channel_name_error(name)
    if problem:
        raise SlackError(problem)
    assert name is not None
    if any(c.name == name for c in ws.channels.values() if not c.is_im):
        raise SlackError("name_taken")
    is_private = args.flag("is_private")
    cid = ws.next_id("G" if is_private else "C")
    channel = Channel(
        id=cid, name=name, created=int(ctx.now), creator=ws.bot_user_id, is_private=is_private
    )
    ws.channels[cid] = channel
    _joined(ws, channel, ws.bot_user_id, ctx.now)
    return {"ok": True, "channel": channel_json(ws, channel)}


def invite(ws: Workspace, args: Args, ctx: Ctx) -> JSON:
    channel = get_channel(ws, args.text("channel"))
    _not_for_im(channel)
    users = list(dict.fromkeys(args.id_list("users")))
    if not users:
        raise SlackError("no_user")
    require_not_archived(channel)
    require_member(ws, channel)
    errors: list[JSON] = []
    valid: list[str] = []
    for user_id in users:
        if user_id == ws.bot_user_id:
            code = "cant_invite_self"
        elif user_id not in ws.users:
            code = "user_not_found"
        elif user_id in channel.members:
            code = "already_in_channel"
        else:
            valid.append(user_id)
            continue
        errors.append({"user": user_id, "ok": False, "error": code})
    if errors and not args.flag("force"):
        raise SlackError(errors[0]["error"], errors=errors)
    for user_id in valid:
        _joined(ws, channel, user_id, ctx.now)
    out: JSON = {"ok": True, "channel": channel_json(ws, channel)}
    if errors:
        out["errors"] = errors
    return out


def _set_text(ws: Workspace, args: Args, ctx: Ctx, *, field: str, limit: int) -> JSON:
    channel = get_channel(ws, args.text("channel"))
    value = args.raw_text(field) or ""
    if len(value) > limit:
        raise SlackError("too_long")
    require_not_archived(channel)
    require_member(ws, channel)
    if field == "topic":
        channel.topic = value
        text, subtype = f"set the channel topic: {value}", "channel_topic"
    else:
        channel.purpose = value
        text, subtype = f"set the channel description: {value}", "channel_purpose"
    append_message(ws, channel, user=ws.bot_user_id, text=text, now=ctx.now, subtype=subtype)
    return {"ok": True, "channel": channel_json(ws, channel)}


def set_topic(ws: Workspace, args: Args, ctx: Ctx) -> JSON:
    return _set_text(ws, args, ctx, field="topic", limit=TOPIC_MAX)


def set_purpose(ws: Workspace, args: Args, ctx: Ctx) -> JSON:
    return _set_text(ws, args, ctx, field="purpose", limit=PURPOSE_MAX)


def info(ws: Workspace, args: Args, ctx: Ctx) -> JSON:
    channel = get_channel(ws, args.text("channel"))
    return {
        "ok": True,
        "channel": channel_json(ws, channel, num_members=args.flag("include_num_members")),
    }


def members(ws: Workspace, args: Args, ctx: Ctx) -> JSON:
    channel = get_channel(ws, args.text("channel"))
    page, cursor = paginate(channel.members, args, default_limit=100)
    return {"ok": True, "members": page, "response_metadata": {"next_cursor": cursor}}


def archive(ws: Workspace, args: Args, ctx: Ctx) -> JSON:
    channel = get_channel(ws, args.text("channel"))
    _not_for_im(channel)
    if channel.is_archived:
        raise SlackError("already_archived")
    if channel.name == "general":
        raise SlackError("cant_archive_general")
    require_member(ws, channel)
    append_message(
        ws,
        channel,
        user=ws.bot_user_id,
        text="archived the channel",
        now=ctx.now,
        subtype="channel_archive",
    )
    channel.is_archived = True
    return {"ok": True}


_TYPES = {"public_channel", "private_channel", "im", "mpim"}


def list_(ws: Workspace, args: Args, ctx: Ctx) -> JSON:
    types = set(args.id_list("types")) or {"public_channel"}
    if types - _TYPES:
        raise SlackError("invalid_types")
    exclude_archived = args.flag("exclude_archived")

    def wanted(c: Channel) -> bool:
        if not visible(ws, c) or (exclude_archived and c.is_archived):
            return False
        if c.is_im:
            return "im" in types
        return ("private_channel" if c.is_private else "public_channel") in types

    channels = [channel_json(ws, c) for c in ws.channels.values() if wanted(c)]
    page, cursor = paginate(channels, args, default_limit=100)
    return {"ok": True, "channels": page, "response_metadata": {"next_cursor": cursor}}


def _in_window(ts: str, args: Args) -> bool:
    inclusive = args.flag("inclusive")
    value = float(ts)
    oldest = args.text("oldest")
    latest = args.text("latest")
    try:
        if oldest is not None and (
            value < float(oldest) or (value == float(oldest) and not inclusive)
        ):
            return False
        if latest is not None and (
            value > float(latest) or (value == float(latest) and not inclusive)
        ):
            return False
    except ValueError as exc:
        raise SlackError("invalid_ts_latest" if latest else "invalid_ts_oldest") from exc
    return True


def history(ws: Workspace, args: Args, ctx: Ctx) -> JSON:
    channel = get_channel(ws, args.text("channel"))
    require_member(ws, channel)
    shown = [
        m
        for m in reversed(channel.messages)
        if m.ephemeral_to is None
        and (m.thread_ts is None or m.thread_ts == m.ts)
        and _in_window(m.ts, args)
    ]
    page, cursor = paginate(shown, args, default_limit=100, max_limit=999)
    out: JSON = {
        "ok": True,
        "messages": [message_json(ws, channel, m) for m in page],
        "has_more": bool(cursor),
        "pin_count": len(channel.pins),
        "channel_actions_ts": None,
        "channel_actions_count": 0,
    }
    if cursor:
        out["response_metadata"] = {"next_cursor": cursor}
    return out


def replies(ws: Workspace, args: Args, ctx: Ctx) -> JSON:
    channel = get_channel(ws, args.text("channel"))
    require_member(ws, channel)
    parent = find_message(channel, args.text("ts"))
    if parent is None:
        raise SlackError("thread_not_found")
    root = parent.thread_ts or parent.ts
    head = find_message(channel, root) or parent
    thread = [head, *thread_replies(channel, root)] if head.ts == root else [head]
    shown = [m for m in thread if _in_window(m.ts, args)]
    page, cursor = paginate(shown, args, default_limit=1000)
    out: JSON = {
        "ok": True,
        "messages": [message_json(ws, channel, m) for m in page],
        "has_more": bool(cursor),
    }
    if cursor:
        out["response_metadata"] = {"next_cursor": cursor}
    return out


def join(ws: Workspace, args: Args, ctx: Ctx) -> JSON:
    channel = get_channel(ws, args.text("channel"))
    if channel.is_im or channel.is_private:
        raise SlackError("method_not_supported_for_channel_type")
    require_not_archived(channel)
    if ws.bot_user_id in channel.members:
        return {
            "ok": True,
            "channel": channel_json(ws, channel),
            "warning": "already_in_channel",
            "response_metadata": {"warnings": ["already_in_channel"]},
        }
    _joined(ws, channel, ws.bot_user_id, ctx.now)
    return {"ok": True, "channel": channel_json(ws, channel)}


def open_(ws: Workspace, args: Args, ctx: Ctx) -> JSON:
    channel_id = args.text("channel")
    if channel_id:
        channel = get_channel(ws, channel_id)
        if not channel.is_im:
            raise SlackError("method_not_supported_for_channel_type")
        already = True
    else:
        users = [u for u in dict.fromkeys(args.id_list("users")) if u != ws.bot_user_id]
        if not users:
            raise SlackError("users_list_not_supplied")
        for user_id in users:
            get_user(ws, user_id)
        if len(users) > 1:
            # group DMs (mpim) are not emulated
            raise SlackError("method_not_supported_for_channel_type")
        channel, already = open_im(ws, users[0], ctx.now)
    full = channel_json(ws, channel)
    if already:
        return {"ok": True, "no_op": True, "already_open": True, "channel": full}
    return {"ok": True, "channel": full if args.flag("return_im") else {"id": channel.id}}


METHODS: dict[str, Method] = {
    "conversations.create": create,
    "conversations.invite": invite,
    "conversations.setTopic": set_topic,
    "conversations.setPurpose": set_purpose,
    "conversations.info": info,
    "conversations.members": members,
    "conversations.archive": archive,
    "conversations.list": list_,
    "conversations.history": history,
    "conversations.replies": replies,
    "conversations.join": join,
    "conversations.open": open_,
}
