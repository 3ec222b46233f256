"""`warroom drill SCENARIO`: the whole bot in-process, one scenario played into a DRILL room,
progress lines as it goes, the report on stdout at the end."""

from __future__ import annotations

import argparse
import asyncio
import math
import signal
import socket
import sys
import time
from collections.abc import Callable
from pathlib import Path

from aiohttp import web

from bot.cli.serve import prepare_database
from bot.config.settings import RuntimeConfig
from bot.db.errors import DATABASE_UNAVAILABLE
from bot.db.outbox import due_for_incident
from bot.drill.catalog import resolve_scenario
from bot.drill.player import DrillPlayer, DrillResult
from bot.drill.report import offset_text
from bot.drill.scenario import Scenario, ScenarioError
from bot.infra.logs import configure_logging
from bot.infra.time_source import Clock, ScaledClock, SystemClock
from bot.runtime.services import Services
from bot.sandbox.embedded import prepare_sandbox
from bot.sandbox.workspace import default_workspace
from bot.web.app import create_app
from bot.web.keys import SERVICES

MAX_SPEED = 3600.0
DRAIN_SECONDS = 15.0  # for the room's last messages (the report) to reach Slack


def load_or_explain(ref: str, runtime: RuntimeConfig) -> Scenario | None:
    try:
        return resolve_scenario(ref, runtime.settings.alerts, runtime.settings.drills_dir)
    except ScenarioError as exc:
        print(f"warroom: the scenario has {len(exc.problems)} problem(s):", file=sys.stderr)
        for problem in exc.problems:
            print(f"  - {problem}", file=sys.stderr)
        return None


def run_drill(runtime: RuntimeConfig, args: argparse.Namespace) -> int:
    scenario = load_or_explain(args.scenario, runtime)
    if scenario is None:
        return 1
    speed = float(args.speed)
    if not (math.isfinite(speed) and 0 < speed <= MAX_SPEED):
        print(f"warroom: --speed must be above 0 and at most {MAX_SPEED:g}", file=sys.stderr)
        return 1

    configure_logging([runtime.secrets.slack_bot_token, runtime.secrets.alert_token], "WARNING")
    try:
        sock = _bind(args.port or 0)
    except OSError as exc:
        print(f"warroom: cannot listen on 127.0.0.1:{args.port}: {exc.strerror}", file=sys.stderr)
        return 1
    if not asyncio.run(prepare_database(runtime)):
        sock.close()
        return 1
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    clock: Clock = SystemClock() if speed == 1 else ScaledClock(speed)
    app = _app(runtime, url, clock)
    print(f"warroom drill: {scenario.name} — {scenario.title}", flush=True)
    print(f"  runbook: {scenario.runbook}; ends at {offset_text(scenario.duration)}", flush=True)
    if speed != 1:
        print(f"  speed: {speed:g}x (the escalation clock too)", flush=True)
    if runtime.sandbox and args.port:
        print(f"  join the drill room: open {url}/sandbox", flush=True)
    try:
        result = asyncio.run(_drive(app, sock, scenario, speed))
    except KeyboardInterrupt:
        print("warroom drill: interrupted", file=sys.stderr)
        return 130
    except DATABASE_UNAVAILABLE as exc:
        print(f"warroom drill: stopped: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    return _print_result(result, args.report)


def _bind(port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(128)
    sock.setblocking(False)
    return sock


def _app(runtime: RuntimeConfig, url: str, clock: Clock) -> web.Application:

    if not runtime.sandbox:
        return create_app(runtime, clock=clock)

    workspace = default_workspace(time.time())
    runtime = prepare_sandbox(runtime, workspace, url)
    return create_app(runtime, clock=clock, sandbox_workspace=workspace)


async def _drive(
    app: web.Application, sock: socket.socket, scenario: Scenario, speed: float
) -> DrillResult:

    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        await web.SockSite(runner, sock).start()
        services = app[SERVICES]
        player = DrillPlayer(
            services,
            scenario,
            progress=lambda line: print(line, flush=True),
            tick_clock=speed != 1,
        )
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):  # end early, still with the report
            loop.add_signal_handler(signum, _stopper(player, signum))
        try:
            result = await player.play()
        finally:
            for signum in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(signum)
        await _drained(services, result.incident_id)
        return result
    finally:
        await runner.cleanup()


def _stopper(player: DrillPlayer, signum: int) -> Callable[[], None]:
    def stop() -> None:
        if player.stopped:  # a second Ctrl-C: stop waiting for the report too
            raise KeyboardInterrupt
        name = signal.Signals(signum).name
        print(f"warroom drill: {name}: ending now, with the report", file=sys.stderr, flush=True)
        player.stop()

    return stop


async def _drained(services: Services, incident_id: int | None) -> None:
    """Wait (a while) for the drill room's queued messages, the report among them."""

    if incident_id is None:
        return
    deadline = time.monotonic() + DRAIN_SECONDS
    while time.monotonic() < deadline:
        async with services.db.read() as session:
            pending = await due_for_incident(session, incident_id, services.clock.now())
        if not pending:
            return
        services.db.wake_outbox()
        await asyncio.sleep(0.1)


def _print_result(result: DrillResult, report_path: str | None) -> int:
    print("", flush=True)
    print(result.markdown, flush=True)
    print(f"warroom drill: {result.export}", flush=True)
    if report_path:
        try:
            Path(report_path).write_text(result.markdown, encoding="utf-8")
        except OSError as exc:
            print(f"warroom: cannot write {report_path}: {exc.strerror}", file=sys.stderr)
            return 1
        print(f"warroom drill: report written to {report_path}", flush=True)
    return 0
