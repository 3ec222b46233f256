"""auth, pins, bookmarks, users, usergroups, views, reactions and files methods."""

from __future__ import annotations

import mimetypes
import re
import secrets
from typing import Any

from bot.sandbox.methods_blocks import block_errors
from bot.sandbox.methods_common import (
    Args,
    Ctx,
    Method,
    SlackError,
    append_message,
    get_channel,
    get_message,
    invalid_arguments,
    message_json,
    paginate,
    permalink,
    require_member,
    require_not_archived,
    user_json,
)
from bot.sandbox.workspace import JSON, Channel, Workspace

TRIGGER_TTL = 3.0
MAX_PINS = 100
MAX_REACTIONS = 23
VIEW_STACK_MAX = 3

# ---------------------------------------------------------------- auth


def auth_test(ws: Workspace, args: Args, ctx: Ctx) -> JSON:
    bot = ws.users.get(ws.bot_user_id)
    return {
        "ok": True,
        "url": f"https://{ws.domain}.slack.com/",
        "team": ws.team_name,
        "user": bot.name if bot else "bot",
        "team_id": ws.team_id,
        "user_id": ws.bot_user_id,
        "bot_id": ws.bot_id,
        "is_enterprise_install": False,
    }


# ---------------------------------------------------------------- pins


def _pinned_message(ws: Workspace, args: Args) -> tuple[Channel, str]:
    channel = get_channel(ws, args.text("channel"))
    ts = args.text("timestamp")
    if not ts:
        raise SlackError("no_item_specified")
    require_member(ws, channel)
    require_not_archived(channel)
    return channel, get_message(channel, ts).ts


def pins_add(ws: Workspace, args: Args, ctx: Ctx) -> JSON:
    channel, ts = _pinned_message(ws, args)
    if ts in channel.pins:
        raise SlackError("already_pinned")
    if len(channel.pins) >= MAX_PINS:
        raise SlackError("too_many_pins")
    channel.pins.append(ts)
    return {"ok": True}


def pins_remove(ws: Workspace, args: Args, ctx: Ctx) -> JSON:
    channel, ts = _pinned_message(ws, args)
    if ts not in channel.pins:
        raise SlackError("no_pin")
    channel.pins.remove(ts)
    return {"ok": True}


def pins_list(ws: Workspace, args: Args, ctx: Ctx) -> JSON:
    channel = get_channel(ws, args.text("channel"))
    items: list[JSON] = []
    for ts in reversed(channel.pins):
        message = get_message(channel, ts)
        body = message_json(ws, channel, message)
        body["permalink"] = permalink(ws, channel, message)
        items.append(
            {
                "type": "message",
                "created": int(float(ts)),
                "created_by": ws.bot_user_id,
                "channel": channel.id,
                "message": body,
            }
        )
    return {"ok": True, "items": items}


# ---------------------------------------------------------------- bookmarks

_EMOJI_RE = re.compile(r"^:[a-z0-9_+\-']+:$")


def bookmarks_add(ws: Workspace, args: Args, ctx: Ctx) -> JSON:
    channel = get_channel(ws, args.text("channel_id"))
    title = args.text("title")
    kind = args.text("type")
    if not title:
        raise invalid_arguments("missing required field: title")
    if not kind:
        raise invalid_arguments("missing required field: type")
    if kind != "link":
        raise SlackError("invalid_bookmark_type")
    link = args.text("link") or ""
    if not link.startswith(("http://", "https://")):
        raise SlackError("invalid_link")
    emoji = args.text("emoji")
    if emoji is not None and not _EMOJI_RE.match(emoji):
        raise SlackError("invalid_emoji")
    require_not_archived(channel)
    bookmark: JSON = {
        "id": ws.next_id("Bk"),
        "channel_id": channel.id,
        "title": title,
        "link": link,
        "emoji": emoji,
        "icon_url": None,
        "type": "link",
        "entity_id": None,
        "date_created": int(ctx.now),
        "date_updated": 0,
        "rank": chr(ord("a") + len(channel.bookmarks) % 26),
        "last_updated_by_user_id": ws.bot_user_id,
        "last_updated_by_team_id": ws.team_id,
        "shortcut_id": None,
        "app_id": ws.app_id,
    }
    channel.bookmarks.append(bookmark)
    return {"ok": True, "bookmark": bookmark}


def bookmarks_list(ws: Workspace, args: Args, ctx: Ctx) -> JSON:
    channel = get_channel(ws, args.text("channel_id"))
    return {"ok": True, "bookmarks": list(channel.bookmarks)}


# ---------------------------------------------------------------- users and groups


def users_info(ws: Workspace, args: Args, ctx: Ctx) -> JSON:
    user = ws.users.get(args.text("user") or "")
    if user is None:
        raise SlackError("user_not_found")
    return {"ok": True, "user": user_json(ws, user)}


