"""The copy-ready e-mail that goes with a team-lead, CTO or product-owner notice."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.deadlines import human_duration
from bot.core.slack_text import safe
from bot.db.incidents import latest_status_updates
from bot.db.models import Incident
from bot.services import Services
from bot.slack import blocks


async def escalation_email_block(
    session: AsyncSession,
    services: Services,
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
    return blocks.section(f"*E-mail to send* (copy-ready):\n```{safe(email, 2800)}```")
