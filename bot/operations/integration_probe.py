"""Probing the integrations: all at once, each under its own timeout, so the answer takes
one timeout however many hang. The periodic probe turns N failed checks in a row into an
internal alert (and so an incident, through the normal routing) and resolves it on recovery.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.alerts.pipeline import ingest
from bot.config.platform import IntegrationSettings, IntegrationsSettings
from bot.core.alerts import NormalizedAlert
from bot.core.integration_health import (
    IntegrationShapeError,
    ProbeResult,
    Transition,
    from_aggregate,
    from_single,
    unreachable,
)
from bot.db.errors import DATABASE_UNAVAILABLE
from bot.operations.backend_calls import Answer, call_backend
from bot.operations.command_log import Call
from bot.runtime.ports import OperationPorts

log = logging.getLogger(__name__)
PROBE_ORIGIN = "warroom-probe"


@dataclass(frozen=True)
class Probed:
    results: list[ProbeResult]
    cached_at: datetime | None  # set when the answer came from the cache
    calls: list[Call]


async def probe(services: OperationPorts, names: Sequence[str], *, force: bool) -> Probed:
    settings = services.settings.integrations
    memory, now = services.probes, services.clock.now()
    if (
        not force
        and memory.fresh(now, settings.cache_for)
        and all(n in memory.results for n in names)
    ):
        return Probed([memory.results[n] for n in names], memory.checked_at, [])
    per_url = [n for n in names if settings.items[n].health_path]
    aggregated = [n for n in names if not settings.items[n].health_path]
    jobs = [_one(services, settings, name, now) for name in per_url]
    if aggregated:
        jobs.append(_aggregate(services, settings, aggregated, now, force=force))
    rounds = await asyncio.gather(*jobs)
    results = {r.name: r for found, _ in rounds for r in found}
    memory.results.update(results)
    memory.checked_at = now
    calls = [call for _, call in rounds if call is not None]
    return Probed([results[n] for n in names if n in results], None, calls)


def _seconds(settings: IntegrationsSettings, services: OperationPorts, name: str | None) -> float:
    own = settings.items[name].timeout if name else None
    backend = services.backends.get(settings.backend).settings.timeout
    return (own or backend).total_seconds()


async def _bounded(
    services: OperationPorts, seconds: float, backend: str, path: str, **options: Any
) -> Answer | None:
    try:
        async with asyncio.timeout(seconds):
            return await call_backend(services, backend, "GET", path, **options)
    except TimeoutError:
        return None


async def _one(
    services: OperationPorts, settings: IntegrationsSettings, name: str, now: datetime
) -> tuple[list[ProbeResult], Call | None]:
    seconds = _seconds(settings, services, name)
    path = settings.items[name].health_path
    answer = await _bounded(services, seconds, settings.backend, path, breaker=name)
    if answer is None:
        return [unreachable(name, f"no answer within {seconds:g} s", now)], None
    if answer.error is not None:
        return [unreachable(name, answer.error.message, now)], answer.call
    try:
        return [from_single(answer.data, name, now)], answer.call
    except IntegrationShapeError as exc:
        return [unreachable(name, f"unexpected health answer ({exc.field})", now)], answer.call


async def _aggregate(
    services: OperationPorts,
    settings: IntegrationsSettings,
    names: list[str],
    now: datetime,
    *,
    force: bool,
) -> tuple[list[ProbeResult], Call | None]:
    seconds = _seconds(settings, services, None)
    query = {"force": "true"} if force else None
    answer = await _bounded(
        services, seconds, settings.backend, settings.aggregate_path, query=query
    )
    if answer is None or answer.error is not None:
        why = answer.error.message if answer and answer.error else f"no answer within {seconds:g} s"
        return [unreachable(n, why, now) for n in names], answer.call if answer else None
    try:
        found = from_aggregate(answer.data, now)
    except IntegrationShapeError as exc:
        why = f"unexpected status answer ({exc.field})"
        return [unreachable(n, why, now) for n in names], answer.call
    missing = "not in the aggregate status answer"
    return [found.get(n) or unreachable(n, missing, now) for n in names], answer.call


async def probe_tick(services: OperationPorts) -> list[Transition]:
    """The periodic probe: one forced round, then raise or resolve internal alerts."""
    settings = services.settings.integrations
    if not services.backends.get(settings.backend).settings.base_url:
        return []
    probed = await probe(services, list(settings.items), force=True)
    memory = services.probes
    streaks, transitions = memory.streaks.observe(
        {r.name: r for r in probed.results}, settings.fail_after
    )
    if transitions and not await _alert(services, transitions):
        return []  # the streaks stay as they were: the next round tries again
    memory.streaks = streaks
    return transitions


async def _alert(services: OperationPorts, transitions: list[Transition]) -> bool:
    now = services.clock.now()
    alerts = [internal_alert(t, services.settings.integrations, now) for t in transitions]
    try:
        async with services.db.begin() as session:
            await ingest(session, alerts, services.settings, now)
    except DATABASE_UNAVAILABLE as exc:
        log.warning("probe alert not stored", extra={"error": type(exc).__name__})
        return False
    for t in transitions:
        log.info("integration probe alert", extra={"integration": t.name, "kind": t.kind})
    return True


def internal_alert(t: Transition, settings: IntegrationsSettings, now: datetime) -> NormalizedAlert:
    firing = t.kind == "raise"
    item = settings.items.get(t.name, IntegrationSettings())
    fallback = item.fallback
    summary = (
        f"Integration {t.name} is down ({t.failures} failed checks in a row)"
        if firing
        else f"Integration {t.name} is up again"
    )
    return NormalizedAlert(
        source="generic",
        fingerprint=f"{PROBE_ORIGIN}:{t.name}",
        group_key=f"integration:{t.name}",
        status="firing" if firing else "resolved",
        # `integrations.items.<name>.severity`: critical unless the runbook says otherwise.
        severity=item.severity,
        summary=summary,
        # The fallback first: the war-room intro shows only the description's first 200
        # characters, and the runbook's instruction matters more than the error's wording.
        description="\n".join(
            x for x in (f"Fallback: {fallback}" if fallback else "", t.last_error or "") if x
        ),
        labels={"integration": t.name, "origin": PROBE_ORIGIN},
        links={},
        starts_at=now if firing else None,
        ends_at=None if firing else now,
    )
