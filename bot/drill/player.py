"""Play a scenario: each step at its offset on the app's clock, alerts through the intake's
parsers and the alert pipeline (marked as this drill run's), facilitator injects in the room;
then the report and the timeline export in the drill room.

The clock is the app's: a `SystemClock` plays in real time, a `ScaledClock` faster (the
escalation clock runs just as fast), a `ManualClock` when a test moves it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from bot.alerts.pipeline import ingest
from bot.core.alerts import AlertPayloadError
from bot.core.drill_keys import DrillMark, mark_alert, new_mark
from bot.core.slack_text import safe
from bot.core.timeline import EventKind, TimelineEntry
from bot.db.alert_groups import OPEN_STATES
from bot.db.deadlines import cancel_clock
from bot.db.drill_runs import LEASE, end_run, record_progress
from bot.db.incidents import events_after, incident_state, record, timeline
from bot.db.models import Incident, TimelineEvent
from bot.drill.progress import describe
from bot.drill.report import DrillReport, IncidentSummary, build_report, offset_text
from bot.drill.report_render import render_blocks, render_markdown
from bot.drill.scenario import AlertStep, SayStep, Scenario, Step
from bot.drill.scenario_alerts import parse_alert
from bot.escalation.ticker import clock_tick
from bot.exports import ExportError
from bot.exports.slack_upload import share_export
from bot.infra.time_source import speed_of
from bot.outbox.requests import request_room_message
from bot.runtime.ports import DrillPorts
from bot.war_room.opening import wait_for_room

log = logging.getLogger(__name__)
Progress = Callable[[str], None]
ROOM_WAIT_SECONDS = 15.0


@dataclass(frozen=True)
class DrillResult:
    report: DrillReport
    markdown: str
    incident_id: int | None
    export: str  # where the export went, or why it did not


@dataclass
class RunLease:
    """The `drill_runs` row of a drill started from Slack: this player keeps its lease and
    notes its progress, so another replica can play on if this one stops."""

    run_id: int
    replica: str
    kept_at: datetime | None = None


class HandedOn(Exception):
    """Another replica plays this run now (this one held it up past its lease)."""


@dataclass
class _Seen:
    last_event_id: int = 0
    resolved: bool = False
    lines: list[str] = field(default_factory=list)


class DrillPlayer:
    def __init__(
        self,
        services: DrillPorts,
        scenario: Scenario,
        *,
        invitees: tuple[str, ...] = (),
        progress: Progress | None = None,
        poll: float = 0.25,
        tick_clock: bool = False,
        mark: DrillMark | None = None,
        run: RunLease | None = None,
        started_at: datetime | None = None,
        steps_done: int = 0,
        incident_id: int | None = None,
    ) -> None:
        """`started_at`, `steps_done`, `incident_id`: where a resumed run got to."""
        self.services = services
        self.scenario = scenario
        self.mark = mark or new_mark(scenario.name, invitees)
        self.progress = progress or (lambda _line: None)
        self.poll = poll
        self.tick_clock = tick_clock  # also tick the escalation clock at each poll
        self.incident_id = incident_id
        self.started_at = started_at
        self.steps_done = steps_done
        self.run = run
        self.stopped = False
        self._seen = _Seen()
        self._waiting: list[SayStep] = []

    def stop(self) -> None:
        """End the drill now (Ctrl-C, SIGTERM): the report is still made and posted."""
        self.stopped = True

    async def play(self) -> DrillResult:
        clock = self.services.clock
        resumed = self.started_at is not None
        started = self.started_at = self.started_at or clock.now()
        ends = offset_text(self.scenario.duration)
        self._say(f"drill started: {self.scenario.title} ({len(self.scenario.steps)} steps, "
                  f"ends at {ends} unless resolved earlier)")  # fmt: skip
        if resumed:
            await self._resumed()
        for index, step in enumerate(self.scenario.steps):
            if index < self.steps_done:
                continue
            await self._until(started + step.at)
            if self._seen.resolved or self.stopped:
                break
            await self._do(step)
            # Injects still waiting for the room count as not done: a replica playing on
            # says them again.
            self.steps_done = index + 1 if not self._waiting else self.steps_done
            await self._keep(force=True)
        await self._until(started + self.scenario.duration)
        return await self.finish()

    # --- the lease (a drill started from Slack) ---------------------------------------------

    async def _keep(self, *, force: bool = False) -> None:
        """Renew the run's lease (a third of it at a time) with the progress so far."""
        run, now = self.run, self.services.clock.now()
        if run is None or (not force and run.kept_at and now - run.kept_at < LEASE / 3):
            return
        async with self.services.db.begin() as session:
            mine = await record_progress(
                session,
                run.run_id,
                run.replica,
                now,
                steps_done=self.steps_done,
                incident_id=self.incident_id,
            )
        if not mine:
            raise HandedOn(self.mark.key)
        run.kept_at = now

    async def _resumed(self) -> None:
        done, total = self.steps_done, len(self.scenario.steps)
        self._say(f"drill resumed here: {done} of {total} steps were played")
        if self.incident_id is None:
            return
        now = self.services.clock.now()
        text = (
            f":construction: *DRILL* — the replica playing this drill stopped; another one "
            f"plays on ({done} of {total} steps done)."
        )
        async with self.services.db.begin() as session:
            incident = await session.get(Incident, self.incident_id)
            if incident is not None:
                await request_room_message(session, incident, text, now)
                await record(session, incident.id, _drill_entry(text, now), now)

    # --- time ---------------------------------------------------------------------------

    async def _until(self, when: datetime) -> None:
        """Wait for `when` on the clock, watching the incident; early if it is resolved."""
        clock = self.services.clock
        while True:
            await self._watch()
            await self._keep()
            now = clock.now()
            if self._seen.resolved or self.stopped or now >= when:
                return
            if self.tick_clock:
                await clock_tick(self.services)
            speed = speed_of(clock)
            wait = self.poll
            if speed is not None:
                wait = min(wait, (when - now).total_seconds() / speed)
            await asyncio.sleep(max(wait, 0.005))

    def _offset(self, when: datetime) -> str:
        return offset_text(when - (self.started_at or when))

    def _say(self, line: str, when: datetime | None = None) -> None:
        when = when or self.services.clock.now()
        shown = "".join(ch if ch.isprintable() else " " for ch in line)  # no terminal escapes
        self.progress(f"{self._offset(when)} {shown}")

    # --- steps --------------------------------------------------------------------------

    async def _do(self, step: Step) -> None:
        if isinstance(step, AlertStep):
            await self._alert(step)
        elif isinstance(step, SayStep):
            await self._facilitate(step)

    async def _alert(self, step: AlertStep) -> None:
        services, now = self.services, self.services.clock.now()
        try:
            alerts = parse_alert(step.source, step.payload, services.settings.alerts, now)
        except AlertPayloadError as exc:  # the config's alert settings differ from the check
            self._say(f"alert skipped: {exc}")
            return
        marked = [mark_alert(a, self.mark, now) for a in alerts]
        async with services.db.begin() as session:
            ingested = await ingest(session, marked, services.settings, now, drill=self.mark)
        opened = next((g.incident_id for g in ingested.groups if g.incident_id), None)
        if self.incident_id is None and opened is not None:
            self.incident_id = opened
            self._say(f"drill incident #{opened} opened; its room is being created", now)
            for early in self._waiting:  # injects said before the room existed
                await self._post_inject(early)
            self._waiting.clear()

    async def _facilitate(self, step: SayStep) -> None:
        self._say(f"facilitator: {step.text}")
        if self.incident_id is None:
            self._say("(no drill room yet: posted there when it opens)")
            self._waiting.append(step)
            return
        await self._post_inject(step)

    async def _post_inject(self, step: SayStep) -> None:
        services, now = self.services, self.services.clock.now()
        text = f":performing_arts: *DRILL — facilitator:* {safe(step.text)}"
        async with services.db.begin() as session:
            incident = await session.get(Incident, self.incident_id)
            if incident is None:
                return
            await request_room_message(session, incident, text, now)
            await record(session, incident.id, _drill_entry(f"Facilitator: {step.text}", now), now)

    async def _watch(self) -> None:
        """Print what happened in the drill incident since the last look."""
        if self.incident_id is None:
            return
        async with self.services.db.read() as session:
            state = await incident_state(session, self.incident_id)
            rows = await events_after(session, self.incident_id, self._seen.last_event_id)
        for row in rows:
            self._seen.last_event_id = max(self._seen.last_event_id, row.id)
            line = describe(row.kind, row.text, row.actor, row.data or {})
            if line:
                self._say(line, row.occurred_at)
        self._seen.resolved = state in ("resolved", "closed")

    # --- the end ------------------------------------------------------------------------

    async def finish(self) -> DrillResult:
        services = self.services
        ended = services.clock.now()
        await self._watch()
        why = "incident resolved" if self._seen.resolved else "time is up"
        self._say("drill over: " + ("stopped early" if self.stopped else why))
        report = await self._report(ended)
        markdown = render_markdown(report)
        export = "no drill room: nothing uploaded"
        if self.incident_id is not None:
            export = await self._post(report, ended)
        if self.run is not None:
            async with services.db.begin() as session:
                await end_run(session, self.run.run_id)
        return DrillResult(report, markdown, self.incident_id, export)

    async def _post(self, report: DrillReport, ended: datetime) -> str:
        services, incident_id = self.services, self.incident_id
        assert incident_id is not None
        text, found = render_blocks(report)
        async with services.db.begin() as session:
            incident = await session.get(Incident, incident_id)
            if incident is None:
                return "the drill incident is gone: nothing uploaded"
            if incident.state in OPEN_STATES:  # over: no more nagging (a resolved one has
                await cancel_clock(session, incident_id, ended)  # only its archive step left)
            await request_room_message(session, incident, text, ended, found)
            summary = f"Drill ended: {report.breaches} breach(es); report posted"
            await record(session, incident_id, _drill_entry(summary, ended), ended)
        room = await wait_for_room(services, incident_id, ROOM_WAIT_SECONDS)
        if room is None:
            return "the drill room was not created: export not uploaded"
        try:
            return await share_export(services, incident_id, "md", room)
        except ExportError as exc:
            log.warning("drill export not uploaded", extra={"error": str(exc)})
            return f"export not uploaded: {exc}"

    async def _report(self, ended: datetime) -> DrillReport:
        assert self.started_at is not None
        incident_summary: IncidentSummary | None = None
        events: list[TimelineEntry] = []
        if self.incident_id is not None:
            async with self.services.db.begin() as session:
                incident = await session.get(Incident, self.incident_id, populate_existing=True)
                rows = await timeline(session, self.incident_id)
            if incident is not None:
                incident_summary = IncidentSummary(
                    id=incident.id,
                    title=incident.title,
                    severity=incident.severity,
                    opened_at=incident.created_at,
                    state=incident.state,
                    room=incident.channel_name,
                )
            events = [e for e in (_entry_of(r) for r in rows) if e is not None]
        return build_report(
            scenario=self.scenario.name,
            title=self.scenario.title,
            runbook=self.scenario.runbook,
            started_at=self.started_at,
            ended_at=ended,
            incident=incident_summary,
            events=events,
            policies=self.services.settings.escalation,
            stopped=self.stopped and not self._seen.resolved,
        )


def _drill_entry(text: str, now: datetime) -> TimelineEntry:
    return TimelineEntry(kind=EventKind.MESSAGE_POSTED, occurred_at=now, source="drill", text=text)


def _entry_of(row: TimelineEvent) -> TimelineEntry | None:
    try:
        kind = EventKind(row.kind)
    except ValueError:
        return None
    return TimelineEntry(
        kind=kind,
        occurred_at=row.occurred_at,
        text=row.text,
        actor=row.actor,
        source=row.source,
        data=dict(row.data or {}),
    )
