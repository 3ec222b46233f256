"""app_manifest.yaml declares exactly the registry's commands and the scopes the code needs."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from bot.config.settings import Settings
from commands.registry import build_registry

ROOT = Path(__file__).resolve().parents[1]
MANIFEST = yaml.safe_load((ROOT / "app_manifest.yaml").read_text())
DESIGN_COMMANDS = {
    "/incident",
    "/integration-status",
    "/queue-status",
    "/pause-campaign",
    "/resume-campaign",
    "/replay-deadletter",
    "/statuspage-draft",
}
# Slack's documented bot scopes per Web API method: any one of them allows the call.
METHOD_SCOPES: dict[str, set[str]] = {
    "auth.test": set(),
    "conversations.create": {"channels:manage", "groups:write"},
    "conversations.invite": {"channels:manage", "groups:write"},
    "conversations.setTopic": {"channels:manage", "groups:write"},
    "conversations.setPurpose": {"channels:manage", "groups:write"},
    "conversations.archive": {"channels:manage", "groups:write"},
    "conversations.info": {"channels:read", "groups:read"},
    "conversations.list": {"channels:read", "groups:read"},
    "conversations.history": {"channels:history", "groups:history"},
    "conversations.replies": {"channels:history", "groups:history"},
    "conversations.members": {"channels:read", "groups:read"},
    "conversations.open": {"im:write"},
    "chat.postMessage": {"chat:write", "chat:write.public"},
    "chat.update": {"chat:write"},
    "chat.postEphemeral": {"chat:write"},
    "pins.add": {"pins:write"},
    "pins.remove": {"pins:write"},
    "bookmarks.add": {"bookmarks:write"},
    "users.info": {"users:read"},
    "users.lookupByEmail": {"users:read.email"},
    "usergroups.list": {"usergroups:read"},
    "usergroups.users.list": {"usergroups:read"},
    "views.open": set(),
    "views.update": set(),
    "reactions.add": {"reactions:write"},
    "files.getUploadURLExternal": {"files:write"},
    "files.completeUploadExternal": {"files:write"},
}
# Scopes a method may use but only when a setting asks for it.
EVENT_SCOPES: dict[str, set[str]] = {
    "reaction_added": {"reactions:read"},
    "reaction_removed": {"reactions:read"},
}
OPTIONAL_FOR = {
    "groups:write": "conversations.create",
    "groups:read": "conversations.list",
    "groups:history": "conversations.history",
}


FAMILIES = "auth|conversations|chat|pins|bookmarks|users|usergroups|views|reactions|files"
SLACK_METHOD = rf'"((?:{FAMILIES})\.[a-zA-Z.]+)"'


def methods_called() -> set[str]:
    """Every Web API method the bot calls: through the Slack port (`call("…")`), queued in
    the outbox (`method="…"`) or sent as queued (`PLAIN_METHODS`). The sandbox is not the bot."""
    from bot.web.outbox_handlers import PLAIN_METHODS

    found = set(PLAIN_METHODS)
    for path in (ROOT / "bot").rglob("*.py"):
        if "sandbox" in path.parts:
            continue
        source = path.read_text()
        found |= set(re.findall(r"call\(\s*" + SLACK_METHOD, source))
        found |= set(re.findall(r"method=" + SLACK_METHOD, source))
    return found


def declared_scopes() -> set[str]:
    return set(MANIFEST["oauth_config"]["scopes"]["bot"])


def test_manifest_commands_equal_the_registry() -> None:
    registry = build_registry(Settings())
    declared = {c["command"]: c for c in MANIFEST["features"]["slash_commands"]}
    assert set(declared) == set(registry) == DESIGN_COMMANDS
    for name, command in registry.items():
        assert declared[name]["usage_hint"] == command.usage, name
        assert declared[name]["description"] == command.description, name
        assert len(command.description) <= 100, name


def test_every_method_called_is_covered_by_a_scope() -> None:
    called = methods_called()
    assert {"conversations.create", "chat.postMessage", "pins.add"} <= called
    unknown = called - set(METHOD_SCOPES)
    assert not unknown, f"add these methods and their scopes to METHOD_SCOPES: {unknown}"
    for method in called:
        needs = METHOD_SCOPES[method]
        assert not needs or needs & declared_scopes(), f"{method} needs one of {needs}"


def test_no_scope_is_declared_without_a_use() -> None:
    called = methods_called()
    events = MANIFEST["settings"]["event_subscriptions"]["bot_events"]
    needed = [*(METHOD_SCOPES[m] for m in called), *(EVENT_SCOPES[e] for e in events)]
    justified = {"commands"} | {s for scopes in needed for s in scopes if s in declared_scopes()}
    assert declared_scopes() == justified
    for scope, method in OPTIONAL_FOR.items():
        assert method in called, scope


def test_every_url_points_at_the_events_endpoint() -> None:
    urls = [c["url"] for c in MANIFEST["features"]["slash_commands"]]
    urls.append(MANIFEST["settings"]["interactivity"]["request_url"])
    urls.append(MANIFEST["settings"]["event_subscriptions"]["request_url"])
    assert all(u.endswith("/slack/events") for u in urls)