def users_lookup_by_email(ws: Workspace, args: Args, ctx: Ctx) -> JSON:
    email = (args.text("email") or "").strip().lower()
    user = next((u for u in ws.users.values() if u.email.lower() == email and email), None)
    if user is None:
        raise SlackError("users_not_found")
    return {"ok": True, "user": user_json(ws, user)}


def users_list(ws: Workspace, args: Args, ctx: Ctx) -> JSON:
    everyone = [user_json(ws, u) for u in ws.users.values()]
    page, cursor = paginate(everyone, args, default_limit=0)
    return {
        "ok": True,
        "members": page,
        "cache_ts": int(ctx.now),
        "response_metadata": {"next_cursor": cursor},
    }


def usergroups_list(ws: Workspace, args: Args, ctx: Ctx) -> JSON:
    groups: list[JSON] = []
    for group in ws.usergroups.values():
        body: JSON = {
            "id": group.id,
            "team_id": ws.team_id,
            "is_usergroup": True,
            "is_subteam": True,
            "name": group.name,
            "description": "",
            "handle": group.handle,
            "is_external": False,
            "date_create": 0,
            "date_update": 0,
            "date_delete": 0,
            "auto_type": None,
            "auto_provision": False,
            "enterprise_subteam_id": "",
            "created_by": "",
            "updated_by": "",
            "deleted_by": None,
            "prefs": {"channels": [], "groups": []},
        }
        if args.flag("include_users"):
            body["users"] = list(group.users)
        if args.flag("include_count"):
            body["user_count"] = len(group.users)
        groups.append(body)
    return {"ok": True, "usergroups": groups}


def usergroups_users_list(ws: Workspace, args: Args, ctx: Ctx) -> JSON:
    group = ws.usergroups.get(args.text("usergroup") or "")
    if group is None:
        raise SlackError("no_such_subteam")
    return {"ok": True, "users": list(group.users)}


# ---------------------------------------------------------------- views


def _take_trigger(ws: Workspace, args: Args, now: float) -> str:
    """Check `trigger_id` as Slack does; the caller consumes it once the view is accepted."""
    trigger = args.text("trigger_id")
    if not trigger:
        raise invalid_arguments("missing required field: trigger_id")
    if trigger in ws.used_triggers:
        raise SlackError("exchanged_trigger_id")
    issued = ws.triggers.get(trigger)
    if issued is None:
        raise SlackError("invalid_trigger_id")
    if now - issued >= TRIGGER_TTL:
        raise SlackError("expired_trigger_id")
    return trigger


def _use_trigger(ws: Workspace, trigger: str) -> None:
    ws.triggers.pop(trigger, None)
    ws.used_triggers.add(trigger)


def _plain_text(obj: Any, pointer: str, limit: int, errors: list[str]) -> None:
    if not isinstance(obj, dict) or obj.get("type") != "plain_text":
        errors.append(f"must be a plain_text object [json-pointer:{pointer}]")
    elif not isinstance(obj.get("text"), str) or not obj["text"]:
        errors.append(f"must be more than 0 characters [json-pointer:{pointer}/text]")
    elif len(obj["text"]) > limit:
        errors.append(f"must be less than {limit + 1} characters [json-pointer:{pointer}/text]")


def _checked_view(args: Args) -> JSON:
    view = args.parsed("view")
    if view is None:
        raise invalid_arguments("missing required field: view")
    if not isinstance(view, dict):
        raise invalid_arguments("failed to match all allowed schemas [json-pointer:/view]")
    errors: list[str] = []
    if view.get("type") != "modal":
        errors.append("must be one of ['modal'] [json-pointer:/view/type]")
    _plain_text(view.get("title"), "/view/title", 24, errors)
    for key in ("submit", "close"):
        if view.get(key) is not None:
            _plain_text(view[key], f"/view/{key}", 24, errors)
    errors += block_errors(view.get("blocks"), pointer="/view/blocks", max_blocks=100)
    for key, limit in (("callback_id", 255), ("private_metadata", 3000), ("external_id", 255)):
        value = view.get(key)
        if isinstance(value, str) and len(value) > limit:
            errors.append(f"must be less than {limit + 1} characters [json-pointer:/view/{key}]")
    if errors:
        raise invalid_arguments(*errors)
    return view


