"""SIGTERM while a request is in flight: the request completes, then `warroom serve` exits 0.

A real `warroom serve` process (SQLite, built-in sandbox, port 0) receives an alert whose
body arrives in two parts. The first part is sent once the server has dispatched the request
to its handler (it answered `Expect: 100-continue`); then SIGTERM; then, once the server has
provably stopped accepting connections, the rest of the body. No sleep guesses the timing.
"""

from __future__ import annotations

import errno
import http.client
import json
import signal
import socket
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.cli.serve import SHUTDOWN_TIMEOUT
from bot.web.app import STOP_GRACE_SECONDS
from tests.cli import serving_sandbox

ALERT_TOKEN = "graceful-shutdown-test-token"
ALERT = {
    "queue": "whatsapp-outbound",
    "severity": "critical",
    "message": "WhatsApp sends failing",
    "backlog": 1200,
}


@dataclass
class Served:
    proc: subprocess.Popen[str]
    host: str
    port: int
    db: Path
    stderr: Path


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    # Sandbox mode (no SLACK_BOT_TOKEN) keeps a given alert token.
    with serving_sandbox(tmp_path, {"WARROOM_ALERT_TOKEN": ALERT_TOKEN}) as (url, proc):
        port = int(url.rsplit(":", 1)[1])
        yield Served(proc, "127.0.0.1", port, tmp_path / "demo.db", tmp_path / "serve.log")


def _read_interim(sock: socket.socket) -> bytes:
    """Read one interim response (status line + headers) such as `100 Continue`."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(1)
        if not chunk:
            raise AssertionError(f"connection closed before an interim answer: {data!r}")
        data += chunk
    return data


def _wait_until_refused(host: str, port: int, timeout: float) -> None:
    """Poll until the listening socket is gone: the server no longer accepts connections."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            probe = socket.create_connection((host, port), timeout=1)
        except ConnectionRefusedError:
            return
        except OSError as exc:
            if exc.errno == errno.ECONNREFUSED:
                return
            raise
        probe.close()
        time.sleep(0.02)
    raise AssertionError("the server kept accepting connections after SIGTERM")


def _log_records(path: Path) -> list[dict[str, object]]:
    lines = path.read_text().splitlines()
    return [json.loads(line) for line in lines if line.startswith("{")]


def test_sigterm_mid_request_completes_the_request_then_exits_0(served: Served) -> None:
    body = json.dumps(ALERT).encode()
    first, rest = body[: len(body) // 2], body[len(body) // 2 :]
    head = (
        "POST /alerts/generic HTTP/1.1\r\n"
        f"Host: {served.host}:{served.port}\r\n"
        f"Authorization: Bearer {ALERT_TOKEN}\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n"
        "Expect: 100-continue\r\n"
        "\r\n"
    ).encode()

    with socket.create_connection((served.host, served.port), timeout=30) as sock:
        sock.sendall(head)
        # aiohttp answers 100 Continue only once the request reached the application:
        # from here on the request is in flight, its handler waiting for the body.
        interim = _read_interim(sock)
        assert interim.startswith(b"HTTP/1.1 100"), interim
        sock.sendall(first)

        sent_at = time.monotonic()
        served.proc.send_signal(signal.SIGTERM)
        _wait_until_refused(served.host, served.port, timeout=10)
        assert served.proc.poll() is None, "exited with a request still in flight"

        sock.sendall(rest)
        response = http.client.HTTPResponse(sock)
        response.begin()
        answer = json.loads(response.read())

    assert response.status == 202, answer
    assert answer["accepted"] == 1
    (group,) = answer["groups"]
    assert group["action"] == "open_incident" and group["incident_id"] == 1
    # Shutting down, the server closes the connection after this response.
    assert response.getheader("Connection", "").lower() == "close"

    returncode = served.proc.wait(SHUTDOWN_TIMEOUT + STOP_GRACE_SECONDS + 10)
    assert returncode == 0, served.stderr.read_text()
    assert time.monotonic() - sent_at < SHUTDOWN_TIMEOUT

    # What the request did is durable: read the SQLite file the process left behind.
    with sqlite3.connect(served.db) as conn:
        alerts = conn.execute("SELECT group_key, severity, incident_id FROM alerts").fetchall()
        incidents = conn.execute("SELECT id, severity FROM incidents").fetchall()
        sending = conn.execute("SELECT COUNT(*) FROM outbox WHERE state = 'sending'").fetchone()
        queued = conn.execute("SELECT COUNT(*) FROM outbox").fetchone()
    assert alerts == [("queue:whatsapp-outbound", "critical", 1)]
    assert incidents == [(1, "critical")]
    # The war room owed to Slack is in the outbox; the worker stopped between rows, so no
    # row is left half-sent (a restarted process picks up the pending ones).
    assert queued[0] >= 1
    assert sending[0] == 0

    messages = [r.get("message") for r in _log_records(served.stderr)]
    assert "alerts stored" in messages
    assert messages[-1] == "stopped"
    assert not any(r.get("level") == "error" for r in _log_records(served.stderr))


def test_sigterm_with_an_idle_keep_alive_connection_exits_promptly(served: Served) -> None:
    with socket.create_connection((served.host, served.port), timeout=30) as sock:
        sock.sendall(f"GET /healthz HTTP/1.1\r\nHost: {served.host}:{served.port}\r\n\r\n".encode())
        response = http.client.HTTPResponse(sock)
        response.begin()
        assert response.status == 200 and json.loads(response.read()) == {"status": "ok"}
        # The connection stays open (keep-alive) and idle: it must not hold the shutdown.
        started = time.monotonic()
        served.proc.send_signal(signal.SIGTERM)
        assert served.proc.wait(SHUTDOWN_TIMEOUT + STOP_GRACE_SECONDS + 10) == 0
        assert time.monotonic() - started < SHUTDOWN_TIMEOUT / 2
        assert sock.recv(1) == b"", "the idle connection was not closed"
