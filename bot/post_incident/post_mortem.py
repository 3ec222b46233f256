"""The post-mortem skeleton a resolved incident gets: pre-filled with its timeline, impact,
mitigations and clock breaches; the rest is left for people to write."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from bot.core.deadlines import human_duration
from bot.core.stats import MTTR_GOAL
from bot.core.timeline import EventKind
from bot.db.alerts import alert_labels_of
from bot.db.incidents import role_assignment, timeline
from bot.db.models import Incident, TimelineEvent
from bot.db.outbox import Job
from bot.exports import ExportFormat, export_bytes, export_filename
from bot.exports.slack_upload import UploadFailed, upload_file
from bot.outbox.worker import After, OpContext
from bot.runtime.ports import PostIncidentPorts
from bot.slack.gateway import SlackFailure

TIMELINE_LINES = 200
KEY_KINDS = {
    EventKind.DECLARED,
    EventKind.ALERT_FIRED,
    EventKind.ALERT_RESOLVED,
    EventKind.STATE_CHANGED,
    EventKind.ROLE_ASSIGNED,
    EventKind.SEVERITY_CHANGED,
    EventKind.STATUS_UPDATE,
    EventKind.NOTE,
    EventKind.PINNED,
    EventKind.CLOCK_STEP,
    EventKind.CLOCK_BREACH,
    EventKind.BACKEND_CALL,
    EventKind.STATUS_DRAFT,
    EventKind.TICKET,
    EventKind.PROMOTED,
    EventKind.GROUP_JOINED,
}
AFFECTED_LABELS = ("integration", "queue", "component", "service")
MITIGATING = {EventKind.STATUS_UPDATE, EventKind.NOTE, EventKind.BACKEND_CALL}


def _since(start: datetime, moment: datetime | None) -> str:
    return human_duration(moment - start) if moment is not None else "—"


async def post_mortem_text(services: PostIncidentPorts, incident_id: int) -> str | None:
    tz = ZoneInfo(services.settings.timezone)
    async with services.db.begin() as session:
        incident = await session.get(Incident, incident_id)
        if incident is None:
            return None
        commander = await role_assignment(session, incident_id, "commander")
        commander_at = commander.assigned_at if commander is not None else None
        labels = await alert_labels_of(session, incident_id)
        events = await timeline(session, incident_id)

    def at(moment: datetime | None) -> str:
        return f"{moment.astimezone(tz):%Y-%m-%d %H:%M}" if moment is not None else "—"

    def line(e: TimelineEvent) -> str:
        who = f" ({e.actor})" if e.actor else ""
        return f"{e.occurred_at.astimezone(tz):%H:%M} {e.text}{who}".replace("\n", " ")[:300]

    key = [e for e in events if e.kind in KEY_KINDS]
    start = incident.created_at
    affected = sorted({v for lab in labels for k, v in lab.items() if k in AFFECTED_LABELS})
    return services.templates.render_plain(
        "post_mortem.md.j2",
        incident_id=incident.id,
        title=incident.title,
        severity=incident.severity,
        priority="",
        started=at(start),
        declared_by=incident.declared_by or "an alert",
        resolved=at(incident.resolved_at),
        resolved_by=incident.resolved_by or "—",
        mtta=_since(start, incident.acknowledged_at),
        time_to_ic=_since(start, commander_at),
        mttr=_since(start, incident.resolved_at),
        goal=human_duration(MTTR_GOAL),
        resolution=incident.resolution or "TODO",
        affected=", ".join(affected) or "TODO",
        timezone=services.settings.timezone,
        timeline=[line(e) for e in key[:TIMELINE_LINES]],
        timeline_cut=max(len(key) - TIMELINE_LINES, 0),
        mitigations=[line(e) for e in key if e.kind in MITIGATING][:50],
        breaches=[line(e) for e in key if e.kind == EventKind.CLOCK_BREACH],
    )


async def share_resolution_files(ctx: OpContext, job: Job) -> After | None:
    """The outbox op queued on resolve: the timeline export and the post-mortem skeleton,
    uploaded to the room (a retry may upload them again; never zero times)."""
    services, incident_id = ctx.services, int(job.payload.get("incident_id", 0))
    async with services.db.begin() as session:
        incident = await session.get(Incident, incident_id)
        channel = incident.channel_id if incident else None
    skeleton = await post_mortem_text(services, incident_id)
    if channel is None or skeleton is None:
        return None
    try:
        timeline = await export_bytes(services.db.sessions, incident_id, "md", services.settings)
        await upload_file(
            ctx.slack,
            channel,
            export_filename(incident_id, ExportFormat.MD),
            f"Incident #{incident_id} timeline",
            timeline,
        )
        await upload_file(
            ctx.slack,
            channel,
            f"incident-{incident_id}-post-mortem.md",
            f"Incident #{incident_id} post-mortem (draft)",
            skeleton.encode(),
        )
    except UploadFailed as exc:
        raise SlackFailure(job.method, "upload_failed", status=503) from exc
    return None