def _view_body(ws: Workspace, view: JSON, *, view_id: str, root: str, previous: str | None) -> JSON:
    return {
        "id": view_id,
        "team_id": ws.team_id,
        "type": view["type"],
        "blocks": view.get("blocks", []),
        "private_metadata": view.get("private_metadata", ""),
        "callback_id": view.get("callback_id", ""),
        "state": {"values": {}},
        "hash": secrets.token_hex(8),
        "title": view["title"],
        "clear_on_close": bool(view.get("clear_on_close", False)),
        "notify_on_close": bool(view.get("notify_on_close", False)),
        "close": view.get("close"),
        "submit": view.get("submit"),
        "previous_view_id": previous,
        "root_view_id": root,
        "app_id": ws.app_id,
        "external_id": view.get("external_id", ""),
        "app_installed_team_id": ws.team_id,
        "bot_id": ws.bot_id,
    }


def _external_taken(ws: Workspace, view: JSON, *, except_id: str | None = None) -> None:
    external = view.get("external_id")
    if external and any(
        v.get("external_id") == external and v["id"] != except_id for v in ws.views.values()
    ):
        raise SlackError("duplicate_external_id")


def views_open(ws: Workspace, args: Args, ctx: Ctx) -> JSON:
    trigger = _take_trigger(ws, args, ctx.now)
    view = _checked_view(args)
    _external_taken(ws, view)
    _use_trigger(ws, trigger)
    view_id = ws.next_id("V")
    body = _view_body(ws, view, view_id=view_id, root=view_id, previous=None)
    ws.views[view_id] = body
    return {"ok": True, "view": body}


def views_push(ws: Workspace, args: Args, ctx: Ctx) -> JSON:
    trigger = _take_trigger(ws, args, ctx.now)
    view = _checked_view(args)
    _external_taken(ws, view)
    if not ws.views:
        raise SlackError("not_found")
    top = list(ws.views.values())[-1]
    root = top["root_view_id"]
    if sum(1 for v in ws.views.values() if v["root_view_id"] == root) >= VIEW_STACK_MAX:
        raise SlackError("push_limit_reached")
    _use_trigger(ws, trigger)
    view_id = ws.next_id("V")
    body = _view_body(ws, view, view_id=view_id, root=root, previous=top["id"])
    ws.views[view_id] = body
    return {"ok": True, "view": body}


def views_update(ws: Workspace, args: Args, ctx: Ctx) -> JSON:
    view_id = args.text("view_id")
    external = args.text("external_id")
    if not view_id and not external:
        raise invalid_arguments("must provide either view_id or external_id")
    if view_id:
        current = ws.views.get(view_id)
    else:
        current = next((v for v in ws.views.values() if v.get("external_id") == external), None)
    if current is None:
        raise SlackError("not_found")
    view = _checked_view(args)
    _external_taken(ws, view, except_id=current["id"])
    expected = args.text("hash")
    if expected is not None and expected != current["hash"]:
        raise SlackError("hash_conflict")
    body = _view_body(
        ws,
        view,
        view_id=current["id"],
        root=current["root_view_id"],
        previous=current["previous_view_id"],
    )
    ws.views[current["id"]] = body
    return {"ok": True, "view": body}


# ---------------------------------------------------------------- reactions

_REACTION_RE = re.compile(r"^[a-z0-9_+\-']+(::skin-tone-[2-6])?$")


def _reaction_target(ws: Workspace, args: Args) -> tuple[str, list[str] | None, JSON]:
    channel = get_channel(ws, args.text("channel"))
    ts = args.text("timestamp")
    if not ts:
        raise SlackError("no_item_specified")
    message = get_message(channel, ts)
    name = args.text("name") or ""
    if not _REACTION_RE.match(name):
        raise SlackError("invalid_name")
    require_not_archived(channel)
    return name, message.reactions.get(name), message.reactions


def reactions_add(ws: Workspace, args: Args, ctx: Ctx) -> JSON:
    name, users, reactions = _reaction_target(ws, args)
    if users is not None and ws.bot_user_id in users:
        raise SlackError("already_reacted")
    if users is None and len(reactions) >= MAX_REACTIONS:
        raise SlackError("too_many_emoji")
    reactions.setdefault(name, []).append(ws.bot_user_id)
    return {"ok": True}


def reactions_remove(ws: Workspace, args: Args, ctx: Ctx) -> JSON:
    name, users, reactions = _reaction_target(ws, args)
    if users is None or ws.bot_user_id not in users:
        raise SlackError("no_reaction")
    users.remove(ws.bot_user_id)
    if not users:
        del reactions[name]
    return {"ok": True}


# ---------------------------------------------------------------- files (upload v2)


