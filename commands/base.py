"""The contract every slash command follows.

A command module exposes one `Command`: its name, a one-line description and usage hint
(also declared in app_manifest.yaml), `parse(text) -> Args` raising `UsageError`, and
`async run(args, ctx) -> Reply`. The bolt listener acks with the parse result within
Slack's 3 seconds and runs `run` after the ack.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypeVar

from bot.errors import WarroomError

if TYPE_CHECKING:
    from bot.runtime.services import Services

ArgsT = TypeVar("ArgsT")


class UsageError(WarroomError, ValueError):
    """The text did not parse; `message` says why, the command's usage line says how."""

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


@dataclass(frozen=True)
class Invocation:
    """Who ran which command where: the parts of Slack's payload the core needs."""

    command: str
    text: str
    user_id: str
    channel_id: str
    trigger_id: str | None = None


@dataclass(frozen=True)
class Reply:
    text: str
    blocks: list[dict[str, Any]] = field(default_factory=list)
    visibility: Literal["ephemeral", "in_channel"] = "ephemeral"


@dataclass
class CommandContext:
    invocation: Invocation
    services: Services
    now: datetime
    # Posts progress to the invoking user while slow work runs (response_url).
    progress: Callable[[str], Awaitable[None]]


class Command(Protocol[ArgsT]):
    name: str
    description: str
    usage: str

    def parse(self, text: str) -> ArgsT: ...

    async def run(self, args: ArgsT, ctx: CommandContext) -> Reply: ...


@dataclass(frozen=True)
class OperationRun:
    """A confirmed (and, under the two-person rule, approved) operation about to run."""

    services: Services
    now: datetime
    actor: str  # who confirmed or approved it
    requester: str
    idempotency_key: str  # the same on every retry: the backend does it once


@dataclass(frozen=True)
class Executed:
    reply: Reply
    ok: bool
    outcome: str  # "ok" or the backend error's kind
    timeline: str  # one line for the war room's timeline
    call: Any = None  # bot.operations.command_log.Call of the mutating request


class Confirmable(Protocol):
    """A command whose work waits for a Confirm button (see bot/slack/operation_buttons)."""

    name: str

    async def execute(self, args: dict[str, Any], run: OperationRun) -> Executed: ...
