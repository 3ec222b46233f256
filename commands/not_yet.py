"""Commands declared in the Slack app but not built in this version.

They answer, privately and plainly, that they are not available yet, so a user who finds
them in Slack's command list is never left without a reply.
"""

from __future__ import annotations

from dataclasses import dataclass

from commands.base import CommandContext, Reply


@dataclass(frozen=True)
class NotYetArgs:
    text: str


class NotYetCommand:
    def __init__(self, name: str, description: str, usage: str) -> None:
        self.name = name
        self.description = description
        self.usage = usage

    def parse(self, text: str) -> NotYetArgs:
        return NotYetArgs(text)

    async def run(self, args: NotYetArgs, ctx: CommandContext) -> Reply:
        return Reply(
            text=f"`{self.name}` is not available in this version of Warroom yet. "
            "Use your runbook's admin panel for now; `/incident help` lists what works today."
        )
