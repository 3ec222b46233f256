"""The drill every drill test plays: `SCENARIO` (a queue alert at 0 s, a facilitator's
inject at 30 s, a second alert at 1 min; 5 min long) from `T0`, and reading its room."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from bot.infra.time_source import ManualClock
from bot.sandbox.workspace import Channel
from tests.harness import Harness

T0 = datetime(2026, 11, 23, 3, 12, tzinfo=UTC)
QUEUE_ALERT = {"queue": "rentguy", "severity": "critical", "backlog": 1240, "message": "Backlog"}
SCENARIO = f"""
name: test-drill
title: RentGuy backs up
runbook: Observability playbook, section 4
duration: 5m
steps:
  - at: 0s
    alert: {{source: generic, payload: {json.dumps(QUEUE_ALERT)}}}
  - at: 30s
    say: "Who is IC? <!channel>"
  - at: 1m
    alert:
      source: alertmanager
      payload:
        version: "4"
        groupKey: "g1"
        status: firing
        alerts:
          - status: firing
            labels: {{alertname: WorkerDown, severity: critical}}
            annotations: {{summary: Worker down}}
"""


def drill_rooms(h: Harness) -> list[Channel]:
    return [c for c in h.ws.channels.values() if "-drill" in c.name]


def texts(room: Channel) -> str:
    return "\n".join(m.text + json.dumps(m.blocks) for m in room.messages)


def ticking(
    clock: ManualClock, check: Callable[[], bool], *, upto: datetime | None = None
) -> Callable[[], bool]:
    """`check`, moving the clock on a little each time (never past `upto`): a message the
    outbox deferred for pacing or retries after a backoff (both on the app's clock) goes out
    although no one else moves the clock."""

    def advanced() -> bool:
        if check():
            return True
        step = timedelta(seconds=1)
        if upto is None or clock.now() + step <= upto:
            clock.advance(step)
        return False

    return advanced
