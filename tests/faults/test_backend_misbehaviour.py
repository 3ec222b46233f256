"""A platform backend that hangs, resets the connection, answers garbage or redirects.

Real slash commands (signed HTTP, as Slack posts them) run against a loopback backend of the
test's own. Whatever the backend does, the command's HTTP ack comes back within Slack's 3 s
(the backend's timeout is longer than that, so an ack that waited for it would be late), the
user is told what went wrong, and a redirect is never followed: its target gets no request.
"""

from __future__ import annotations

import asyncio
import socket
import struct
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace

import pytest
from aiohttp import web

from tests.harness import bound_socket, running, url_of
from tests.ops_support import answer, audited, ops_settings, seen_by

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

SLACK_ACK_LIMIT = 3.0  # Slack shows the user an error when the ack takes longer
BACKEND_TIMEOUT = 4.0  # longer than Slack's limit on purpose
METRICS_PATH = "/metrics/queues"  # what /queue-status reads (the seeds' default)


@dataclass
class Misbehaving:
    """`mode`: hang | reset | garbage | redirect. Every request is recorded."""

    mode: str = "hang"
    redirect_to: str = ""
    requests: list[str] = field(default_factory=list)
    release: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.requests.append(f"{request.method} {request.path_qs}")
        if self.mode == "hang":
            # No answer until the test is over (the client gives up long before).
            await self.release.wait()
            return web.json_response({"late": True})
        if self.mode == "reset":
            reset_connection(request)
            raise web.HTTPServiceUnavailable()  # never written: the connection is gone
        if self.mode == "garbage":
            return web.Response(text="{not json", content_type="application/json")
        if self.mode == "redirect":
            raise web.HTTPFound(f"{self.redirect_to}{request.path_qs}")
        raise AssertionError(f"unknown mode {self.mode}")


def reset_connection(request: web.Request) -> None:
    """Close the TCP connection with a RST (SO_LINGER 0), not an orderly FIN."""
    transport = request.transport
    assert transport is not None
    sock = transport.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()


@dataclass
class Served:
    url: str
    state: Misbehaving


@asynccontextmanager
async def serve(state: Misbehaving) -> AsyncIterator[Served]:
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", state.handle)
    sock = bound_socket()
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
    await runner.setup()
    await web.SockSite(runner, sock).start()
    try:
        yield Served(url_of(sock), state)
    finally:
        state.release.set()
        await runner.cleanup()


CASES = [
    # mode, what the user is told (a phrase of it), the audit outcome
    ("hang", f"did not answer within {BACKEND_TIMEOUT:.3g} s", "timeout"),
    ("reset", "could not reach the queues backend", "refused"),
    ("garbage", "something that is not JSON", "bad_response"),
    ("redirect", "Warroom does not follow redirects", "redirect"),
]


async def test_misbehaving_backend_gets_a_fast_ack_and_a_clear_answer(database_url: str) -> None:
    async with (
        serve(Misbehaving()) as backend,
        serve(Misbehaving(mode="hang")) as elsewhere,
    ):
        backend.state.redirect_to = elsewhere.url
        settings = ops_settings(backend.url, timeout=BACKEND_TIMEOUT, retries=0)
        # Keep the circuit breaker closed through all the cases (it has tests of its own).
        settings = replace(
            settings,
            backends={
                name: replace(backend_settings, breaker_failures=len(CASES) + 1)
                for name, backend_settings in settings.backends.items()
            },
        )
        async with running(database_url, settings=settings) as h:
            for n, (mode, said, _outcome) in enumerate(CASES, start=1):
                backend.state.mode = mode
                before = len(seen_by(h, "U0ONCALL"))
                started = time.monotonic()
                ack = await h.slash("/queue-status")
                acked_in = time.monotonic() - started
                assert ack.status == 200, (mode, ack)
                assert acked_in < SLACK_ACK_LIMIT, f"{mode}: ack after {acked_in:.2f} s"
                reply = await answer(h, "U0ONCALL", said)
                if mode == "hang":  # the ack did not wait for the backend's answer
                    assert time.monotonic() - started >= BACKEND_TIMEOUT > SLACK_ACK_LIMIT
                assert seen_by(h, "U0ONCALL").index(reply) >= before, mode
                assert reply.ephemeral_to == "U0ONCALL"  # told privately, not to the channel
                assert len(backend.state.requests) == n, (mode, backend.state.requests)
            audit = await audited(database_url, len(CASES))
            assert [a.outcome for a in audit] == [outcome for _, _, outcome in CASES]
            assert "127.0.0.1" in reply.text  # the redirect says where it pointed
        assert elsewhere.state.requests == [], "the redirect was followed"
        assert backend.state.requests == [f"GET {METRICS_PATH}"] * len(CASES)
