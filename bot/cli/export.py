"""`warroom export INCIDENT --format md|json|csv|html [-o FILE]`: the export to stdout or
a file. Exit 1, saying why, for an unknown incident or a database that cannot be read."""

from __future__ import annotations

import argparse
import sys
from collections.abc import AsyncGenerator
from pathlib import Path
from typing import BinaryIO

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from bot.config.settings import RuntimeConfig
from bot.db.engine import create_engine, session_factory
from bot.errors import WarroomError
from bot.exports.formats import ExportFormat, UnknownIncident
from bot.exports.stream import export_chunks
from bot.infra.config_loader import redact_url


class OutputError(WarroomError):
    """The output file could not be written."""


def incident_number(text: str) -> int:
    digits = text.removeprefix("#")
    if not digits.isdigit() or len(digits) > 12:
        raise argparse.ArgumentTypeError(f"{text!r} is not an incident number (like 42 or #42)")
    return int(digits)


def add_export_parser(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], epilog: str
) -> None:
    formats = [f.value for f in ExportFormat]
    export = sub.add_parser(
        "export",
        help="export an incident's timeline (Markdown, JSON, CSV or HTML)",
        description="Write incident INCIDENT's timeline export — the same bytes as "
        "`/incident export` and GET /incidents/{id}/timeline. The JSON schema is in "
        "docs/export-schema.md.",
        epilog=epilog,
    )
    export.add_argument("incident", type=incident_number, metavar="INCIDENT", help="e.g. 42")
    export.add_argument(
        "--format", choices=formats, default="md", help="output format (default: md)"
    )
    export.add_argument("-o", "--output", metavar="FILE", help="write to FILE (default: stdout)")
    export.add_argument("--config", metavar="FILE", help="YAML config (default: $WARROOM_CONFIG)")


def _missing_sqlite_file(url: str) -> str | None:
    """The path of a SQLite database that does not exist (opening it would create it)."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return None
    path = parsed.database
    if not parsed.drivername.startswith("sqlite") or not path or path == ":memory:":
        return None
    return None if Path(path).exists() else path


def _put(sink: BinaryIO, data: bytes, where: str) -> None:
    try:
        sink.write(data) if data else sink.flush()
    except OSError as exc:
        raise OutputError(f"cannot write {where}: {exc.strerror or exc}") from exc


async def _write(chunks: AsyncGenerator[bytes, None], output: str | None) -> None:
    first = await anext(chunks)  # the incident is found before any file is made
    if output is None:
        for_stdout = sys.stdout.buffer
        _put(for_stdout, first, "stdout")
        async for chunk in chunks:
            _put(for_stdout, chunk, "stdout")
        _put(for_stdout, b"", "stdout")  # flush
        return
    target = Path(output)
    partial = target.with_name(target.name + ".part")
    try:
        sink = partial.open("wb")
    except OSError as exc:
        raise OutputError(f"cannot write {output}: {exc.strerror or exc}") from exc
    try:
        with sink:
            _put(sink, first, output)
            async for chunk in chunks:
                _put(sink, chunk, output)
        _rename(partial, target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def _rename(partial: Path, target: Path) -> None:
    try:
        partial.replace(target)
    except OSError as exc:
        raise OutputError(f"cannot write {target}: {exc.strerror or exc}") from exc


async def run_export(runtime: RuntimeConfig, incident_id: int, fmt: str, output: str | None) -> int:

    where = redact_url(runtime.database_url)
    if (path := _missing_sqlite_file(runtime.database_url)) is not None:
        print(f"warroom: there is no database at {path} ({where})", file=sys.stderr)
        print("  check DATABASE_URL, or create it with `warroom migrate`", file=sys.stderr)
        return 1
    engine = create_engine(runtime.database_url)
    chunks = export_chunks(session_factory(engine), incident_id, fmt, runtime.settings)
    try:
        await _write(chunks, output)
    except (UnknownIncident, OutputError) as exc:
        print(f"warroom: {exc}", file=sys.stderr)
        return 1
    except (SQLAlchemyError, OSError) as exc:
        first_line = next(iter(str(exc).splitlines()), "")
        print(f"warroom: cannot read the database {where}: {type(exc).__name__}", file=sys.stderr)
        if first_line:
            print(f"  {first_line}", file=sys.stderr)
        print(
            "  check DATABASE_URL, that the database server is running and that it is "
            "migrated (`warroom migrate`)",
            file=sys.stderr,
        )
        return 1
    finally:
        await chunks.aclose()
        await engine.dispose()
    return 0
