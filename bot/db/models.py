"""The schema: the same models on SQLite and PostgreSQL (migrations/ keeps them in step)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from bot.db.types import UTCDateTime

# SQLite only autoincrements INTEGER PRIMARY KEY; PostgreSQL gets a BIGINT identity.
BigId = BigInteger().with_variant(Integer(), "sqlite")

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON(), list[Any]: JSON()}


class Incident(Base):
    __tablename__ = "incidents"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    title: Mapped[str] = mapped_column(String(200))
    severity: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16), default="triggered")
    # Set while the incident is open for an alert group; the unique constraint makes a
    # second incident (and so a second war room) for the same group impossible.
    open_group_key: Mapped[str | None] = mapped_column(String(255), unique=True)
    channel_id: Mapped[str | None] = mapped_column(String(32))
    channel_name: Mapped[str | None] = mapped_column(String(80))
    declared_by: Mapped[str | None] = mapped_column(String(32))
    is_drill: Mapped[bool] = mapped_column(default=False)
    during_maintenance: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime]
    acknowledged_at: Mapped[datetime | None]
    mitigated_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    updated_at: Mapped[datetime]
    acknowledged_by: Mapped[str | None] = mapped_column(String(32))
    mitigated_by: Mapped[str | None] = mapped_column(String(32))
    resolved_by: Mapped[str | None] = mapped_column(String(32))
    resolution: Mapped[str | None] = mapped_column(Text)
    last_update_at: Mapped[datetime | None]
    # The pinned clock message, edited in place as deadlines change.
    clock_ts: Mapped[str | None] = mapped_column(String(32))
    # The alert group key it was opened for (open_group_key is cleared on resolve).
    group_key: Mapped[str | None] = mapped_column(String(255))
    # Fencing token: bumped on every state change, checked by writers.
    version: Mapped[int] = mapped_column(default=1)
    # none -> opening -> open | failed: the war room, built by the outbox worker.
    room_state: Mapped[str] = mapped_column(String(16), default="none")
    intro_ts: Mapped[str | None] = mapped_column(String(32))
    summary_ts: Mapped[str | None] = mapped_column(String(32))
    # What the room last showed of its alerts ("firing/resolved/newest id"): no repeat posts.
    alerts_shown: Mapped[str | None] = mapped_column(String(64))
    last_alert_at: Mapped[datetime | None]
    resolve_suggested_at: Mapped[datetime | None]

    __table_args__ = (Index("ix_incidents_state", "state"),)


class AlertGroup(Base):
    """Alerts that share a group key: one message in the alerts channel, or one incident."""

    __tablename__ = "alert_groups"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    group_key: Mapped[str] = mapped_column(String(255), unique=True)
    # The queue the group is about (several failing queues make one DR incident).
    queue: Mapped[str | None] = mapped_column(String(128))
    title: Mapped[str] = mapped_column(String(200))
    severity: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    first_fired_at: Mapped[datetime]
    last_alert_at: Mapped[datetime]
    last_posted_at: Mapped[datetime | None]
    message_channel: Mapped[str | None] = mapped_column(String(32))
    message_ts: Mapped[str | None] = mapped_column(String(32))
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id", ondelete="SET NULL"))
    acknowledged_by: Mapped[str | None] = mapped_column(String(32))
    acknowledged_at: Mapped[datetime | None]
    during_maintenance: Mapped[bool] = mapped_column(default=False)
    updated_at: Mapped[datetime]

    __table_args__ = (Index("ix_alert_groups_status", "status", "first_fired_at"),)


class RoleAssignment(Base):
    __tablename__ = "role_assignments"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(32))
    user_id: Mapped[str] = mapped_column(String(32))
    assigned_by: Mapped[str | None] = mapped_column(String(32))
    assigned_at: Mapped[datetime]

    __table_args__ = (
        UniqueConstraint("incident_id", "role", name="uq_role_assignments_incident_role"),
    )


class Alert(Base):
    __tablename__ = "alerts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(32))
    fingerprint: Mapped[str] = mapped_column(String(255))
    group_key: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16))
    severity: Mapped[str] = mapped_column(String(16))
    summary: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text, default="")
    labels: Mapped[dict[str, Any]] = mapped_column(default=dict)
    links: Mapped[dict[str, Any]] = mapped_column(default=dict)
    starts_at: Mapped[datetime | None]
    ends_at: Mapped[datetime | None]
    received_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id", ondelete="SET NULL"))

    __table_args__ = (
        UniqueConstraint("source", "fingerprint", name="uq_alerts_source_fingerprint"),
        Index("ix_alerts_group_key", "group_key"),
        Index("ix_alerts_incident_id", "incident_id"),
    )


class TimelineEvent(Base):
    __tablename__ = "timeline_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"))
    occurred_at: Mapped[datetime]
    recorded_at: Mapped[datetime]
    kind: Mapped[str] = mapped_column(String(48))
    actor: Mapped[str | None] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(32), default="bot")
    text: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # For pins and other items that must appear once: e.g. "pin:C123:1700000000.0001".
    dedup_key: Mapped[str | None] = mapped_column(String(255))

    __table_args__ = (
        Index("ix_timeline_events_incident_order", "incident_id", "occurred_at", "id"),
        UniqueConstraint("incident_id", "dedup_key", name="uq_timeline_events_incident_dedup"),
    )


class AuditRecord(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(64))
    command: Mapped[str] = mapped_column(String(64))
    args: Mapped[str] = mapped_column(Text, default="")
    decision: Mapped[str] = mapped_column(String(16))
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id", ondelete="SET NULL"))
    backend_request: Mapped[str | None] = mapped_column(Text)
    status: Mapped[int | None]
    duration_ms: Mapped[int | None]
    outcome: Mapped[str] = mapped_column(Text, default="")
    channel_id: Mapped[str | None] = mapped_column(String(32))
    operation_id: Mapped[int | None] = mapped_column(
        ForeignKey("pending_operations.id", ondelete="SET NULL")
    )

    __table_args__ = (Index("ix_audit_log_at", "at"),)


class PendingOperation(Base):
    """An operational command waiting for its confirmation (and maybe a second person's
    approval), then its one backend call; states move only by compare-and-set."""

    __tablename__ = "pending_operations"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    # Carried in the buttons' values: unguessable, so a button cannot be forged for another row.
    token: Mapped[str] = mapped_column(String(32), unique=True)
    command: Mapped[str] = mapped_column(String(48))
    args: Mapped[dict[str, Any]] = mapped_column(default=dict)
    summary: Mapped[str] = mapped_column(Text)
    requester: Mapped[str] = mapped_column(String(32))
    channel_id: Mapped[str] = mapped_column(String(32))
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id", ondelete="SET NULL"))
    needs_second: Mapped[bool] = mapped_column(default=False)
    approver: Mapped[str | None] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(24), default="pending")
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(default=0)
    # Fixed at creation, so a retry after a failure cannot run the backend action twice.
    idempotency_key: Mapped[str] = mapped_column(String(64))
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (Index("ix_pending_operations_due", "state", "expires_at"),)


class ChecklistItem(Base):
    """One line of an incident's post-incident checklist, ticked by a person in the room."""

    __tablename__ = "checklist_items"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"))
    position: Mapped[int]
    text: Mapped[str] = mapped_column(Text)
    done_at: Mapped[datetime | None]
    done_by: Mapped[str | None] = mapped_column(String(32))

    __table_args__ = (UniqueConstraint("incident_id", "position", name="uq_checklist_items_slot"),)


