"""Status-page drafts: drafted from the incident, edited (a new version each time), approved
by the Incident Commander or the communications lead, published when Statuspage is set up.
Every step is on the incident's timeline; every version is kept. In a drill, drafting and
approving work as usual, but nothing is sent to Statuspage (see bot.core.drill)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from bot.core import drill
from bot.core.deadlines import human_duration
from bot.core.status_draft import (
    DraftFields,
    clipped,
    components_for,
    impact_for,
    may_approve,
    status_for,
)
from bot.core.timeline import EventKind, TimelineEntry
from bot.db.alerts import alert_labels_of
from bot.db.incidents import latest_status_updates, record, roles_of
from bot.db.models import Incident, StatusDraft
from bot.db.status_drafts import lock_draft, next_draft_version, statuspage_incident_of
from bot.errors import WarroomError
from bot.operations.backend_calls import call_backend
from bot.runtime.ports import StatusPagePorts

UPDATES_IN_DRAFT = 3


class DraftError(WarroomError):
    """Said to the person who pressed or typed; nothing was changed."""

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


@dataclass(frozen=True)
class Published:
    ok: bool
    detail: str  # the Statuspage incident id, or what went wrong
    drill: bool = False  # a drill's: marked published, nothing sent


def publishing(services: StatusPagePorts) -> bool:
    settings = services.settings.statuspage
    backend = services.backends.get(settings.backend).settings
    return bool(settings.page_id and backend.base_url)


async def is_drill(services: StatusPagePorts, incident_id: int) -> bool:
    async with services.db.begin() as session:
        incident = await session.get(Incident, incident_id)
        return incident is not None and incident.is_drill


async def new_draft(
    services: StatusPagePorts, incident_id: int, status: str | None, user: str, now: datetime
) -> StatusDraft:
    async with services.db.begin() as session:
        incident = await session.get(Incident, incident_id)
        if incident is None:
            raise DraftError(f"there is no incident #{incident_id}")
        roles = await roles_of(session, incident_id)
        fields = await _fields(session, services, incident, status, "commander" in roles)
        draft = await _add_version(session, incident_id, fields, user, now)
        await _note(
            session, draft, f"Status-page draft v{draft.version} ({fields.status})", user, now
        )
    return draft


async def _fields(
    session: AsyncSession,
    services: StatusPagePorts,
    incident: Incident,
    status: str | None,
    has_commander: bool,
) -> DraftFields:
    chosen = status or status_for(incident.state, has_commander)
    updates = await latest_status_updates(session, incident.id, UPDATES_IN_DRAFT)
    labels = await alert_labels_of(session, incident.id)
    tz = ZoneInfo(services.settings.timezone)
    policy = services.settings.escalation.get(incident.severity)
    every = policy.update_every if policy and policy.update_every else None
    body = services.templates.render_plain(
        "statuspage_draft.txt.j2",
        status=chosen,
        title=incident.title,
        resolution=incident.resolution or "",
        updates=list(reversed(updates)),
        started_at=f"{incident.created_at.astimezone(tz):%Y-%m-%d %H:%M %Z}",
        every=human_duration(every) if every else "the hour",
    )
    settings = services.settings.statuspage
    name, body = clipped(incident.title, body)
    return DraftFields(
        name=name,
        status=chosen,
        impact=impact_for(incident.severity, settings),
        body=body,
        components=components_for(labels, incident.severity, chosen, settings),
    )


async def _add_version(
    session: AsyncSession, incident_id: int, fields: DraftFields, user: str, now: datetime
) -> StatusDraft:
    draft = StatusDraft(
        incident_id=incident_id,
        version=await next_draft_version(session, incident_id),
        status=fields.status,
        impact=fields.impact,
        name=fields.name,
        body=fields.body,
        components=fields.components,
        state="draft",
        created_by=user,
        created_at=now,
    )
    session.add(draft)
    await session.flush()
    return draft


async def _note(
    session: AsyncSession, draft: StatusDraft, text: str, user: str, now: datetime
) -> None:
    await record(
        session,
        draft.incident_id,
        TimelineEntry(
            kind=EventKind.STATUS_DRAFT,
            occurred_at=now,
            actor=user,
            source="slack",
            text=text,
            data={
                "version": draft.version,
                "state": draft.state,
                "status": draft.status,
                "impact": draft.impact,
                "name": draft.name,
                "body": draft.body,
                "components": draft.components,
            },
        ),
        now,
    )


async def _open_draft(session: AsyncSession, draft_id: int) -> StatusDraft:
    draft = await lock_draft(session, draft_id)
    if draft is None:
        raise DraftError("that draft is no longer known — run /statuspage-draft again")
    if draft.state != "draft":
        raise DraftError(f"draft v{draft.version} is already {draft.state}")
    return draft


async def edit_draft(
    services: StatusPagePorts,
    draft_id: int,
    name: str,
    body: str,
    status: str,
    user: str,
    now: datetime,
) -> StatusDraft:
    """The edit becomes a new version; the old one is kept as superseded."""
    async with services.db.begin() as session:
        old = await _open_draft(session, draft_id)
        old.state = "superseded"
        name, body = clipped(name, body)
        if not name or not body:
            raise DraftError("a draft needs a name and a body")
        fields = DraftFields(name, status, old.impact, body, dict(old.components))
        draft = await _add_version(session, old.incident_id, fields, user, now)
        draft.message_channel, draft.message_ts = old.message_channel, old.message_ts
        await _note(session, draft, f"Status-page draft edited: v{draft.version}", user, now)
    return draft


async def settle_draft(
    services: StatusPagePorts, draft_id: int, approve: bool, user: str, now: datetime
) -> StatusDraft:
    """Approve (the commander or the communications lead only) or discard a draft."""
    async with services.db.begin() as session:
        draft = await _open_draft(session, draft_id)
        if approve and not may_approve(user, await roles_of(session, draft.incident_id)):
            raise DraftError(
                "only the Incident Commander or the communications lead may approve — "
                "take the role with `/incident ic` or `/incident role comms @you`"
            )
        draft.state = "approved" if approve else "discarded"
        draft.approved_by, draft.approved_at = user, now
        verb = "approved" if approve else "discarded"
        await _note(session, draft, f"Status-page draft v{draft.version} {verb}", user, now)
        incident = await session.get(Incident, draft.incident_id)
        if approve and incident and not drill.may_reach(incident.is_drill, drill.Outside.EMAIL):
            await _note(session, draft, drill.email("customers").timeline, user, now)
    return draft


async def publish(services: StatusPagePorts, draft: StatusDraft, now: datetime) -> Published:
    """Create the Statuspage incident, or update the one an earlier draft created. A
    drill's draft is marked published and noted, and nothing is sent."""
    settings = services.settings.statuspage
    async with services.db.begin() as session:
        earlier = await statuspage_incident_of(session, draft.incident_id)
        incident = await session.get(Incident, draft.incident_id)
        if incident and not drill.may_reach(incident.is_drill, drill.Outside.STATUS_PAGE):
            return await _drill_publish(session, draft, earlier is not None, now)
    payload = {
        "incident": {
            "name": draft.name,
            "status": draft.status,
            "impact_override": draft.impact,
            "body": draft.body,
            "components": draft.components,
            "component_ids": list(draft.components),
        }
    }
    path = "/pages/{page}/incidents" + ("/{incident}" if earlier else "")
    answer = await call_backend(
        services,
        settings.backend,
        "PATCH" if earlier else "POST",
        path,
        path_params={"page": settings.page_id, "incident": earlier or ""}
        if earlier
        else {"page": settings.page_id},
        json=payload,
        idempotency_key=f"warroom-status-draft-{draft.id}",
    )
    if answer.error is not None:
        detail = answer.error.message
    else:
        data = answer.data if isinstance(answer.data, dict) else {}
        detail = str(data.get("id") or earlier or "")[:64]
    async with services.db.begin() as session:
        stored = await session.get(StatusDraft, draft.id, populate_existing=True)
        if stored is not None and answer.error is None:
            stored.published_at, stored.statuspage_incident_id = now, detail or None
            await _note(
                session,
                stored,
                f"Published to the status page ({detail})",
                draft.approved_by or "",
                now,
            )
        elif stored is not None:
            await _note(
                session, stored, f"Publishing failed: {detail}", draft.approved_by or "", now
            )
    return Published(answer.error is None, detail)


async def _drill_publish(
    session: AsyncSession, draft: StatusDraft, updating: bool, now: datetime
) -> Published:
    withheld = drill.status_page(draft.version, updating)
    stored = await session.get(StatusDraft, draft.id, populate_existing=True)
    if stored is not None:
        stored.published_at = now
        await _note(session, stored, withheld.timeline, draft.approved_by or "", now)
    return Published(True, drill.PUBLISHED, drill=True)
