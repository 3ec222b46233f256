"""Every operational command leaves an audit row (who, what, decision, backend request,
status, duration, outcome) and, run in a war room, a line on that incident's timeline."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.core import drill
from bot.core.timeline import EventKind, TimelineEntry
from bot.db.errors import DATABASE_UNAVAILABLE
from bot.db.incidents import incident_for_channel, record
from bot.db.operation_records import AuditEntry, audit, expire_operations
from bot.runtime.ports import OperationPorts


@dataclass(frozen=True)
class Call:
    """One backend call as the audit keeps it (no host, no query values, no secrets)."""

    backend: str
    request: str | None
    status: int | None
    duration_ms: int
    outcome: str  # "ok" or the error kind


@dataclass(frozen=True)
class Invoked:
    command: str  # "/queue-status"
    args: str
    user: str
    channel_id: str


async def log_command(
    services: OperationPorts,
    invoked: Invoked,
    *,
    decision: str,
    outcome: str,
    now: datetime,
    call: Call | None = None,
    operation_id: int | None = None,
    timeline_text: str | None = None,
) -> int | None:
    """Write the audit row, and the timeline line when the channel is a war room; the
    incident's id, if it was one."""
    async with services.db.begin() as session:
        incident = await incident_for_channel(session, invoked.channel_id)
        incident_id = incident.id if incident else None
        await audit(
            session,
            AuditEntry(
                at=now,
                actor=invoked.user,
                command=invoked.command,
                args=invoked.args,
                decision=decision,
                outcome=outcome,
                channel_id=invoked.channel_id,
                incident_id=incident_id,
                operation_id=operation_id,
                backend_request=f"{call.backend}: {call.request}"
                if call and call.request
                else None,
                status=call.status if call else None,
                duration_ms=call.duration_ms if call else None,
            ),
        )
        if incident_id is not None and timeline_text:
            await record(
                session,
                incident_id,
                TimelineEntry(
                    # A drill's command sent nothing: a command line, not a backend call.
                    kind=EventKind.COMMAND if outcome == drill.OUTCOME else EventKind.BACKEND_CALL,
                    occurred_at=now,
                    actor=invoked.user,
                    source="slack",
                    text=timeline_text,
                    data={
                        "command": invoked.command,
                        "args": invoked.args[:500],
                        "decision": decision,
                        "outcome": outcome,
                        "backend": call.backend if call else None,
                        "request": call.request if call else None,
                        "status": call.status if call else None,
                        "duration_ms": call.duration_ms if call else None,
                    },
                ),
                now,
            )
    return incident_id


async def expire_prompts(services: OperationPorts) -> int:
    """Confirmations nobody answered in time are marked expired (their buttons say so)."""
    try:
        async with services.db.begin() as session:
            return await expire_operations(session, services.clock.now())
    except DATABASE_UNAVAILABLE:
        return 0
