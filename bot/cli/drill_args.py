"""`warroom drill`'s arguments and help, apart from the runner so that building the parser
(`warroom --help`, check-config, migrate) does not import the whole app."""

from __future__ import annotations

import argparse

from bot.drill.catalog import shipped_paths
from bot.drill.report import offset_text
from bot.drill.scenario import ScenarioError, load_scenario

DESCRIPTION = """\
Replay a recorded incident scenario as a drill. The bot runs in this process (database,
outbox, scheduler; the built-in Slack sandbox when SLACK_BOT_TOKEN is not set). The
scenario's alerts go through the alert pipeline into a room marked DRILL, at their offsets,
with the real escalation policy; nothing reaches the real backends, tickets, e-mail or the
status page, and nothing is announced outside the drill room. The drill ends at the
scenario's duration, or earlier when the incident is resolved. Then the report (who
acknowledged when against the policy, steps that breached, alerts, commands) is printed,
written to --report, posted in the drill room with the timeline export.

SCENARIO is a scenario file (YAML, format in docs/drill.md) or the name of a shipped one.
A bad scenario file exits 1 listing every problem, each with where it is and how to fix it.

Shipped scenarios:
{names}

Examples:
  warroom drill mawaqit-down --config examples/funeral-platform.yaml
  warroom drill my-scenario.yaml --speed 10 --report drill-report.md
  warroom drill dj-queue-backlog --port 8080   # then open http://127.0.0.1:8080/sandbox"""


def add_drill_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser], epilog: str) -> None:
    drill = sub.add_parser(
        "drill",
        help="replay a recorded incident scenario as a drill and print its report",
        description=DESCRIPTION.format(names=_shipped_help()),
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    drill.add_argument("scenario", metavar="SCENARIO", help="scenario file or shipped name")
    drill.add_argument("--config", metavar="FILE", help="YAML config (default: $WARROOM_CONFIG)")
    drill.add_argument(
        "--speed",
        type=float,
        default=1.0,
        metavar="FACTOR",
        help="run N times faster, the escalation clock too (default 1: real time)",
    )
    drill.add_argument(
        "--port",
        type=int,
        help="also serve HTTP on this port (127.0.0.1), e.g. to open /sandbox and join the "
        "drill room (default: an ephemeral loopback port)",
    )
    drill.add_argument("--report", metavar="FILE", help="also write the Markdown report here")


def _shipped_help() -> str:
    lines = []
    for name, path in shipped_paths().items():
        try:
            scenario = load_scenario(path)
        except ScenarioError:
            continue
        lines.append(f"  {name:<32} {offset_text(scenario.duration)}  {scenario.title}")
    return "\n".join(lines) or "  (none)"
