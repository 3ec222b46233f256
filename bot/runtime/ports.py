"""What each feature's flows work with: small protocols instead of the whole bag.

A flow's signature says which ports it touches (`services: EscalationPorts` reaches the
database, settings, clock, templates and metrics, and nothing else). `Services`, built once per
process by the app factory, satisfies every one of them; a test can hand a flow a small
object with just the ports its protocol names (tests/test_ports.py does). Each feature's
protocol includes the protocols of the features whose flows it calls, and mypy checks it.
"""

from __future__ import annotations

import asyncio
from typing import Any, Protocol

from bot.backends.registry import Backends
from bot.config.settings import Settings
from bot.core.integration_health import ProbeMemory
from bot.db.unit_of_work import UnitOfWork
from bot.infra.metrics import Metrics
from bot.infra.templates import Templates
from bot.infra.time_source import Clock
from bot.slack.gateway import SlackGateway


class HasDatabase(Protocol):
    @property
    def db(self) -> UnitOfWork: ...


class HasSettings(Protocol):
    @property
    def settings(self) -> Settings: ...


class HasClock(Protocol):
    @property
    def clock(self) -> Clock: ...


class HasTemplates(Protocol):
    @property
    def templates(self) -> Templates: ...


class HasMetrics(Protocol):
    @property
    def metrics(self) -> Metrics: ...


class HasSlack(Protocol):
    @property
    def slack(self) -> SlackGateway: ...


class HasBackends(Protocol):
    @property
    def backends(self) -> Backends: ...


class HasProbeMemory(Protocol):
    @property
    def probes(self) -> ProbeMemory: ...


class HasLeases(Protocol):
    """A replica's identity for leases, and the drill players it runs."""

    @property
    def replica(self) -> str: ...

    @property
    def drills(self) -> dict[int, asyncio.Task[Any]]: ...


class StoreAndTime(HasDatabase, HasSettings, HasClock, Protocol):
    """The ground most flows stand on: a transaction, the settings and the time."""


class ExportPorts(HasDatabase, HasSettings, HasSlack, Protocol): ...


class WarRoomPorts(StoreAndTime, HasTemplates, HasMetrics, HasSlack, Protocol): ...


class TicketPorts(StoreAndTime, Protocol): ...


class EscalationPorts(StoreAndTime, HasTemplates, HasMetrics, Protocol): ...


class AlertPorts(EscalationPorts, WarRoomPorts, Protocol): ...


class OperationPorts(AlertPorts, HasBackends, HasProbeMemory, Protocol): ...


class StatusPagePorts(OperationPorts, Protocol): ...


class PostIncidentPorts(EscalationPorts, ExportPorts, Protocol): ...


class IncidentPorts(PostIncidentPorts, TicketPorts, Protocol): ...


class DrillPorts(AlertPorts, ExportPorts, HasLeases, Protocol): ...


class JobPorts(IncidentPorts, AlertPorts, HasBackends, Protocol):
    """What the outbox's job handlers reach (each feature's handlers, one table); the
    ticket job calls the ticket webhook through the backends port."""
