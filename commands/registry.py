"""Every slash command Warroom answers. The bolt app and app_manifest.yaml's test read this."""

from __future__ import annotations

from typing import Any

from bot.config.settings import Settings
from commands.base import Command
from commands.incident import IncidentCommand
from commands.integration_status import IntegrationStatusCommand
from commands.pause_campaign import PauseCampaignCommand
from commands.queue_status import QueueStatusCommand
from commands.replay_deadletter import ReplayDeadletterCommand
from commands.resume_campaign import ResumeCampaignCommand
from commands.statuspage_draft import StatuspageDraftCommand


def build_registry(settings: Settings) -> dict[str, Command[Any]]:
    """Command name -> command, in the order Slack's app manifest lists them."""
    commands: list[Command[Any]] = [
        IncidentCommand(dict(settings.priorities)),
        IntegrationStatusCommand(settings.integrations),
        QueueStatusCommand(settings.queues),
        PauseCampaignCommand(settings.campaigns),
        ResumeCampaignCommand(settings.campaigns),
        ReplayDeadletterCommand(settings.queues),
        StatuspageDraftCommand(),
    ]
    return {command.name: command for command in commands}
