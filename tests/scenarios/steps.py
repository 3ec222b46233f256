"""Steps the runbook scenarios share: an example team's bot with its Slack workspace (people,
user groups, channels) and its own backends on loopback, triggers (the periodic integration
probe, alerts), and ways to wait for what the on-call person sees and the timeline holds.

A team's backends are the sandbox's demo backends (switches to break integrations, queues,
campaigns), also answering on the paths the example config names (e.g. the funeral platform's
`/admin/integrations/status`) with every integration the config lists.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

from bot.config.settings import Settings
from bot.infra.time_source import Clock
from bot.operations.integration_probe import probe_tick
from bot.sandbox.demo_backends import DemoBackends, create_demo_backends_app, integration_health
from bot.sandbox.workspace import Channel, Message, User, Usergroup
from bot.web.keys import SERVICES
from tests.db_reads import incidents, timeline
from tests.harness import Harness, bound_socket, eventually, url_of
from tests.scenarios.support import (
    add_channel,
    everything,
    example_env,
    example_settings,
    scenario_bot,
)

_AUTH_ENV = re.compile(r"auth_env:\s*([A-Z_][A-Z0-9_]*)")
_VAR_REF = re.compile(r"\$\{([A-Z_][A-Z0-9_]*)(?::-[^}]*)?\}")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


# ------------------------------------------------------------------ the team


@dataclass(frozen=True)
class TeamSpec:
    """What a team's Slack workspace holds besides the sandbox's defaults: the people and user
    groups its example config names (id -> display name / id -> member ids)."""

    example: str
    people: Mapping[str, str] = field(default_factory=dict)
    groups: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass
class Team:
    h: Harness
    backends: DemoBackends
    settings: Settings
    db: str

    async def probe(self, rounds: int = 1) -> list[tuple[str, str]]:
        """Run the periodic integration probe `rounds` times; the transitions it made."""
        seen: list[tuple[str, str]] = []
        for _ in range(rounds):
            seen += [(t.name, t.kind) for t in await probe_tick(self.h.app[SERVICES])]
        return seen

    def break_integration(self, name: str, mode: str = "down") -> None:
        """The demo backends' switch for one integration (`ok` mends it)."""
        self.backends.switch(name).mode = mode


def team_settings(example: str, backend_url: str) -> Settings:
    """examples/<example>.yaml with every backend (and webhook URL) at `backend_url` (one try,
    short timeout); a breaker that closes again at once (in production the probe's rounds are
    minutes apart, longer than `breaker_open_for`; here back to back); the periodic probe left
    to the test (`Team.probe`)."""
    settings = example_settings(example, backend_url, env=example_env(example, backend_url))
    backends = {
        key: replace(backend, breaker_open_for=timedelta(milliseconds=50))
        for key, backend in settings.backends.items()
    }
    integrations = replace(settings.integrations, probe_every=None)
    return replace(settings, backends=backends, integrations=integrations)


@asynccontextmanager
async def team_bot(
    db: str, spec: TeamSpec, transport: str, *, clock: Clock | None = None
) -> AsyncIterator[Team]:
    """The team's bot (its example config) with its backends and Slack workspace."""
    state = DemoBackends()
    if clock is not None:
        state.clock = lambda: clock.now().timestamp()
    sock = bound_socket()
    settings = team_settings(spec.example, url_of(sock))
    runner = web.AppRunner(team_backends_app(state, settings), access_log=None)
    await runner.setup()
    await web.SockSite(runner, sock).start()
    try:
        async with scenario_bot(db, settings, transport, clock=clock) as h:
            _furnish(h, spec, settings)
            yield Team(h, state, settings, db)
    finally:
        await runner.cleanup()


def team_backends_app(state: DemoBackends, settings: Settings) -> web.Application:
    """The demo backends, also answering on the config's aggregate status path (listing every
    configured integration) and its per-integration health paths, with the same switches."""
    app = create_demo_backends_app(state)
    config = settings.integrations
    patterns = {
        item.health_path.replace(name, "{integration}")
        for name, item in config.items.items()
        if item.health_path and name in item.health_path
    } - {"/health/{integration}"}
    for pattern in sorted(patterns):
        app.router.add_get(pattern, integration_health)
    app.middlewares.append(_aggregate_of(config.aggregate_path, list(config.items), state))
    return app


