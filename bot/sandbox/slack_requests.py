"""Requests exactly as Slack sends them to an app's request URL, signed.

Pure functions: they build bodies and headers and never do IO. The sandbox page uses them
to drive the bot the way Slack would, and tests use them to talk to the bot directly.

Shapes follow Slack's documentation for slash commands (form-encoded fields),
interactivity (form field ``payload`` holding JSON: ``block_actions``, ``view_submission``,
``view_closed``) and the Events API (a JSON ``event_callback`` envelope). Signing is
Slack's v0 scheme: ``v0=`` + hex HMAC-SHA256 of ``v0:{timestamp}:{body}``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from bot.sandbox.workspace import JSON, Message, Workspace

VERIFICATION_TOKEN = "sandbox-verification-token"  # noqa: S105 - Slack's deprecated, public token
FORM = "application/x-www-form-urlencoded"
JSON_CONTENT = "application/json"


def sign(body: bytes, timestamp: int, signing_secret: str) -> str:
    """Slack's request signature: ``v0=`` + HMAC-SHA256(secret, ``v0:{timestamp}:{body}``)."""
    base = b"v0:" + str(int(timestamp)).encode() + b":" + body
    digest = hmac.new(signing_secret.encode(), base, hashlib.sha256).hexdigest()
    return f"v0={digest}"


def signed_headers(
    body: bytes, timestamp: int, signing_secret: str, content_type: str = FORM
) -> dict[str, str]:
    """The headers Slack sends with a request: timestamp, signature and content type."""
    return {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": str(int(timestamp)),
        "X-Slack-Signature": sign(body, timestamp, signing_secret),
        "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
    }


def new_trigger_id() -> str:
    """A trigger id in Slack's format (``digits.digits.hex``)."""
    return f"{secrets.randbelow(10**13)}.{secrets.randbelow(10**12)}.{secrets.token_hex(16)}"


def channel_name(ws: Workspace, channel_id: str) -> str:
    """The name Slack sends for a channel: ``directmessage`` for DMs, else the channel name."""
    channel = ws.channels.get(channel_id)
    if channel is None:
        return "privategroup"
    return "directmessage" if channel.is_im else channel.name


def _user_name(ws: Workspace, user_id: str) -> str:
    user = ws.users.get(user_id)
    return user.name if user else user_id.lower()


def _user_obj(ws: Workspace, user_id: str) -> JSON:
    name = _user_name(ws, user_id)
    return {"id": user_id, "username": name, "name": name, "team_id": ws.team_id}


def _team_obj(ws: Workspace) -> JSON:
    return {"id": ws.team_id, "domain": ws.domain}


def _payload_form(payload: JSON) -> bytes:
    return urlencode({"payload": json.dumps(payload, separators=(",", ":"))}).encode()


def message_json(ws: Workspace, message: Message) -> JSON:
    """A stored message as Slack includes it in interactive payloads."""
    out: JSON = {"type": "message", "text": message.text, "ts": message.ts, "team": ws.team_id}
    if message.user == ws.bot_user_id:
        out.update(user=ws.bot_user_id, bot_id=ws.bot_id, app_id=ws.app_id)
    else:
        out["user"] = message.user
    if message.blocks:
        out["blocks"] = message.blocks
    if message.subtype:
        out["subtype"] = message.subtype
    if message.attachments:
        out["attachments"] = message.attachments
    if message.thread_ts:
        out["thread_ts"] = message.thread_ts
    if message.edited:
        out["edited"] = {"user": message.user, "ts": message.ts}
    return out


def slash_command_body(
    ws: Workspace,
    *,
    command: str,
    text: str,
    user_id: str,
    channel_id: str,
    response_url: str,
    trigger_id: str,
) -> bytes:
    """Form-encoded slash command invocation, field for field as Slack posts it."""
    fields = {
        "token": VERIFICATION_TOKEN,
        "team_id": ws.team_id,
        "team_domain": ws.domain,
        "channel_id": channel_id,
        "channel_name": channel_name(ws, channel_id),
        "user_id": user_id,
        "user_name": _user_name(ws, user_id),
        "command": command,
        "text": text,
        "api_app_id": ws.app_id,
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": trigger_id,
    }
    return urlencode(fields).encode()


def block_actions_body(
    ws: Workspace,
    *,
    user_id: str,
    channel_id: str,
    message: Message,
    action: Mapping[str, Any],
    response_url: str,
    trigger_id: str,
    action_ts: str | None = None,
) -> bytes:
    """Form-encoded ``payload=`` of a ``block_actions`` interaction on a message.

    ``action`` is the interactive element as it appears in the message's blocks (``type``,
    ``action_id``, ``text``, ``value``, ...) plus its ``block_id``; for selects, also the
    chosen ``selected_option``. ``action_ts`` defaults to the element's own ``action_ts``
    or the current time. Ephemeral messages are sent as Slack does: the container
    says ``is_ephemeral`` and the message itself is left out.
    """
    act: JSON = {
        "action_id": action.get("action_id", ""),
        "block_id": action.get("block_id", ""),
        "type": action.get("type", "button"),
        "action_ts": action_ts or action.get("action_ts") or f"{time.time():.6f}",
    }
    for key in (
        "text",
        "value",
        "style",
        "selected_option",
        "selected_options",
        "selected_user",
        "selected_date",
    ):
        if key in action:
            act[key] = action[key]
    ephemeral = message.ephemeral_to is not None
    payload: JSON = {
        "type": "block_actions",
        "user": _user_obj(ws, user_id),
        "api_app_id": ws.app_id,
        "token": VERIFICATION_TOKEN,
        "container": {
            "type": "message",
            "message_ts": message.ts,
            "channel_id": channel_id,
            "is_ephemeral": ephemeral,
        },
        "trigger_id": trigger_id,
        "team": _team_obj(ws),
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": channel_id, "name": channel_name(ws, channel_id)},
        "state": {"values": {}},
        "response_url": response_url,
        "actions": [act],
    }
    if not ephemeral:
        payload["message"] = message_json(ws, message)
    return _payload_form(payload)


