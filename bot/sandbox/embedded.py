"""The sandbox as `warroom serve`'s embedded Slack when no SLACK_BOT_TOKEN is set."""

from __future__ import annotations

import dataclasses
import secrets

from bot.config.settings import RuntimeConfig
from bot.sandbox.workspace import Workspace

SANDBOX_PREFIX = "/sandbox"
DEMO_BACKENDS_PREFIX = "/demo"


def prepare_sandbox(runtime: RuntimeConfig, workspace: Workspace, self_url: str) -> RuntimeConfig:
    """Point the bot at the sandbox mounted in its own server, with per-process secrets."""
    base = self_url.rstrip("/")
    return dataclasses.replace(
        runtime,
        self_url=base,
        slack_api_url=f"{base}{SANDBOX_PREFIX}/api/",
        secrets=dataclasses.replace(
            runtime.secrets,
            slack_bot_token=workspace.bot_token,
            slack_signing_secret=runtime.secrets.slack_signing_secret or secrets.token_hex(16),
            alert_token=runtime.secrets.alert_token or secrets.token_urlsafe(24),
        ),
    )
