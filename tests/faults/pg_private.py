"""A private, throw-away PostgreSQL cluster for tests that stop and start the database.

The shared cluster on 127.0.0.1:5432 is never touched: `private_postgres()` runs `initdb`
in a fresh temporary directory, starts a server on a free loopback port (its Unix socket in
that directory too), and always stops it and removes the directory at the end. PostgreSQL
refuses to run as root, so as root its programs run as the `postgres` user (`runuser`).

The binaries are looked for in `$WARROOM_TEST_PG_BIN`, on `PATH`, then in
`/usr/lib/postgresql/<version>/bin` (newest first). Without them the test is skipped, saying
so — unless CI is set, where a missing PostgreSQL is a failure, not a silent skip.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pwd
import shutil
import socket
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import pytest

from tests.environment import IN_CI

PROGRAMS = ("initdb", "pg_ctl", "postgres")
START_TIMEOUT_SECONDS = 60


def find_bin_dir() -> Path | None:
    """The directory holding initdb, pg_ctl and postgres, or None."""
    candidates: list[Path] = []
    if explicit := os.environ.get("WARROOM_TEST_PG_BIN"):
        candidates.append(Path(explicit))
    if on_path := shutil.which("pg_ctl"):
        candidates.append(Path(on_path).resolve().parent)

    def version(path: Path) -> tuple[int, ...]:
        digits = path.parent.name.split(".")
        return tuple(int(d) for d in digits if d.isdigit())

    candidates += sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=version, reverse=True)
    for directory in candidates:
        if all((directory / program).is_file() for program in PROGRAMS):
            return directory
    return None


def unavailable(message: str) -> NoReturn:
    """Skip, saying why — or fail under CI, where the test must run."""
    if IN_CI:
        pytest.fail(f"{message}; CI=true requires it for the database-outage test", pytrace=False)
    pytest.skip(f"{message}: the database-outage test is skipped")


def require_bin_dir() -> Path:
    found = find_bin_dir()
    if found is None:
        unavailable(
            "PostgreSQL server binaries (initdb, pg_ctl, postgres) not found in "
            "$WARROOM_TEST_PG_BIN, on PATH or in /usr/lib/postgresql/*/bin"
        )
    return found


def server_account() -> str | None:
    """Whom to run the server as: None (ourselves), or `postgres` when we are root."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        unavailable("running as root, and there is no `postgres` user to run PostgreSQL as")
    if shutil.which("runuser") is None:
        unavailable("running as root, and `runuser` is missing to run PostgreSQL as postgres")
    return "postgres"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class PrivatePostgres:
    bin_dir: Path
    root: Path  # the temporary directory: data/, the socket and the server log
    port: int
    run_as: str | None  # "postgres" when we are root

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def log(self) -> Path:
        return self.root / "server.log"

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    async def _run(self, program: str, *args: str, seconds: float = 60) -> None:
        command = [str(self.bin_dir / program), *args]
        if self.run_as:
            command = ["runuser", "-u", self.run_as, "--", *command]
        env = {**os.environ, "LC_ALL": "C", "LANG": "C"}
        env.pop("PGDATA", None)
        proc = await asyncio.create_subprocess_exec(
            *command,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            env=env,
            cwd=self.root,
        )
        try:
            async with asyncio.timeout(seconds):
                output, _ = await proc.communicate()
        except TimeoutError:
            proc.kill()
            await proc.wait()
            raise AssertionError(f"{program} {' '.join(args)} took over {seconds} s") from None
        if proc.returncode != 0:
            server_log = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise AssertionError(
                f"{program} {' '.join(args)} exited {proc.returncode}:\n"
                f"{output.decode(errors='replace')}\n--- server log ---\n{server_log}"
            )

    async def init(self) -> None:
        await self._run(
            "initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust",
            "--encoding=UTF8", "--no-sync", "--no-instructions",
        )  # fmt: skip

    async def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        await self._run(
            "pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.log),
            "-w", "-t", str(START_TIMEOUT_SECONDS), "start",
            seconds=START_TIMEOUT_SECONDS + 10,
        )  # fmt: skip

    async def stop(self, mode: str = "fast") -> None:
        """Stop the server (`fast`: roll back open transactions, close every connection)."""
        await self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    async def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()


@contextlib.asynccontextmanager
async def private_postgres() -> AsyncIterator[PrivatePostgres]:
    """A fresh cluster, started; stopped and deleted afterwards whatever happened."""
    bin_dir = require_bin_dir()
    run_as = server_account()
    root = Path(tempfile.mkdtemp(prefix="warroom-pg-"))
    if run_as is not None:
        account = pwd.getpwnam(run_as)
        os.chown(root, account.pw_uid, account.pw_gid)
    os.chmod(root, 0o700)
    cluster = PrivatePostgres(bin_dir, root, free_port(), run_as)
    try:
        await cluster.init()
        await cluster.start()
        yield cluster
    finally:
        try:
            if await cluster.running():
                await cluster.stop("immediate")
        finally:
            shutil.rmtree(root, ignore_errors=True)