def _aggregate_of(path: str, names: list[str], state: DemoBackends) -> Any:
    @web.middleware
    async def aggregate(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.method != "GET" or request.path != path:
            return await handler(request)
        state.requests.append((request.method, request.path_qs))
        if state.switch("integrations").mode != "ok":
            return web.json_response({"error": "service_unavailable"}, status=503)
        items = [state.integration(name) for name in names]
        worst = next(
            (s for s in ("down", "degraded") if any(i["status"] == s for i in items)), "up"
        )
        return web.json_response({"status": worst, "integrations": items})

    return aggregate


def _furnish(h: Harness, spec: TeamSpec, settings: Settings) -> None:
    """The team's people, user groups and configured channels in the sandbox workspace."""
    for user_id, name in spec.people.items():
        handle = name.lower().replace(" ", ".")
        h.ws.users[user_id] = User(user_id, handle, name, f"{handle}@example.com")
    for group_id, members in spec.groups.items():
        h.ws.usergroups[group_id] = Usergroup(group_id, group_id.lower(), group_id, list(members))
    slack = settings.slack
    for name in (slack.announce_channel, slack.alerts_channel, slack.oncall_channel):
        add_channel(h, name)


# ------------------------------------------------------------------ what people see


def buttons(message: Message) -> list[str]:
    return [
        element["action_id"]
        for block in message.blocks
        if block.get("type") == "actions"
        for element in block.get("elements", [])
    ]


def button_words(message: Message) -> list[str]:
    return [
        element["text"]["text"]
        for block in message.blocks
        if block.get("type") == "actions"
        for element in block.get("elements", [])
        if element.get("type") == "button"
    ]


def said(channel: Channel, needle: str, *, user: str | None = None) -> list[Message]:
    """Messages in `channel` that `user` sees (public or theirs only) containing `needle`."""
    return [
        m for m in channel.messages if m.ephemeral_to in (None, user) and needle in everything(m)
    ]


async def seen(
    h: Harness,
    channel: str | Channel,
    *needles: str,
    user: str | None = None,
    button: str | None = None,
    within: float = 15,
) -> Message:
    """The newest message in `channel` that `user` sees with every needle in it (and the
    button `button`, if given), waited for."""
    room = h.channel(channel) if isinstance(channel, str) else channel

    def found() -> Message | None:
        hits = [
            m
            for m in said(room, needles[0], user=user)
            if all(n in everything(m) for n in needles) and (button is None or button in buttons(m))
        ]
        return hits[-1] if hits else None

    return await eventually(found, within=within)


def bookmark_titles(room: Channel) -> list[str]:
    return [str(mark["title"]) for mark in room.bookmarks]


async def the_room(t: Team, within: float = 20) -> tuple[Any, Channel, Message]:
    """The one incident, its war room and the pinned intro with the incident buttons."""

    async def ready() -> Any:
        stored = [i for i in await incidents(t.db) if i.channel_id]
        return stored[0] if len(stored) == 1 else None

    incident = await eventually(ready, within=within)
    room = t.h.ws.channels[incident.channel_id]

    def intro() -> Message | None:
        found = t.h.intros(room)
        return found[0] if found else None

    return incident, room, await eventually(intro, within=within)


# ------------------------------------------------------------------ the timeline


async def timeline_with(db: str, incident_id: int, kind: str, *needles: str) -> list[Any]:
    """The timeline once it holds an event of `kind` with every needle in its text."""

    async def found() -> list[Any] | None:
        events = await timeline(db, incident_id)
        hit = any(e.kind == kind and all(n in e.text for n in needles) for e in events)
        return events if hit else None

    events: list[Any] = await eventually(found, within=15)
    return events


def in_order(events: list[Any], *steps: tuple[str, str]) -> list[int]:
    """Positions of (kind, text fragment) steps in `events`, each after the one before; an
    AssertionError names the first step not found in order."""
    positions, start = [], 0
    for kind, needle in steps:
        at = next(
            (
                i
                for i in range(start, len(events))
                if events[i].kind == kind and needle in events[i].text
            ),
            None,
        )
        assert at is not None, (
            f"no {kind} {needle!r} after position {start} in {[(e.kind, e.text) for e in events]}"
        )
        positions.append(at)
        start = at + 1
    return positions


# ------------------------------------------------------------------ alerts as teams send them


def alertmanager(
    alertname: str,
    labels: Mapping[str, str],
    summary: str,
    *,
    description: str = "",
    runbook_url: str = "",
    status: str = "firing",
    starts_at: datetime | None = None,
    ends_at: datetime | None = None,
) -> dict[str, Any]:
    """An Alertmanager webhook v4 body with one alert (the shape of the shared fixture):
    firing since `starts_at` (a minute ago), or resolved at `ends_at` (now)."""
    now = datetime.now(UTC)
    since = starts_at or now - timedelta(minutes=1)
    until = (ends_at or now) if status == "resolved" else None
    all_labels = {"alertname": alertname, **labels}
    annotations = {"summary": summary}
    if description:
        annotations["description"] = description
    if runbook_url:
        annotations["runbook_url"] = runbook_url
    group = ", ".join(f'{k}="{v}"' for k, v in sorted(all_labels.items()) if k != "severity")
    return {
        "receiver": "warroom",
        "status": status,
        "alerts": [
            {
                "status": status,
                "labels": all_labels,
                "annotations": annotations,
                "startsAt": _rfc3339(since),
                "endsAt": _rfc3339(until) if until else "0001-01-01T00:00:00Z",  # Go's zero
                "generatorURL": "",
                "fingerprint": hashlib.sha256(group.encode()).hexdigest()[:16],
            }
        ],
        "groupLabels": {"alertname": alertname},
        "commonLabels": all_labels,
        "commonAnnotations": annotations,
        "externalURL": "http://alertmanager.example.com:9093",
        "version": "4",
        "groupKey": "{}:{" + group + "}",
        "truncatedAlerts": 0,
    }


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
