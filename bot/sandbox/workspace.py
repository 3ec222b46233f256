"""The sandbox's Slack workspace: the state behind the emulated Web API and the page.

Plain in-memory data. The Web API (`web_api.py`) mutates it following Slack's rules; the
page (`page.py`) renders it. Time is passed in by callers, never read here.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

JSON = dict[str, Any]


@dataclass
class User:
    id: str
    name: str
    real_name: str
    email: str
    is_bot: bool = False
    tz: str = "Europe/Amsterdam"


@dataclass
class Usergroup:
    id: str
    handle: str
    name: str
    users: list[str] = field(default_factory=list)


@dataclass
class Message:
    ts: str
    channel: str
    user: str
    text: str
    blocks: list[JSON] = field(default_factory=list)
    thread_ts: str | None = None
    ephemeral_to: str | None = None
    edited: bool = False
    reactions: dict[str, list[str]] = field(default_factory=dict)
    files: list[JSON] = field(default_factory=list)
    attachments: list[JSON] = field(default_factory=list)
    # Slack's message subtype for system messages ("channel_topic", "channel_join", ...)
    subtype: str | None = None


@dataclass
class Channel:
    id: str
    name: str
    created: int
    creator: str
    is_private: bool = False
    is_archived: bool = False
    is_im: bool = False
    topic: str = ""
    purpose: str = ""
    members: list[str] = field(default_factory=list)
    messages: list[Message] = field(default_factory=list)
    pins: list[str] = field(default_factory=list)
    bookmarks: list[JSON] = field(default_factory=list)


@dataclass
class Fault:
    """Answer a method with an error instead of running it, `remaining` more times (-1: always)."""

    status: int
    retry_after: int | None = None
    remaining: int = 1
    delay_seconds: float = 0.0


@dataclass
class ResponseUrl:
    token: str
    channel: str
    user: str
    created: float
    uses: int = 0
    # the message an interaction came from: what replace_original / delete_original act on
    message_ts: str | None = None


DEFAULT_USERS = (
    User("U0BOT", "warroom", "Warroom", "warroom@example.com", is_bot=True),
    User("U0ONCALL", "oncall", "Olivia On-call", "oncall@example.com"),
    User("U0IC", "ic-oncall", "Ismail Commander", "ic@example.com"),
    User("U0COMMS", "comms-duty", "Carmen Comms", "comms@example.com"),
    User("U0LEAD", "team-lead", "Lars Lead", "lead@example.com"),
    User("U0CTO", "cto", "Chris CTO", "cto@example.com"),
)

DEFAULT_USERGROUPS = (
    Usergroup("S0ONCALL", "oncall-ops", "Ops on-call", ["U0ONCALL", "U0LEAD"]),
    Usergroup("S0IC", "ic-oncall", "Incident Commanders", ["U0IC"]),
)

DEFAULT_CHANNELS = ("general", "dr-war-room", "alerts-queues", "oncall-ops")


@dataclass
class Workspace:
    team_id: str = "T0SANDBOX"
    team_name: str = "Warroom Sandbox"
    bot_user_id: str = "U0BOT"
    bot_id: str = "B0BOT"
    bot_token: str = "xoxb-sandbox-token"  # noqa: S105 - the sandbox's own fake token
    # the app-level token (Socket Mode's apps.connections.open takes it, nothing else does)
    app_token: str = "xapp-1-A0WARROOM-1-sandbox"  # noqa: S105 - the sandbox's own fake token
    app_id: str = "A0WARROOM"
    domain: str = "warroom-sandbox"
    users: dict[str, User] = field(default_factory=dict)
    usergroups: dict[str, Usergroup] = field(default_factory=dict)
    channels: dict[str, Channel] = field(default_factory=dict)
    faults: dict[str, Fault] = field(default_factory=dict)
    response_urls: dict[str, ResponseUrl] = field(default_factory=dict)
    views: dict[str, JSON] = field(default_factory=dict)
    files: dict[str, JSON] = field(default_factory=dict)
    # trigger_id -> time it was issued (Slack honours a trigger for 3 seconds)
    triggers: dict[str, float] = field(default_factory=dict)
    # triggers already exchanged for a view (Slack honours each once)
    used_triggers: set[str] = field(default_factory=set)
    calls: list[tuple[str, JSON]] = field(default_factory=list)
    # Socket Mode: one-time WebSocket URL ticket -> time apps.connections.open issued it
    socket_tickets: dict[str, float] = field(default_factory=dict)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    # the last message ts handed out, in microseconds: ts values only ever go up
    last_ts_us: int = 0

    def next_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids):08X}"

    def next_ts(self, now: float) -> str:
        """A message ts like Slack's ("1700000000.000100"), strictly increasing."""
        us = max(int(now * 1_000_000), self.last_ts_us + 1)
        self.last_ts_us = us
        return f"{us // 1_000_000}.{us % 1_000_000:06d}"

    def replace_with(self, other: Workspace) -> None:
        """Take over all state of `other` in place (references to this object stay valid)."""
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(other, name))

    def channel_by_name(self, name: str) -> Channel | None:
        return next((c for c in self.channels.values() if c.name == name), None)


def default_workspace(now: float) -> Workspace:
    """A workspace with the seed runbooks' people and channels, the bot a member of each."""
    ws = Workspace()
    for user in DEFAULT_USERS:
        ws.users[user.id] = User(**vars(user))
    for group in DEFAULT_USERGROUPS:
        ws.usergroups[group.id] = Usergroup(group.id, group.handle, group.name, list(group.users))
    for name in DEFAULT_CHANNELS:
        cid = ws.next_id("C")
        ws.channels[cid] = Channel(
            id=cid,
            name=name,
            created=int(now),
            creator="U0ONCALL",
            members=[u.id for u in DEFAULT_USERS],
        )
    return ws
