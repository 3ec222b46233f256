"""Every slash command Warroom answers. The bolt app and app_manifest.yaml's test read this."""

from __future__ import annotations

from typing import Any

from bot.config.settings import Settings
from commands.base import Command
from commands.incident import IncidentCommand
from commands.not_yet import NotYetCommand


def build_registry(settings: Settings) -> dict[str, Command[Any]]:
    """Command name -> command, in the order Slack's app manifest lists them."""
    commands: list[Command[Any]] = [
        IncidentCommand(dict(settings.priorities)),
        NotYetCommand(
            "/integration-status",
            "Health of the platform's integrations (WhatsApp, PMS, insurer, …)",
            "[name] [--force]",
        ),
        NotYetCommand("/queue-status", "Backlog, retry age and dead letters per queue", "[queue]"),
        NotYetCommand("/pause-campaign", "Pause a campaign's sends", "<campaign-id> [reason…]"),
        NotYetCommand("/resume-campaign", "Resume a paused campaign", "<campaign-id>"),
        NotYetCommand(
            "/replay-deadletter", "Replay a queue's dead letters", "<queue> [--limit N] [--dry-run]"
        ),
        NotYetCommand(
            "/statuspage-draft",
            "Draft a status-page update for this incident",
            "[investigating|identified|monitoring|resolved]",
        ),
    ]
    return {command.name: command for command in commands}
