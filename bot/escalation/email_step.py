"""The copy-ready e-mail that goes with a team-lead, CTO or product-owner notice. In a
drill it is shown for practice, marked DRILL, and the timeline notes it was not sent."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.core import drill
from bot.core.deadlines import human_duration
from bot.core.slack_text import safe
from bot.core.timeline import EventKind, TimelineEntry
from bot.db.incidents import latest_status_updates, record
from bot.db.models import Incident
from bot.runtime.ports import EscalationPorts
from bot.slack import blocks


async def escalation_email_block(
    session: AsyncSession,
    services: EscalationPorts,
    incident: Incident,
    step_title: str,
    commander: str | None,
    now: datetime,
) -> blocks.Block:
    latest = next(iter(await latest_status_updates(session, incident.id, 1)), None)
    email = services.templates.render_plain(
        "escalation_email.txt.j2",
        incident_id=incident.id,
        severity=incident.severity,
        title=incident.title,
        step_title=step_title,
        open_for=human_duration(now - incident.created_at),
        state=incident.state,
        commander=commander or "not assigned yet",
        room=incident.channel_name or "(not open yet)",
        latest_update=latest or "none yet",
    )
    if drill.may_reach(incident.is_drill, drill.Outside.EMAIL):
        return blocks.section(f"*E-mail to send* (copy-ready):\n```{safe(email, 2800)}```")
    withheld = drill.email(step_title)
    await record(
        session,
        incident.id,
        TimelineEntry(
            EventKind.MESSAGE_POSTED, now, withheld.timeline, data={"drill": True, "to": step_title}
        ),
        now,
    )
    return blocks.section(
        f"{withheld.notice}\n*E-mail for practice* (do not send):\n```{safe(email, 2700)}```"
    )
