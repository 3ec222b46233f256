"""`/resume-campaign <campaign-id>` — start a paused campaign again, after confirmation."""

from __future__ import annotations

from typing import Literal

from commands.campaign_switch import CampaignSwitch


class ResumeCampaignCommand(CampaignSwitch):
    name = "/resume-campaign"
    description = "Resume a paused campaign"
    usage = "<campaign-id>"
    action: Literal["paused", "resumed"] = "resumed"
    verb = "Resume"
