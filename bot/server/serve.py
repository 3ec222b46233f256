"""`warroom serve`: bind, prepare the database, run until SIGTERM, exit 0."""

from __future__ import annotations

import asyncio
import gc
import logging
import socket
import sys
import time

from aiohttp import web

from bot.config.loader import redact_url
from bot.config.settings import RuntimeConfig
from bot.logs import configure_logging

log = logging.getLogger("warroom")
SHUTDOWN_TIMEOUT = 30.0


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
    if not asyncio.run(_prepare_database(runtime)):
        sock.close()
        return 1

    from bot.server.app import create_app

    workspace = None
    if runtime.sandbox:
        from bot.sandbox.embedded import prepare_sandbox
        from bot.sandbox.workspace import default_workspace

        workspace = default_workspace(time.time())
        local = "127.0.0.1" if server.host in ("0.0.0.0", "", "::") else server.host
        runtime = prepare_sandbox(runtime, workspace, f"http://{_host_for_url(local)}:{port}")
        configure_logging(
            [runtime.secrets.slack_bot_token, runtime.secrets.slack_signing_secret,
             runtime.secrets.alert_token]
        )  # fmt: skip
    app = create_app(runtime, sandbox_workspace=workspace)
    _announce(runtime, server.host, port)
    # Start-up objects live for the whole run: out of the collector's sight, full collections
    # stop pausing the event loop for ~100 ms in the middle of a burst of slash commands.
    gc.collect()
    gc.freeze()
    web.run_app(
        app,
        sock=sock,
        shutdown_timeout=SHUTDOWN_TIMEOUT,
        print=None,
        access_log=None,
        handle_signals=True,
    )
    log.info("stopped")
    return 0


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


async def _prepare_database(runtime: RuntimeConfig) -> bool:
    """SQLite is migrated on start (one process); PostgreSQL must be migrated beforehand."""
    from bot.db.engine import create_engine, is_sqlite
    from bot.db.migrate import current_revision, head_revision, upgrade_to_head

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