def files_get_upload_url(ws: Workspace, args: Args, ctx: Ctx) -> JSON:
    filename = args.text("filename")
    if not filename:
        raise invalid_arguments("missing required field: filename")
    if "length" not in args:
        raise invalid_arguments("missing required field: length")
    length = args.number("length", 0)
    if length <= 0:
        raise SlackError("missing_argument")
    alt_txt = args.text("alt_txt")
    if alt_txt is not None and len(alt_txt) > 1000:
        raise SlackError("alt_txt_too_large")
    file_id = ws.next_id("F")
    ws.files[file_id] = {
        "id": file_id,
        "name": filename,
        "title": filename,
        "length": length,
        "alt_txt": alt_txt,
        "snippet_type": args.text("snippet_type"),
        "created": int(ctx.now),
        "uploaded": False,
        "completed": False,
        "content": None,
        "shares": {},
        "channels": [],
    }
    return {"ok": True, "upload_url": ctx.upload_url(file_id), "file_id": file_id}


def file_json(ws: Workspace, record: JSON) -> JSON:
    """A file object as Slack returns it (without the stored content)."""
    name: str = record["name"]
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else "text"
    mimetype = mimetypes.guess_type(name)[0] or "text/plain"
    fid = record["id"]
    private_url = f"https://files.slack.com/files-pri/{ws.team_id}-{fid}/{name}"
    return {
        "id": fid,
        "created": record["created"],
        "timestamp": record["created"],
        "name": name,
        "title": record["title"],
        "mimetype": mimetype,
        "filetype": ext,
        "pretty_type": ext.upper(),
        "user": ws.bot_user_id,
        "user_team": ws.team_id,
        "editable": False,
        "size": len(record["content"] or b""),
        "mode": "hosted",
        "is_external": False,
        "external_type": "",
        "is_public": any(not c.startswith(("G", "D")) for c in record["channels"]),
        "public_url_shared": False,
        "display_as_bot": False,
        "username": "",
        "url_private": private_url,
        "url_private_download": f"{private_url}?download=1",
        "permalink": f"https://{ws.domain}.slack.com/files/{ws.bot_user_id}/{fid}/{name}",
        "permalink_public": f"https://slack-files.com/{ws.team_id}-{fid}",
        "alt_txt": record.get("alt_txt"),
        "comments_count": 0,
        "is_starred": False,
        "shares": record["shares"],
        "channels": [c for c in record["channels"] if c.startswith("C")],
        "groups": [c for c in record["channels"] if c.startswith("G")],
        "ims": [c for c in record["channels"] if c.startswith("D")],
        "has_rich_preview": False,
        "file_access": "visible",
    }


def files_complete_upload(ws: Workspace, args: Args, ctx: Ctx) -> JSON:
    items = args.parsed("files")
    if not isinstance(items, list) or not items:
        raise invalid_arguments("missing required field: files")
    records: list[JSON] = []
    for item in items:
        if not isinstance(item, dict) or not item.get("id"):
            raise invalid_arguments("missing required field: id [json-pointer:/files]")
        record = ws.files.get(str(item["id"]))
        if record is None or not record["uploaded"] or record["completed"]:
            raise SlackError("file_not_found")
        records.append(record)
    channel_ids = [args.text("channel_id")] if args.text("channel_id") else args.id_list("channels")
    channels = [get_channel(ws, cid, error="invalid_channel") for cid in channel_ids]
    for channel in channels:
        require_not_archived(channel)
        require_member(ws, channel)
    for item, record in zip(items, records, strict=True):
        record["completed"] = True
        if item.get("title"):
            record["title"] = str(item["title"])
    thread_ts = args.text("thread_ts")
    for channel in channels:
        message = append_message(
            ws,
            channel,
            user=ws.bot_user_id,
            text=args.raw_text("initial_comment") or "",
            thread_ts=thread_ts,
            now=ctx.now,
        )
        kind = "public" if not (channel.is_private or channel.is_im) else "private"
        for record in records:
            share: JSON = {"ts": message.ts, "channel_name": channel.name, "team_id": ws.team_id}
            if thread_ts:
                share["thread_ts"] = thread_ts
            record["shares"].setdefault(kind, {}).setdefault(channel.id, []).append(share)
            record["channels"].append(channel.id)
        message.files = [file_json(ws, r) for r in records]
    return {"ok": True, "files": [file_json(ws, r) for r in records]}


METHODS: dict[str, Method] = {
    "auth.test": auth_test,
    "pins.add": pins_add,
    "pins.remove": pins_remove,
    "pins.list": pins_list,
    "bookmarks.add": bookmarks_add,
    "bookmarks.list": bookmarks_list,
    "users.info": users_info,
    "users.lookupByEmail": users_lookup_by_email,
    "users.list": users_list,
    "usergroups.list": usergroups_list,
    "usergroups.users.list": usergroups_users_list,
    "views.open": views_open,
    "views.push": views_push,
    "views.update": views_update,
    "reactions.add": reactions_add,
    "reactions.remove": reactions_remove,
    "files.getUploadURLExternal": files_get_upload_url,
    "files.completeUploadExternal": files_complete_upload,
}
