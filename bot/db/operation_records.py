"""Confirmed operational commands (/pause-campaign and friends) and their audit trail.

A command becomes a `PendingOperation`; buttons move it between states. Every move is one
compare-and-set UPDATE, so two people clicking at once (or two replicas handling the same
click) make the move once: the loser gets None and explains from the row as it now is.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, case, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import AuditRecord, PendingOperation

MOVES: dict[str, frozenset[str]] = {
    "pending": frozenset({"awaiting_approval", "running", "cancelled", "expired"}),
    "awaiting_approval": frozenset({"running", "cancelled", "expired"}),
    "running": frozenset({"done", "failed"}),
    "failed": frozenset({"running", "cancelled"}),
    "done": frozenset(),
    "cancelled": frozenset(),
    "expired": frozenset(),
}
# Only a move out of these into running or awaiting_approval is refused past expires_at.
WAITING = frozenset({"pending", "awaiting_approval"})
DECISIONS = frozenset(
    {
        "allowed",
        "denied",
        "confirm_asked",
        "confirmed",
        "cancelled",
        "approval_asked",
        "approved",
        "approval_refused",
        "expired",
        "ran",
    }
)
AUDIT_TEXT_LIMIT = 500


@dataclass(frozen=True)
class AuditEntry:
    at: datetime
    actor: str
    command: str
    args: str
    decision: str
    outcome: str
    channel_id: str | None = None
    incident_id: int | None = None
    operation_id: int | None = None
    backend_request: str | None = None
    status: int | None = None
    duration_ms: int | None = None


def _sources(to_state: str) -> frozenset[str]:
    sources = frozenset(state for state, targets in MOVES.items() if to_state in targets)
    if not sources:
        raise ValueError(f"no operation can move to {to_state!r}")
    return sources


async def create_operation(
    session: AsyncSession,
    *,
    command: str,
    args: dict[str, Any],
    summary: str,
    requester: str,
    channel_id: str,
    incident_id: int | None,
    needs_second: bool,
    now: datetime,
    ttl: timedelta,
) -> PendingOperation:
    token = secrets.token_urlsafe(16)[:22]
    operation = PendingOperation(
        token=token,
        command=command,
        args=dict(args),
        summary=summary,
        requester=requester,
        channel_id=channel_id,
        incident_id=incident_id,
        needs_second=needs_second,
        state="pending",
        created_at=now,
        updated_at=now,
        expires_at=now + ttl,
        attempts=0,
        idempotency_key=f"warroom-op-{token}",
    )
    session.add(operation)
    await session.flush()
    return operation


def _move_condition(to_state: str, now: datetime) -> ColumnElement[bool]:
    sources = _sources(to_state)
    condition: ColumnElement[bool] = PendingOperation.state.in_(sorted(sources))
    if to_state in ("running", "awaiting_approval"):
        waiting = sorted(sources & WAITING)
        condition = and_(
            condition,
            or_(PendingOperation.state.not_in(waiting), PendingOperation.expires_at > now),
        )
    if to_state == "running":
        # Two-person rule kept by the database too: such an operation runs only once approved.
        condition = and_(
            condition,
            or_(PendingOperation.state != "pending", PendingOperation.needs_second.is_(False)),
        )
    return condition


def _move_values(
    to_state: str,
    now: datetime,
    actor: str | None,
    result: dict[str, Any] | None,
    error: str | None,
) -> dict[str, Any]:
    values: dict[str, Any] = {"state": to_state, "updated_at": now}
    if to_state == "running":
        values["attempts"] = PendingOperation.attempts + 1
        if actor is not None:
            # SET reads the row as it was, so this sees the state being moved out of.
            values["approver"] = case(
                (PendingOperation.state == "awaiting_approval", actor),
                else_=PendingOperation.approver,
            )
    if result is not None:
        values["result"] = result
    if error is not None:
        values["error"] = error
    return values


async def move_operation(
    session: AsyncSession,
    token: str,
    to_state: str,
    now: datetime,
    *,
    actor: str | None = None,
    result: dict[str, Any] | None = None,
    error: str | None = None,
) -> PendingOperation | None:
    """Move the operation to `to_state` if it may go there now; the fresh row when this call
    made the move, None when it did not (someone else moved it first, it expired, no such
    token). A `pending` operation that needs a second person cannot go straight to running."""
    statement = (
        update(PendingOperation)
        .where(PendingOperation.token == token, _move_condition(to_state, now))
        .values(_move_values(to_state, now, actor, result, error))
        .returning(PendingOperation)
        .execution_options(synchronize_session=False, populate_existing=True)
    )
    return (await session.execute(statement)).scalars().one_or_none()


async def load_operation(session: AsyncSession, token: str) -> PendingOperation | None:
    statement = (
        select(PendingOperation)
        .where(PendingOperation.token == token)
        .execution_options(populate_existing=True)
    )
    return (await session.execute(statement)).scalars().one_or_none()


async def expire_operations(session: AsyncSession, now: datetime) -> int:
    """Operations nobody confirmed (or approved) in time become expired; how many did."""
    result = await session.execute(
        update(PendingOperation)
        .where(PendingOperation.state.in_(sorted(WAITING)), PendingOperation.expires_at <= now)
        .values(state="expired", updated_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def _clip(text: str) -> str:
    if len(text) <= AUDIT_TEXT_LIMIT:
        return text
    return text[: AUDIT_TEXT_LIMIT - 1] + "…"


async def audit(session: AsyncSession, entry: AuditEntry) -> None:
    if entry.decision not in DECISIONS:
        raise ValueError(f"unknown audit decision {entry.decision!r}")
    session.add(
        AuditRecord(
            at=entry.at,
            actor=entry.actor,
            command=entry.command,
            args=_clip(entry.args),
            decision=entry.decision,
            outcome=_clip(entry.outcome),
            channel_id=entry.channel_id,
            incident_id=entry.incident_id,
            operation_id=entry.operation_id,
            backend_request=entry.backend_request,
            status=entry.status,
            duration_ms=entry.duration_ms,
        )
    )
    await session.flush()
