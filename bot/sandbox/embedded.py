"""The sandbox as `warroom serve`'s embedded Slack when no SLACK_BOT_TOKEN is set."""

from __future__ import annotations

import dataclasses
import secrets

from bot.config.backends import BackendSettings
from bot.config.platform import CommandPermission
from bot.config.settings import BACKEND_NAMES, RuntimeConfig, Settings
from bot.core.permissions import MUTATING
from bot.sandbox.workspace import Workspace

SANDBOX_PREFIX = "/sandbox"
DEMO_BACKENDS_PREFIX = "/demo"


def prepare_sandbox(runtime: RuntimeConfig, workspace: Workspace, self_url: str) -> RuntimeConfig:
    """Point the bot at the sandbox mounted in its own server, with per-process secrets."""
    base = self_url.rstrip("/")
    return dataclasses.replace(
        runtime,
        settings=demo_settings(runtime.settings, workspace, f"{base}{DEMO_BACKENDS_PREFIX}"),
        self_url=base,
        slack_api_url=f"{base}{SANDBOX_PREFIX}/api/",
        secrets=dataclasses.replace(
            runtime.secrets,
            slack_bot_token=workspace.bot_token,
            # Events reach the bot over HTTP from its own page: a real xapp- token would only
            # stall start-up against a sandbox that is not listening yet.
            slack_app_token=None,
            slack_signing_secret=runtime.secrets.slack_signing_secret or secrets.token_hex(16),
            alert_token=runtime.secrets.alert_token or secrets.token_urlsafe(24),
        ),
    )


def demo_settings(settings: Settings, workspace: Workspace, demo_url: str) -> Settings:
    """Unconfigured backends point at the demo backends; with no permissions configured,
    the sandbox's people may run the mutating commands (the Approve rule stays off)."""
    backends = dict(settings.backends)
    for name in BACKEND_NAMES:
        current = backends.get(name, BackendSettings())
        if not current.base_url:
            backends[name] = dataclasses.replace(current, base_url=demo_url)
    permissions = settings.permissions or {
        command: CommandPermission(users=tuple(sorted(workspace.users)))
        for command in sorted(MUTATING)
    }
    return dataclasses.replace(settings, backends=backends, permissions=permissions)
