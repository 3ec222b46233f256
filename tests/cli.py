"""Running `warroom` as a user would: a child process with a minimal environment."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def run_cli(
    *args: str, env: dict[str, str] | None = None, cwd: Path = ROOT
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot.cli.main", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", **(env or {})},
        cwd=cwd,
        check=False,
    )


@contextmanager
def serving_sandbox(
    tmp_path: Path, extra_env: Mapping[str, str] | None = None
) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """`warroom serve` as a newcomer starts it (SQLite `demo.db`, built-in sandbox, a free
    port, stderr in `serve.log`, all in `tmp_path`): its base URL, read from the start-up
    line, and the process (killed afterwards if still up)."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'demo.db'}",
        "HOME": str(tmp_path),
        **(extra_env or {}),
    }
    log = tmp_path / "serve.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot.cli.main", "serve", "--host", "127.0.0.1", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=log.open("w"),
        text=True,
        env=env,
        cwd=tmp_path,
    )
    assert proc.stdout is not None
    url = None
    deadline = time.monotonic() + 60
    while url is None and time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line and proc.poll() is not None:
            break
        if match := re.search(r"Open (http://127\.0\.0\.1:\d+)/sandbox", line):
            url = match.group(1)
    if url is None:
        proc.kill()
        pytest.fail(f"serve did not start: {log.read_text()}")
    try:
        yield url, proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        proc.stdout.close()