class StatusDraft(Base):
    """One version of a status-page update: Atlassian Statuspage's incident fields, drafted
    in the war room, approved by the commander or comms lead, maybe published."""

    __tablename__ = "status_drafts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"))
    version: Mapped[int]
    status: Mapped[str] = mapped_column(String(16))  # investigating … resolved
    impact: Mapped[str] = mapped_column(String(16))  # none, minor, major, critical
    name: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    components: Mapped[dict[str, Any]] = mapped_column(default=dict)  # component -> status
    state: Mapped[str] = mapped_column(String(16), default="draft")
    created_by: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime]
    approved_by: Mapped[str | None] = mapped_column(String(32))
    approved_at: Mapped[datetime | None]
    published_at: Mapped[datetime | None]
    statuspage_incident_id: Mapped[str | None] = mapped_column(String(64))
    message_channel: Mapped[str | None] = mapped_column(String(32))
    message_ts: Mapped[str | None] = mapped_column(String(32))

    __table_args__ = (UniqueConstraint("incident_id", "version", name="uq_status_drafts_version"),)


class DrillRun(Base):
    """A drill started from Slack, playing on the replica that holds its lease. A replica
    that stops hands it on: another one claims it once the lease runs out and plays on from
    the steps done."""

    __tablename__ = "drill_runs"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    mark: Mapped[str] = mapped_column(String(128), unique=True)  # drill:<scenario>:<run>
    scenario: Mapped[str] = mapped_column(String(64))
    invitees: Mapped[list[Any]] = mapped_column(default=list)
    started_at: Mapped[datetime]
    steps_done: Mapped[int] = mapped_column(default=0)
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id", ondelete="SET NULL"))
    state: Mapped[str] = mapped_column(String(16), default="playing")  # playing, over
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_until: Mapped[datetime | None]

    __table_args__ = (Index("ix_drill_runs_state", "state", "claimed_until"),)


class OutboxMessage(Base):
    """A Slack call the bot owes, written in the same transaction as the state change."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    created_at: Mapped[datetime]
    # Calls with the same ordering key are sent in id order (one channel, one key).
    ordering_key: Mapped[str] = mapped_column(String(128))
    method: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id", ondelete="SET NULL"))
    state: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    not_before: Mapped[datetime]
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_until: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # Debounce: while a row with this key is pending, the same work is not queued twice.
    dedup_key: Mapped[str | None] = mapped_column(String(128), unique=True)

    __table_args__ = (
        Index("ix_outbox_pending", "state", "not_before"),
        Index("ix_outbox_ordering", "ordering_key", "id"),
    )


class EscalationDeadline(Base):
    """A clock step due at a time; claimed with FOR UPDATE SKIP LOCKED and fired once."""

    __tablename__ = "escalation_deadlines"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"))
    step: Mapped[str] = mapped_column(String(48))
    sequence: Mapped[int] = mapped_column(default=0)
    due_at: Mapped[datetime]
    fired_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    fired_by: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (
        UniqueConstraint("incident_id", "step", "sequence", name="uq_escalation_deadlines_step"),
        Index("ix_escalation_deadlines_due", "fired_at", "due_at"),
    )
