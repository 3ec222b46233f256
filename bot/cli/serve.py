"""`warroom serve`: bind, prepare the database, run until SIGTERM, exit 0."""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
import socket
import sys
import time

from aiohttp import web
from aiohttp.typedefs import Handler

from bot.config.settings import RuntimeConfig
from bot.db.engine import create_engine, is_sqlite
from bot.db.migrate import current_revision, head_revision, upgrade_to_head
from bot.infra.config_loader import redact_url
from bot.infra.logs import configure_logging
from bot.sandbox.embedded import prepare_sandbox
from bot.sandbox.workspace import default_workspace
from bot.web.app import create_app

log = logging.getLogger("warroom")
SHUTDOWN_TIMEOUT = 30.0  # for the requests in flight at SIGTERM
FLUSH_TIMEOUT = 5.0  # then for their responses to be written


def serve(runtime: RuntimeConfig) -> int:
    secrets = runtime.secrets
    configure_logging(
        [
            secrets.slack_bot_token,
            secrets.slack_signing_secret,
            secrets.slack_app_token,
            secrets.alert_token,
        ]
    )
    server = runtime.settings.server
    try:
        sock = _bind(server.host, server.port)
    except OSError as exc:
        print(
            f"warroom: cannot listen on {server.host}:{server.port}: {exc.strerror}",
            file=sys.stderr,
        )
        return 1
    port = sock.getsockname()[1]
    if not asyncio.run(prepare_database(runtime)):
        sock.close()
        return 1

    workspace = None
    if runtime.sandbox:
        workspace = default_workspace(time.time())
        local = "127.0.0.1" if server.host in ("0.0.0.0", "", "::") else server.host
        runtime = prepare_sandbox(runtime, workspace, f"http://{_host_for_url(local)}:{port}")
        configure_logging(
            [runtime.secrets.slack_bot_token, runtime.secrets.slack_signing_secret,
             runtime.secrets.alert_token]
        )  # fmt: skip
    app = create_app(runtime, sandbox_workspace=workspace)
    in_flight = _InFlight()
    app.middlewares.insert(0, in_flight.middleware)
    _announce(runtime, server.host, port)
    # Start-up objects live for the whole run: out of the collector's sight, full collections
    # stop pausing the event loop for ~100 ms in the middle of a burst of slash commands.
    gc.collect()
    gc.freeze()
    asyncio.run(_run(app, sock, in_flight))
    log.info("stopped")
    return 0


class _InFlight:
    """Counts the requests being handled, so that shutdown can wait for them."""

    def __init__(self) -> None:
        self.count = 0
        self.idle = asyncio.Event()
        self.idle.set()
        self.draining = False

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        self.count += 1
        self.idle.clear()
        try:
            response = await handler(request)
        finally:
            self.count -= 1
            if not self.count:
                self.idle.set()
        if self.draining:
            response.force_close()  # `Connection: close`: the client goes elsewhere next time
        return response


async def _run(app: web.Application, sock: socket.socket, in_flight: _InFlight) -> None:
    """Serve until SIGTERM/SIGINT; then stop accepting, finish the requests in flight, clean up.

    aiohttp's own shutdown stops reading from open connections at once, so a request whose
    body is still arriving would hang until the timeout and fail: hence the drain first.
    """
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    # After the drain, only the last responses are still being written.
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=FLUSH_TIMEOUT)
    try:
        await runner.setup()
        await web.SockSite(runner, sock).start()
        await stop.wait()
        log.info("stopping: refusing new connections, finishing the requests in flight")
        in_flight.draining = True
        for site in list(runner.sites):
            await site.stop()
        try:
            await asyncio.wait_for(in_flight.idle.wait(), SHUTDOWN_TIMEOUT)
        except TimeoutError:
            log.warning("shutdown timeout: cancelling requests", extra={"count": in_flight.count})
    finally:
        # Closes idle keep-alive connections, then the app's cleanup: outbox worker, database.
        await runner.cleanup()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(512)
    sock.setblocking(False)
    return sock


def _host_for_url(host: str) -> str:
    return f"[{host}]" if ":" in host else host


async def prepare_database(runtime: RuntimeConfig) -> bool:
    """SQLite is migrated on start (one process); PostgreSQL must be migrated beforehand."""

    engine = create_engine(runtime.database_url)
    where = redact_url(runtime.database_url)
    try:
        if is_sqlite(runtime.database_url):
            await upgrade_to_head(engine)
            return True
        revision = await current_revision(engine)
    except Exception as exc:
        print(
            f"warroom: database {where} is not usable: {type(exc).__name__}: {exc}", file=sys.stderr
        )
        return False
    finally:
        await engine.dispose()
    if revision != head_revision():
        print(
            f"warroom: database {where} is at revision {revision or 'none'}; "
            "run `warroom migrate` first",
            file=sys.stderr,
        )
        return False
    return True


def _announce(runtime: RuntimeConfig, host: str, port: int) -> None:
    url = f"http://{_host_for_url('127.0.0.1' if host in ('0.0.0.0', '', '::') else host)}:{port}"
    log.info("warroom listening", extra={"url": url, "database": redact_url(runtime.database_url)})
    if runtime.sandbox:
        print(
            f"\nWarroom is running against the built-in Slack sandbox (no SLACK_BOT_TOKEN set).\n"
            f"  Open {url}/sandbox and type: /incident declare critical WhatsApp sends failing\n"
            f"  Demo backends: {url}/demo/   Health: {url}/healthz   Stop: Ctrl-C\n",
            flush=True,
        )
    else:
        print(f"Warroom listening on {url} (Slack events at /slack/events)", flush=True)
