"""Clock precision: 1,000 open incidents, staggered deadlines, three processes, one PostgreSQL.

A fresh PostgreSQL database gets 1,000 open critical incidents (no war room, so nothing is
posted to Slack) inserted directly, each with a `dr_plan` deadline and every other one a
`team_lead` deadline too (1,500 steps, each fires once and never repeats). The dr_plan due
times are staggered evenly over 30 s, starting 2 s after the rows are written; each
team_lead is due 7.5 s after its incident's dr_plan, so the last step is due at ~37.5 s.
Three separate OS processes (`python -c`), each with its own engine and Services, call
`bot.escalation.ticker.clock_tick` every 1 s (the app ticks every 2 s) until no step is left
or 70 s have passed.

Measured from the database afterwards: lateness = fired_at - due_at of every fired step
(fired_at is the tick's `now`, read before it claims rows), and lateness until the tick's
transaction had committed (the process's wall clock when clock_tick returned); duplicates
(more than one `clock.step` timeline event, or more than one DR-channel post queued, for the
same incident and step); misses (steps still neither fired nor cancelled at the end); how
the fired steps spread over the three processes (fired_by). The reference for lateness is
the tick interval (1 s); duplicates and misses aim at 0, so their reference is printed as 1
just to give a ratio. Aim: p99 < 5 s, 0 duplicates, 0 misses.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text

from bench.figures import Figure, percentile
from bench.support import LogTally, pg_database, tally_logs
from bot.config.settings import Settings
from bot.core.escalation import Step
from bot.core.timeline import EventKind
from bot.db.engine import create_engine, session_factory
from bot.db.models import EscalationDeadline, Incident, OutboxMessage, TimelineEvent
from bot.db.unit_of_work import UnitOfWork
from bot.infra.metrics import Metrics
from bot.infra.templates import Templates
from bot.infra.time_source import SystemClock
from bot.runtime.services import Services
from bot.slack.gateway import SlackGateway, make_web_client

INCIDENTS = 1000
SPREAD = 30.0  # seconds over which the dr_plan due times are staggered
TEAM_LEAD_AFTER = 7.5  # every other incident: team_lead this long after its dr_plan
LEAD = 2.0  # the first step is due this long after the rows are written
PROCESSES = 3
INTERVAL = 1.0  # seconds between one process's ticks (the app: 2 s)
BOUND = 70.0  # a process stops ticking after this long, done or not
READY_WITHIN = 60.0
AIM_P99_MS = 5000.0
UNUSED_SLACK = "http://127.0.0.1:9/api/"  # never called: the incidents have no room
RESULT = "RESULT "
ROOT = Path(__file__).resolve().parent.parent
log = logging.getLogger("bench.clock")


# --- one ticking process ---------------------------------------------------------------


class RecordingClock(SystemClock):
    """The system clock, remembering the last `now` handed out (the tick's `now`)."""

    last: datetime | None = None

    def now(self) -> datetime:
        self.last = super().now()
        return self.last


async def _left(services: Services) -> tuple[int, int]:
    """(steps planned, steps neither fired nor cancelled)."""
    async with services.db.sessions() as session:
        planned = await session.scalar(select(func.count()).select_from(EscalationDeadline))
        open_ = await session.scalar(
            select(func.count())
            .select_from(EscalationDeadline)
            .where(EscalationDeadline.fired_at.is_(None), EscalationDeadline.cancelled_at.is_(None))
        )
    return int(planned or 0), int(open_ or 0)


async def _tick_until_done(url: str, bound: float) -> dict[str, Any]:
    from bot.escalation.ticker import WORKER, clock_tick

    tally = LogTally()
    logging.getLogger().addHandler(tally)
    engine = create_engine(url)
    settings = Settings()
    clock = RecordingClock()
    services = Services(
        settings=settings,
        db=UnitOfWork(session_factory(engine)),
        slack=SlackGateway(make_web_client("xoxb-bench-unused", UNUSED_SLACK)),
        templates=Templates(settings.templates_dir),
        clock=clock,
        metrics=Metrics(),
    )
    ticks: list[tuple[str, str, int]] = []  # (the tick's now, when it returned, handled)
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        print("ready", flush=True)
        started = time.monotonic()
        while time.monotonic() - started < bound:
            clock.last = None
            try:
                handled = await clock_tick(services)
            except Exception:
                log.exception("clock_tick raised")
                handled = -1
            ended = datetime.now(UTC)
            if clock.last is not None:
                ticks.append((clock.last.isoformat(), ended.isoformat(), handled))
            planned, open_ = await _left(services)
            if planned and not open_:
                break
            # APScheduler-like: the next slot on this process's 1 s grid (overruns skip slots).
            slots = int((time.monotonic() - started) / INTERVAL) + 1
            await asyncio.sleep(max(0.0, started + slots * INTERVAL - time.monotonic()))
    finally:
        await engine.dispose()
        logging.getLogger().removeHandler(tally)
    return {
        "worker": WORKER,
        "ticks": ticks,
        "log": dict(tally.seen),
        "tracebacks": tally.tracebacks,
    }


def tick_process(url: str, bound: float) -> None:
    """Entry point of a child process: tick, then print the result as one JSON line."""
    report = asyncio.run(_tick_until_done(url, bound))
    print(RESULT + json.dumps(report), flush=True)


# --- the parent ------------------------------------------------------------------------


@dataclass
class Child:
    proc: asyncio.subprocess.Process
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    report: dict[str, Any] | None = None
    stderr: str = ""


async def _follow(child: Child) -> None:
    assert child.proc.stdout is not None and child.proc.stderr is not None

    async def out() -> None:
        assert child.proc.stdout is not None
        async for raw in child.proc.stdout:
            line = raw.decode(errors="replace").strip()
            if line == "ready":
                child.ready.set()
            elif line.startswith(RESULT):
                child.report = json.loads(line[len(RESULT) :])

    async def err() -> None:
        assert child.proc.stderr is not None
        child.stderr = (await child.proc.stderr.read()).decode(errors="replace")

    await asyncio.gather(out(), err())
    await child.proc.wait()


async def _spawn(url: str) -> Child:
    code = (
        "import sys; from bench.bench_clock import tick_process; "
        "tick_process(sys.argv[1], float(sys.argv[2]))"
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        code,
        url,
        str(BOUND),
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    return Child(proc)


async def _plan(url: str) -> tuple[datetime, datetime]:
    """Insert the incidents, then their deadlines; (first due, last due)."""
    engine = create_engine(url)
    sessions = session_factory(engine)
    try:
        now = datetime.now(UTC)
        async with sessions.begin() as session:
            incidents = [
                Incident(
                    title=f"svc-clock-{i:04d}: error rate above threshold",
                    severity="critical",
                    state="triggered",
                    created_at=now,
                    updated_at=now,
                    group_key=f"bench-clock-{i:04d}",
                )
                for i in range(INCIDENTS)
            ]
            session.add_all(incidents)
            await session.flush()
            ids = [incident.id for incident in incidents]
        base = datetime.now(UTC) + timedelta(seconds=LEAD)
        dues: list[datetime] = []
        async with sessions.begin() as session:
            for i, incident_id in enumerate(ids):
                dr_due = base + timedelta(seconds=SPREAD * i / INCIDENTS)
                planned = [(Step.DR_PLAN, dr_due)]
                if i % 2:
                    planned.append((Step.TEAM_LEAD, dr_due + timedelta(seconds=TEAM_LEAD_AFTER)))
                for step, due_at in planned:
                    session.add(
                        EscalationDeadline(
                            incident_id=incident_id, step=step.value, sequence=0, due_at=due_at
                        )
                    )
                    dues.append(due_at)
        return min(dues), max(dues)
    finally:
        await engine.dispose()


@dataclass(frozen=True)
class Outcome:
    planned: int
    fired: list[tuple[int, str, datetime, datetime, str]]  # incident, step, due, fired, by
    cancelled: int
    missed: int
    step_events: Counter[tuple[int, str]]
    dr_posts: Counter[int]
    fired_rows: Counter[tuple[int, str]]


async def _outcome(url: str, settings: Settings) -> Outcome:
    engine = create_engine(url)
    dr_channel = f"#{settings.slack.announce_channel.lstrip('#')}"
    try:
        async with engine.connect() as conn:
            deadlines = (
                await conn.execute(
                    select(
                        EscalationDeadline.incident_id,
                        EscalationDeadline.step,
                        EscalationDeadline.due_at,
                        EscalationDeadline.fired_at,
                        EscalationDeadline.cancelled_at,
                        EscalationDeadline.fired_by,
                    )
                )
            ).all()
            events = (
                await conn.execute(
                    select(TimelineEvent.incident_id, TimelineEvent.data).where(
                        TimelineEvent.kind == EventKind.CLOCK_STEP.value
                    )
                )
            ).all()
            posts = (
                await conn.execute(
                    select(OutboxMessage.incident_id, OutboxMessage.payload).where(
                        OutboxMessage.method == "chat.postMessage"
                    )
                )
            ).all()
    finally:
        await engine.dispose()
    fired = [
        (r.incident_id, r.step, r.due_at, r.fired_at, r.fired_by or "?")
        for r in deadlines
        if r.fired_at is not None
    ]
    return Outcome(
        planned=len(deadlines),
        fired=fired,
        cancelled=sum(1 for r in deadlines if r.cancelled_at is not None),
        missed=sum(1 for r in deadlines if r.fired_at is None and r.cancelled_at is None),
        step_events=Counter((e.incident_id, str(e.data.get("step"))) for e in events),
        dr_posts=Counter(
            p.incident_id for p in posts if p.payload.get("channel") == dr_channel and p.incident_id
        ),
        fired_rows=Counter((incident, step) for incident, step, *_ in fired),
    )


def _extra(counts: Counter[Any]) -> int:
    return sum(n - 1 for n in counts.values() if n > 1)


async def run() -> list[Figure]:
    started = time.perf_counter()
    async with pg_database() as url:
        if url is None:
            return []
        async with tally_logs():
            children = [await _spawn(url) for _ in range(PROCESSES)]
            followers = [asyncio.create_task(_follow(c)) for c in children]
            try:
                try:
                    await asyncio.wait_for(
                        asyncio.gather(*(c.ready.wait() for c in children)), READY_WITHIN
                    )
                except TimeoutError:
                    for c in children:
                        print(f"  child {c.proc.pid} stderr:\n{c.stderr[-2000:]}")
                    raise AssertionError(f"the {PROCESSES} processes not ready in time") from None
                spawned = time.perf_counter() - started
                first_due, last_due = await _plan(url)
                planned_at = time.perf_counter()
                await asyncio.wait_for(asyncio.gather(*followers), BOUND + 30.0)
                ticking = time.perf_counter() - planned_at
            finally:
                for c in children:
                    if c.proc.returncode is None:
                        c.proc.kill()
                        with contextlib.suppress(ProcessLookupError):
                            await c.proc.wait()
            outcome = await _outcome(url, Settings())
    seconds = time.perf_counter() - started

    # Per process: its ticks, and when each tick's transaction had committed.
    committed: dict[tuple[str, datetime], datetime] = {}
    tick_ms: list[float] = []
    child_log: Counter[str] = Counter()
    phases: dict[str, int] = {}
    for c in children:
        if c.stderr.strip():
            print(f"  process {c.proc.pid} stderr (tail):\n    " + c.stderr[-1500:].strip())
        if c.report is None:
            print(f"  process {c.proc.pid} reported nothing (exit {c.proc.returncode})")
            continue
        if c.report["ticks"]:
            first = datetime.fromisoformat(c.report["ticks"][0][0]).timestamp()
            phases[c.report["worker"]] = round(first % INTERVAL * 1000)
        for now_iso, ended_iso, _handled in c.report["ticks"]:
            now, ended = datetime.fromisoformat(now_iso), datetime.fromisoformat(ended_iso)
            committed[(c.report["worker"], now)] = ended
            tick_ms.append((ended - now).total_seconds() * 1000)
        child_log.update(c.report["log"])
        for trace in c.report["tracebacks"]:
            print("  process traceback:\n    " + trace.replace("\n", "\n    "))
    for line, count in child_log.most_common(12):
        print(f"  process log x{count}: {line}")
    if not child_log:
        print("  process logs: no warnings or errors")

    late_ms = [(f - d).total_seconds() * 1000 for _, _, d, f, _ in outcome.fired]
    commit_ms = [
        (committed[(by, f)] - d).total_seconds() * 1000
        for _, _, d, f, by in outcome.fired
        if (by, f) in committed
    ]
    by_worker = Counter(by for *_, by in outcome.fired)
    duplicates = _extra(outcome.step_events)
    dr_duplicates = _extra(outcome.dr_posts)
    row_duplicates = _extra(outcome.fired_rows)
    fired_steps = Counter(step for _, step, *_ in outcome.fired)
    share = 100.0 * max(by_worker.values()) / len(outcome.fired) if outcome.fired else 0.0
    early = sum(1 for v in late_ms if v < 0)

    print(
        f"  {INCIDENTS} incidents, {outcome.planned} steps due "
        f"{first_due:%H:%M:%S.%f}..{last_due:%H:%M:%S.%f} UTC; {PROCESSES} processes ready in "
        f"{spawned:.1f}s, ticking took {ticking:.1f}s; whole run {seconds:.1f}s"
    )
    print(
        f"  fired {len(outcome.fired)} ({dict(sorted(fired_steps.items()))}), "
        f"cancelled {outcome.cancelled}, missed {outcome.missed}, fired early {early}"
    )
    print(f"  fired by process: {dict(sorted(by_worker.items()))}")
    print(f"  each process's tick phase within its 1 s grid, ms: {dict(sorted(phases.items()))}")
    if late_ms:
        print(
            f"  lateness to the tick's now ms: p50 {percentile(late_ms, 0.5):.0f} "
            f"p99 {percentile(late_ms, 0.99):.0f} max {max(late_ms):.0f}"
        )
    if commit_ms:
        print(
            f"  lateness to commit ms ({len(commit_ms)} of {len(outcome.fired)} matched to "
            f"their tick): p50 {percentile(commit_ms, 0.5):.0f} "
            f"p99 {percentile(commit_ms, 0.99):.0f} max {max(commit_ms):.0f}"
        )
    if tick_ms:
        print(
            f"  {len(tick_ms)} ticks, duration ms: p50 {percentile(tick_ms, 0.5):.0f} "
            f"p99 {percentile(tick_ms, 0.99):.0f} max {max(tick_ms):.0f}"
        )
    print(
        f"  duplicates: clock.step events {duplicates}, DR-channel posts queued "
        f"{dr_duplicates} ({sum(outcome.dr_posts.values())} for "
        f"{fired_steps.get(Step.DR_PLAN.value, 0)} DR plans), fired rows {row_duplicates}"
    )
    p99 = percentile(late_ms, 0.99) if late_ms else float("inf")
    met = p99 < AIM_P99_MS and not (duplicates or dr_duplicates or row_duplicates or outcome.missed)
    print(
        f"  aim p99 < {AIM_P99_MS / 1000:.0f} s, 0 duplicates, 0 misses: "
        f"{'met' if met else 'MISSED'} (p99 {p99:.0f} ms)"
    )
    interval_ms = INTERVAL * 1000
    figures = (
        [
            Figure("lateness p50", percentile(late_ms, 0.5), "ms", "tick interval", interval_ms),
            Figure("lateness p99 (aim < 5 s)", p99, "ms", "tick interval", interval_ms),
            Figure("lateness max", max(late_ms), "ms", "tick interval", interval_ms),
        ]
        if late_ms
        else []
    )
    if commit_ms:
        figures.append(
            Figure(
                "lateness until committed p99",
                percentile(commit_ms, 0.99),
                "ms",
                "tick interval",
                interval_ms,
            )
        )
    return [
        *figures,
        Figure(
            "duplicate clock.step events (aim 0)",
            duplicates,
            "steps",
            "one (aim is 0)",
            1,
        ),
        Figure(
            "duplicate DR-channel posts queued (aim 0)",
            dr_duplicates,
            "posts",
            "one (aim is 0)",
            1,
        ),
        Figure("missed steps (aim 0)", outcome.missed, "steps", "one (aim is 0)", 1),
        Figure("fired steps", len(outcome.fired), "steps", "steps planned", outcome.planned),
        Figure(
            f"largest share of one of {PROCESSES} processes",
            share,
            "%",
            "even split",
            100.0 / PROCESSES,
        ),
    ]
