"""`warroom serve` as a newcomer runs it: sandbox page, a slash command, a war room, SIGTERM."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.cli import run_cli, serving_sandbox


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    with serving_sandbox(tmp_path) as served:
        yield served


def _state(client: httpx.Client, url: str) -> dict[str, Any]:
    response = client.get(f"{url}/sandbox/_sandbox/state")
    response.raise_for_status()
    return dict(response.json())


def _wait_for_room(client: httpx.Client, url: str) -> dict[str, Any]:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        for channel in _state(client, url)["channels"]:
            if channel["name"].endswith("whatsapp-sends-failing") and channel["pins"]:
                return dict(channel)
        time.sleep(0.1)
    raise AssertionError("no war room appeared")


def _wait_for_text(client: httpx.Client, url: str, channel_id: str, text: str) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        channel = next(c for c in _state(client, url)["channels"] if c["id"] == channel_id)
        if text in json.dumps(channel["messages"]):
            return
        time.sleep(0.1)
    raise AssertionError(f"{text!r} never appeared in {channel_id}")


def test_demo_flow_and_graceful_stop(
    served: tuple[str, subprocess.Popen[str]], tmp_path: Path
) -> None:
    url, proc = served
    with httpx.Client(timeout=10) as client:
        assert client.get(f"{url}/healthz").json() == {"status": "ok"}
        ready = client.get(f"{url}/readyz")
        assert ready.status_code == 200, ready.text
        page = client.get(f"{url}/sandbox", follow_redirects=True)
        assert page.status_code == 200 and "dr-war-room" in page.text
        general = next(c for c in _state(client, url)["channels"] if c["name"] == "general")

        typed = client.post(
            f"{url}/sandbox/command",
            data={
                "user": "U0ONCALL",
                "channel": general["id"],
                "text": "/incident declare critical WhatsApp sends failing",
            },
            follow_redirects=True,
        )
        assert typed.status_code == 200
        room = _wait_for_room(client, url)
        assert room["name"].startswith("inc-") and room["name"].endswith("-whatsapp-sends-failing")
        assert "U0ONCALL" in room["members"]
        room_page = client.get(
            f"{url}/sandbox/", params={"channel": room["id"], "user": "U0ONCALL"}
        )
        assert "Incident #1: WhatsApp sends failing" in room_page.text
        assert client.get(f"{url}/demo/metrics/queues").status_code == 200
        # The operational commands reach the demo backends mounted in the same server.
        client.post(
            f"{url}/sandbox/command",
            data={"user": "U0ONCALL", "channel": general["id"], "text": "/queue-status"},
            follow_redirects=True,
        )
        _wait_for_text(client, url, general["id"], "whatsapp-outbound")

    proc.send_signal(signal.SIGTERM)
    assert proc.wait(40) == 0
    log_lines = (tmp_path / "serve.log").read_text().splitlines()
    records = [json.loads(line) for line in log_lines if line.startswith("{")]
    assert records, log_lines
    assert any(
        r.get("message") == "war room created" and r.get("incident_id") == 1 for r in records
    )
    assert all("xoxb-" not in line for line in log_lines)


def test_serve_refuses_a_bad_config(tmp_path: Path) -> None:
    bad = tmp_path / "warroom.yaml"
    bad.write_text("escalation:\n  critical:\n    ack_within: soon\n")
    result = run_cli("serve", "--port", "0", env={"WARROOM_CONFIG": str(bad)}, cwd=tmp_path)
    assert result.returncode == 1
    assert "escalation.critical.ack_within" in result.stderr


def test_serve_refuses_an_unmigrated_postgres(tmp_path: Path) -> None:
    url = "postgresql+asyncpg://x:pw@127.0.0.1:1/none"
    result = run_cli("serve", "--port", "0", env={"DATABASE_URL": url}, cwd=tmp_path)
    assert result.returncode == 1
    assert "not usable" in result.stderr and "pw@" not in result.stderr


def test_every_command_has_help() -> None:
    for args in ([], ["serve"], ["migrate"], ["check-config"]):
        result = run_cli(*args, "--help")
        assert result.returncode == 0 and "usage: warroom" in result.stdout
