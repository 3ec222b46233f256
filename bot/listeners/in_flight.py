"""The bolt listeners still running after their ack: bolt answers Slack at `ack()` and runs
the rest of the listener (the command's work, its reply) in a task of its own. A replica
that stops (SIGTERM in a rolling deploy) waits for them, so an acknowledged command is
never cut off half-way."""

from __future__ import annotations

import asyncio
import contextlib

from slack_bolt.async_app import AsyncApp
from slack_bolt.listener.async_listener_completion_handler import (
    AsyncListenerCompletionHandler,
)
from slack_bolt.listener.async_listener_start_handler import AsyncListenerStartHandler
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse


class ListenersInFlight:
    def __init__(self) -> None:
        self.count = 0
        self._idle = asyncio.Event()
        self._idle.set()

    def started(self) -> None:
        self.count += 1
        self._idle.clear()

    def finished(self) -> None:
        self.count = max(0, self.count - 1)
        if not self.count:
            self._idle.set()

    async def drained(self, seconds: float) -> bool:
        """Wait up to `seconds` for every running listener to finish; False if some did not."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._idle.wait(), seconds)
        return not self.count


class _Started(AsyncListenerStartHandler):
    def __init__(self, tracker: ListenersInFlight) -> None:
        self.tracker = tracker

    async def handle(self, request: AsyncBoltRequest, response: BoltResponse | None) -> None:
        self.tracker.started()


class _Finished(AsyncListenerCompletionHandler):
    def __init__(self, tracker: ListenersInFlight) -> None:
        self.tracker = tracker

    async def handle(self, request: AsyncBoltRequest, response: BoltResponse | None) -> None:
        self.tracker.finished()


def track_listeners(app: AsyncApp) -> ListenersInFlight:
    """Count `app`'s listeners from their start to their end (bolt's start and completion
    hooks run around each one, also when it fails)."""
    tracker = ListenersInFlight()
    runner = app.listener_runner
    runner.listener_start_handler = _Started(tracker)
    runner.listener_completion_handler = _Finished(tracker)
    return tracker
