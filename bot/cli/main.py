"""`warroom`: serve, migrate, check-config, export, drill."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import sys
from collections.abc import Mapping, Sequence

from bot.cli.drill_args import add_drill_parser
from bot.cli.export import add_export_parser, run_export
from bot.config.schema import ConfigError
from bot.config.settings import RuntimeConfig
from bot.db.engine import create_engine
from bot.db.migrate import current_revision, upgrade_to_head
from bot.infra.config_loader import load_config, redact_url, unset_outside_variables

EPILOG = "Configuration: WARROOM_CONFIG (YAML) plus environment variables; see README.md."


def _add_config_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", metavar="FILE", help="YAML config (default: $WARROOM_CONFIG)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="warroom",
        description="Warroom: the ChatOps incident bot for Slack.",
        epilog=EPILOG,
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    serve = sub.add_parser(
        "serve",
        help="run the bot: HTTP server, Slack listeners, alert intake, scheduler",
        description="Run the whole bot in one process. Without SLACK_BOT_TOKEN it runs against "
        "the built-in Slack sandbox at /sandbox.",
        epilog=EPILOG,
    )
    _add_config_option(serve)
    serve.add_argument("--host", help="address to listen on (default: server.host, 0.0.0.0)")
    serve.add_argument("--port", type=int, help="port to listen on (default: server.port, 8080)")

    migrate = sub.add_parser(
        "migrate",
        help="bring the database schema to the newest version",
        description="Apply every pending migration to DATABASE_URL.",
        epilog=EPILOG,
    )
    _add_config_option(migrate)

    check = sub.add_parser(
        "check-config",
        help="validate config and environment; exit 1 listing every problem",
        description="Validate the YAML config and the environment. Exit 0 when clean, 1 with "
        "every problem, where it is and how to fix it.",
        epilog=EPILOG,
    )
    _add_config_option(check)
    add_export_parser(sub, EPILOG)
    add_drill_parser(sub, EPILOG)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    env: Mapping[str, str] = os.environ
    if args.command == "drill":
        env = drill_environment(args.config, env)
    try:
        runtime = load_config(args.config, env)
    except ConfigError as exc:
        print(f"warroom: the configuration has {len(exc.problems)} problem(s):", file=sys.stderr)
        for problem in exc.problems:
            print(f"  - {problem}", file=sys.stderr)
        return 1
    if args.command == "check-config":
        return _check_config(runtime)
    if args.command == "migrate":
        return asyncio.run(_migrate(runtime))
    if args.command == "export":
        return asyncio.run(run_export(runtime, args.incident, args.format, args.output))
    # The app is imported only by the commands that run it: the others start in a blink.
    if args.command == "drill":
        from bot.cli.drill import run_drill

        return run_drill(runtime, args)
    return _serve(runtime, args.host, args.port)


def drill_environment(config: str | None, env: Mapping[str, str]) -> dict[str, str]:
    """A drill sends nothing to backends, tickets or the status page: their unset variables
    get a placeholder (and a note) instead of failing the config."""
    unset = unset_outside_variables(config, env)
    if unset:
        names = ", ".join(unset)
        print(
            f"warroom drill: not set, fine for a drill (nothing is sent): {names}", file=sys.stderr
        )
    return {**env, **{name: drill_placeholder(name) for name in unset}}


def drill_placeholder(name: str) -> str:
    url = name.upper().endswith(("URL", "ENDPOINT", "WEBHOOK"))
    return "https://unset-in-drill.invalid" if url else "unset-in-drill"


def _check_config(runtime: RuntimeConfig) -> int:
    source = runtime.config_path or "built-in defaults"
    mode = "Slack sandbox (no SLACK_BOT_TOKEN)" if runtime.sandbox else "Slack"
    print(
        f"warroom: configuration OK ({source}; database {redact_url(runtime.database_url)}; {mode})"
    )
    return 0


async def _migrate(runtime: RuntimeConfig) -> int:

    engine = create_engine(runtime.database_url)
    try:
        await upgrade_to_head(engine)
        revision = await current_revision(engine)
    except Exception as exc:
        print(f"warroom: migration failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        print("  check DATABASE_URL and that the database server is running", file=sys.stderr)
        return 1
    finally:
        await engine.dispose()
    print(
        f"warroom: database {redact_url(runtime.database_url)} is at revision {revision} (newest)"
    )
    return 0


def _serve(runtime: RuntimeConfig, host: str | None, port: int | None) -> int:

    server = dataclasses.replace(
        runtime.settings.server,
        host=host or runtime.settings.server.host,
        port=port if port is not None else runtime.settings.server.port,
    )
    runtime = dataclasses.replace(
        runtime, settings=dataclasses.replace(runtime.settings, server=server)
    )
    from bot.cli.serve import serve

    return serve(runtime)


if __name__ == "__main__":
    sys.exit(main())
