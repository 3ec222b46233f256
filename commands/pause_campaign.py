"""`/pause-campaign <campaign-id> [reason…]` — stop a campaign's sends, after confirmation."""

from __future__ import annotations

from typing import Literal

from commands.campaign_switch import CampaignSwitch


class PauseCampaignCommand(CampaignSwitch):
    name = "/pause-campaign"
    description = "Pause a campaign's sends"
    usage = "<campaign-id> [reason…]"
    action: Literal["paused", "resumed"] = "paused"
    verb = "Pause"
