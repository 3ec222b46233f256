"""Steps the operations scenarios share (seeds 002 and 004): an example team's bot with the
demo backends on loopback, its Slack user groups, and ways to wait for what the on-call sees."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from typing import Any

from aiohttp import web

from bot.config.settings import Settings
from bot.infra.time_source import Clock
from bot.sandbox.demo_backends import INTEGRATIONS, DemoBackends
from bot.sandbox.workspace import Channel, Message, User, Usergroup
from tests.db_reads import incidents, timeline
from tests.harness import Harness, bound_socket, eventually, url_of
from tests.ops_support import Backend, demo_backends
from tests.scenarios.support import (
    add_channel,
    everything,
    example_env,
    example_settings,
    scenario_bot,
)

# The example configs name their teams' Slack user groups; the sandbox gets them too.
DJ_GROUPS = {
    "S07OPSONCALL": ("oncall-ops", ["U0ONCALL", "U0LEAD"]),  # §4 Ops Engineer rota
    "S07ICONCALL": ("ic-oncall", ["U0IC"]),  # §4 Incident Commander (DR lead)
    "S07ICBACKUP": ("ic-backup", ["U0LEAD"]),
    "S07COMMSDUTY": ("comms-duty", ["U0COMMS"]),  # §4 Communications Lead
    "S07PODUTY": ("po-duty", ["U0CTO"]),
}
VOUCHER_GROUPS = {
    "S04OPSONCALL": ("ops-oncall", ["U0ONCALL", "U0IC"]),  # on-call engineers (IC = on-call)
    "S04SUPPORTMGR": ("support-manager", ["U0COMMS"]),  # Support Manager
}


@dataclass
class Team:
    h: Harness
    backend: Backend  # the demo backends (integrations, queues, campaigns)
    side: TeamSide  # the team's own health URLs and ticket webhook
    settings: Settings
    db: str


@asynccontextmanager
async def team_bot(
    db: str,
    example: str,
    transport: str,
    groups: Mapping[str, tuple[str, list[str]]],
    *,
    clock: Clock | None = None,
    channels: Sequence[str] = (),
    own_health: Sequence[str] = (),
    users: Sequence[tuple[str, str]] = (),
) -> AsyncIterator[Team]:
    """examples/<example>.yaml against the demo backends; its Slack user groups, channels and
    `users` (id, name) added to the sandbox. `own_health`: integrations the team side answers
    for (the integrations backend then points there). A `${…_ENDPOINT}` or `${…_URL}` in
    the config is the team side's ticket webhook."""
    async with demo_backends() as backend, team_side(backend.state, *own_health) as side:
        env = example_env(example, hooks_url=f"{side.url}/tickets")
        settings = example_settings(example, backend.url, env=env)
        if own_health:
            moved = replace(settings.backends["integrations"], base_url=side.url)
            settings = replace(settings, backends={**settings.backends, "integrations": moved})
        async with scenario_bot(db, settings, transport, clock=clock) as h:
            for group_id, (handle, members) in groups.items():
                h.ws.usergroups[group_id] = Usergroup(group_id, handle, handle, list(members))
            for name in channels:
                add_channel(h, name)
            for user_id, real_name in users:
                email = f"{user_id.lower()}@example.com"
                h.ws.users[user_id] = User(user_id, user_id.lower(), real_name, email)
            yield Team(h, backend, side, settings, db)


def has_button(message: Message, action_id: str) -> bool:
    return any(
        element.get("action_id") == action_id
        for block in message.blocks
        if block.get("type") == "actions"
        for element in block.get("elements", [])
    )


async def message_in(
    h: Harness,
    channel: str,
    *needles: str,
    user: str | None = None,
    button: str | None = None,
    within: float = 15,
) -> Message:
    """The newest message in #channel (seen by `user`: public or theirs only) with every
    needle in its text or blocks, and the button `button` if given."""

    def found() -> Message | None:
        hits = [
            m
            for m in h.channel(channel).messages
            if (m.ephemeral_to is None or m.ephemeral_to == user)
            and all(n in everything(m) for n in needles)
            and (button is None or has_button(m, button))
        ]
        return hits[-1] if hits else None

    return await eventually(found, within=within)


async def the_incident(db: str, within: float = 20) -> Any:
    """The one incident, once its war room exists."""

    async def ready() -> Any:
        stored = [i for i in await incidents(db) if i.channel_id]
        return stored[0] if len(stored) == 1 else None

    return await eventually(ready, within=within)


async def room_of(h: Harness, db: str) -> tuple[Any, Channel]:
    """The incident and its war room, once the intro with its buttons is posted."""
    incident = await the_incident(db)
    room = h.ws.channels[incident.channel_id]
    await eventually(lambda: h.intros(room) or None, within=20)
    return incident, room


async def kinds(db: str, incident_id: int) -> list[str]:
    return [e.kind for e in await timeline(db, incident_id)]


async def timeline_has(db: str, incident_id: int, kind: str, *needles: str) -> Any:
    """The first timeline event of `kind` whose text holds every needle (waited for)."""

    async def found() -> Any:
        for event in await timeline(db, incident_id):
            if event.kind == kind and all(n in event.text for n in needles):
                return event
        return None

    return await eventually(found, within=15)


@dataclass
class TeamSide:
    """The team's integration health the demo backends lack, on loopback: one health URL
    each (GET /health/<name>) and the aggregate (GET /api/integrations/status: the demo
    backends' integrations, then these), answering what `health` says; and a ticket
    webhook (POST /tickets, kept in `tickets`)."""

    url: str
    health: dict[str, dict[str, Any]]
    tickets: list[dict[str, Any]]
    requests: list[str]

    def set(self, name: str, status: str, error: str | None = None) -> None:
        self.health[name] = {"name": name, "status": status, "latency_ms": 80, "last_error": error}


@asynccontextmanager
async def team_side(state: DemoBackends, *healthy: str) -> AsyncIterator[TeamSide]:
    side = TeamSide("", {}, [], [])
    for name in healthy:
        side.set(name, "up")

    async def health(request: web.Request) -> web.StreamResponse:
        side.requests.append(request.path_qs)
        item = side.health.get(request.match_info["name"])
        if item is None:
            return web.json_response({"error": "unknown_integration"}, status=404)
        return web.json_response(item)

    async def aggregate(request: web.Request) -> web.StreamResponse:
        side.requests.append(request.path_qs)
        items = {name: state.integration(name) for name in INTEGRATIONS} | side.health
        return web.json_response({"integrations": list(items.values())})

    async def ticket(request: web.Request) -> web.StreamResponse:
        side.tickets.append(await request.json())
        return web.json_response({"key": f"OPS-{100 + len(side.tickets)}"}, status=201)

    app = web.Application()
    app.router.add_get("/health/{name}", health)
    app.router.add_get("/api/integrations/status", aggregate)
    app.router.add_post("/tickets", ticket)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    sock = bound_socket()
    await web.SockSite(runner, sock).start()
    side.url = url_of(sock)
    try:
        yield side
    finally:
        await runner.cleanup()