def state_values(view: Mapping[str, Any], form: Mapping[str, str]) -> dict[str, dict[str, JSON]]:
    """Slack's ``view.state.values`` for a modal, from plain strings keyed ``block_id/action_id``.

    Each input block's element type decides the shape (``value``, ``selected_option``,
    ``selected_user``, ``selected_conversation``, ``selected_date``, ``selected_options``).
    """
    values: dict[str, dict[str, JSON]] = {}
    for block in view.get("blocks", []):
        element = block.get("element")
        if block.get("type") != "input" or not isinstance(element, dict):
            continue
        block_id, action_id = block.get("block_id", ""), element.get("action_id", "")
        raw = form.get(f"{block_id}/{action_id}")
        etype = element.get("type", "plain_text_input")
        state: JSON = {"type": etype}
        if etype in ("static_select", "radio_buttons"):
            option = next(
                (o for o in element.get("options", []) if o.get("value") == raw),
                None,
            )
            state["selected_option"] = option
        elif etype == "checkboxes":
            chosen = set(raw.split(",")) if raw else set()
            state["selected_options"] = [
                o for o in element.get("options", []) if o.get("value") in chosen
            ]
        elif etype == "users_select":
            state["selected_user"] = raw or None
        elif etype == "conversations_select":
            state["selected_conversation"] = raw or None
        elif etype == "datepicker":
            state["selected_date"] = raw or None
        else:
            state["value"] = raw if raw else None
        values.setdefault(block_id, {})[action_id] = state
    return values


def _view_payload(ws: Workspace, view: Mapping[str, Any], values: Mapping[str, Any]) -> JSON:
    out = dict(view)
    out.setdefault("team_id", ws.team_id)
    out.setdefault("app_id", ws.app_id)
    out.setdefault("bot_id", ws.bot_id)
    out["state"] = {"values": dict(values)}
    return out


def view_submission_body(
    ws: Workspace,
    *,
    user_id: str,
    view: Mapping[str, Any],
    values: Mapping[str, Any],
    trigger_id: str | None = None,
) -> bytes:
    """Form-encoded ``payload=`` of a modal's ``view_submission``.

    ``values`` is ``view.state.values`` in Slack's shape (see :func:`state_values`).
    """
    payload: JSON = {
        "type": "view_submission",
        "team": _team_obj(ws),
        "user": _user_obj(ws, user_id),
        "api_app_id": ws.app_id,
        "token": VERIFICATION_TOKEN,
        "trigger_id": trigger_id or new_trigger_id(),
        "view": _view_payload(ws, view, values),
        "response_urls": [],
        "is_enterprise_install": False,
        "enterprise": None,
    }
    return _payload_form(payload)


def view_closed_body(ws: Workspace, *, user_id: str, view: Mapping[str, Any]) -> bytes:
    """Form-encoded ``payload=`` of ``view_closed`` (sent only for ``notify_on_close`` views)."""
    payload: JSON = {
        "type": "view_closed",
        "team": _team_obj(ws),
        "user": _user_obj(ws, user_id),
        "api_app_id": ws.app_id,
        "token": VERIFICATION_TOKEN,
        "view": _view_payload(ws, view, {}),
        "is_cleared": False,
        "is_enterprise_install": False,
        "enterprise": None,
    }
    return _payload_form(payload)


def event_callback_body(ws: Workspace, event: Mapping[str, Any], event_time: float) -> bytes:
    """JSON ``event_callback`` envelope around an Events API event (e.g. ``reaction_added``)."""
    envelope: JSON = {
        "token": VERIFICATION_TOKEN,
        "team_id": ws.team_id,
        "api_app_id": ws.app_id,
        "event": dict(event),
        "type": "event_callback",
        "event_id": "Ev" + secrets.token_hex(5).upper(),
        "event_time": int(event_time),
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": ws.team_id,
                "user_id": ws.bot_user_id,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": False,
        "event_context": "4-" + secrets.token_urlsafe(24),
    }
    return json.dumps(envelope, separators=(",", ":")).encode()


def reaction_event(
    ws: Workspace, *, user_id: str, message: Message, name: str, removed: bool, event_ts: str
) -> JSON:
    """A ``reaction_added`` / ``reaction_removed`` event for a reaction on a message."""
    return {
        "type": "reaction_removed" if removed else "reaction_added",
        "user": user_id,
        "reaction": name,
        "item_user": message.user,
        "item": {"type": "message", "channel": message.channel, "ts": message.ts},
        "event_ts": event_ts,
    }
